"""What safety and provenance measures cost on the roofline: a guard model beside the main model,
and per-token logit processing (watermarking).

A guard model (a Llama-Guard-style classifier, itself an LLM) shares the device with the main
model: both sets of weights and caches must fit, and it reads the prompt before generation starts
(input check: one prefill of the prompt, plus one decode step for its verdict) and the prompt with
the response after it ends (output check: one prefill of prompt + response, no prefix cache, plus
one verdict step). A green-list watermark adds, per generated token, one pass over the vocabulary's
logits: a hash and an add per logit, read and written once at the activation width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.analysis import analyze, fits
from ..engine.generation import generate
from ..engine.roofline import roofline_time
from ..results import Result
from ..specs.hardware import load_hardware
from ..specs.models import load_model

WATERMARK_OPS_PER_LOGIT = 4
"""Vector OPs per logit of a green-list watermark: hash the (previous token, candidate) pair, compare
with the green fraction, add the bias (counted as 4)."""


@dataclass(frozen=True)
class GuardCost(Result):
    """Answer of :func:`guarded_generation`, seconds and bytes. ``ttft``/``total`` without the
    guard; ``input_check`` (added before the first token), ``output_check`` (added after the last);
    ``watermark_per_token`` (seconds per generated token) against ``tpot``; ``memory_both`` (bytes,
    main and guard footprints) and whether it ``fits`` the device."""

    model: str
    guard: str
    hardware: str
    ttft: float
    tpot: float
    total: float
    input_check: float
    output_check: float
    watermark_per_token: float
    memory_both: float
    fits: bool


def guarded_generation(
    model: Any,
    guard: Any,
    hardware: Any,
    prompt_len: int = 1024,
    gen_len: int = 256,
    batch_size: int = 1,
    **options: Any,
) -> GuardCost:
    """Roofline cost of running ``guard`` beside ``model`` on ``hardware`` for one generation task
    (see the module docstring), and of a green-list watermark over ``model``'s vocabulary.
    ``options``: workload options of :func:`llmviewer.analyze`, applied to both models."""
    m, g, hw = load_model(model), load_model(guard), load_hardware(hardware)
    main = generate(m, hw, batch_size=batch_size, prompt_len=prompt_len, gen_len=gen_len, **options)

    def check(tokens: int) -> float:
        res = analyze(g, hw, batch_size, tokens, **options)
        return float(res.prefill.time + res.decode.time)

    a_bytes = options.get("a_bit", 16) / 8
    wm_ops = batch_size * m.vocab_size * WATERMARK_OPS_PER_LOGIT
    wm_time, _ = roofline_time(wm_ops, 2 * batch_size * m.vocab_size * a_bytes, hw.vector_peak, hw.memory_bandwidth)
    both = fits([m, g], hw, batch_size, prompt_len + gen_len, **options)
    return GuardCost(
        model=m.name,
        guard=g.name,
        hardware=hw.name,
        ttft=float(main.ttft),
        tpot=float(main.tpot_mean),
        total=float(main.total_time),
        input_check=check(prompt_len),
        output_check=check(prompt_len + gen_len),
        watermark_per_token=float(wm_time),
        memory_both=float(both.needed),
        fits=bool(both.fits),
    )
