"""Long context: the longest context a device holds, and decode steps swept over context length.

The longest context is the largest ``L`` for which one device holds the weights, the KV cache (or
the fixed state of linear-attention layers) of ``batch_size`` sequences of ``L`` tokens, and the
working set of the largest operator of a decode step at ``L`` -- the prompt is assumed to be
prefilled in chunks (as serving engines do for long prompts), so no ``L``-token activation block
is ever materialised. An eviction budget (:mod:`llmviewer.techniques.kv_eviction`) caps the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.analysis import activation_bytes, kv_cache_bytes, weight_bytes
from ..errors import LLMViewerError
from ..results import Result, frame
from ..specs.hardware import load_hardware
from ..specs.models import load_model
from ..specs.workload import check_options, stage_passes
from ..techniques.kv_eviction import budget_tokens, decode_step

MAX_CONTEXT = 2**30
"""Longest context searched (tokens): beyond it a configuration counts as unbounded."""


@dataclass(frozen=True)
class LongestContext(Result):
    """Answer of :func:`longest_context`. ``tokens``: the longest context per sequence that fits
    (0: not even the weights fit; None: no limit up to :data:`MAX_CONTEXT`, e.g. a capped cache).
    ``weights`` and ``capacity`` in bytes; ``kv_bytes_per_token``: KV bytes per cached token of
    all sequences at the start of the growth (bytes/token)."""

    model: str
    hardware: str
    batch_size: int
    kv_bit: Any
    tokens: int | None
    weights: float
    capacity: float
    kv_bytes_per_token: float


def _needed(m: Any, batch: int, context: int, options: dict[str, Any], cap: int | None) -> float:
    cached = context if cap is None else min(context, cap)
    _, step = stage_passes(batch, cached, "context", **options)
    kv = kv_cache_bytes(m, step.batch, cached, step.kv_bits, step.tensor_parallel)
    return weight_bytes(m, step) + kv + activation_bytes(m, step)


def longest_context(
    model: Any, hardware: Any, batch_size: int = 1, kv_budget: Any = None, **options: Any
) -> LongestContext:
    """The longest context (tokens per sequence) whose weights, KV cache of ``batch_size``
    sequences and largest decode working set fit ``hardware``'s memory (binary search over the
    engine's footprint, so sliding windows, MLA latents and fixed-size states count as the engine
    counts them). ``kv_budget``: cache at most that many tokens (eviction). ``options``: workload
    options of :func:`llmviewer.analyze` (``w_bit``, ``kv_bit``, ``tensor_parallel``...)."""
    check_options(options)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise LLMViewerError(f"batch_size must be a positive integer, got {batch_size!r}")
    m, hw = load_model(model), load_hardware(hardware)
    cap = budget_tokens(kv_budget)
    _, step = stage_passes(batch_size, 1, "context", **options)
    weights = weight_bytes(m, step)
    per_token = kv_cache_bytes(m, batch_size, 1, step.kv_bits, step.tensor_parallel)
    common = dict(model=m.name, hardware=hw.name, batch_size=batch_size, kv_bit=step.kv_bits)
    common.update(weights=weights, capacity=hw.memory_bytes, kv_bytes_per_token=per_token)
    if _needed(m, batch_size, 1, options, cap) > hw.memory_bytes:
        return LongestContext(tokens=0, **common)
    if _needed(m, batch_size, MAX_CONTEXT, options, cap) <= hw.memory_bytes:
        return LongestContext(tokens=None, **common)
    lo, hi = 1, MAX_CONTEXT  # fits at lo, not at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _needed(m, batch_size, mid, options, cap) <= hw.memory_bytes:
            lo = mid
        else:
            hi = mid
    return LongestContext(tokens=lo, **common)


def context_sweep(
    models: list[Any], hardware: Any, contexts: list[int], batch_size: int = 1, kv_budget: Any = None, **options: Any
) -> Any:
    """One row per model and context: a decode step's memory (bytes: weights, kv_cache, total),
    fit, and time (seconds: attention, other, total) from
    :func:`~llmviewer.techniques.kv_eviction.decode_step`, as a pandas DataFrame."""
    rows = []
    for model in models:
        for ctx in contexts:
            step = decode_step(model, hardware, ctx, batch_size, kv_budget, **options)
            rows.append({k: v for k, v in step.to_dict().items()})
    return frame(rows)


def attention_split(
    model: Any, hardware: Any, context: int, stage: str = "decode", batch_size: int = 1, **options: Any
):
    """(attention seconds, other seconds) of one pass at ``context`` tokens: the prefill of a
    ``context``-token prompt, or one decode step after ``context`` tokens. Attention is every
    operator whose role is ``"attention"`` (scores, softmax, weighted sum, or the fused kernel)."""
    if stage == "decode":
        step = decode_step(model, hardware, context, batch_size, **options)
        return step.attention_time, step.other_time
    if stage != "prefill":
        raise LLMViewerError(f"stage must be 'prefill' or 'decode', got {stage!r}")
    from ..engine.analysis import analyze

    res = analyze(model, hardware, batch_size, context, stages=("prefill",), **options).prefill
    attention = sum(r["inference_time"] * r["count"] for r, op in zip(res.layers, res.ops, strict=True)
                    if op.role == "attention")  # fmt: skip
    return attention, res.time - attention


def attention_crossover(
    model: Any, hardware: Any, stage: str = "decode", batch_size: int = 1, limit: int = 2**24, **options: Any
) -> int | None:
    """The shortest context (tokens) at which attention takes at least half of a pass's time
    (``stage`` "prefill" or "decode"), found by bisection up to ``limit``; None when attention
    stays below half up to ``limit`` (e.g. when sliding windows cap most layers' keys)."""

    def over(ctx: int) -> bool:
        attention, other = attention_split(model, hardware, ctx, stage, batch_size, **options)
        return attention >= other

    if not over(limit):
        return None
    lo, hi = 1, limit  # below at lo (or lo == 1), over at hi
    if over(lo):
        return 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if over(mid):
            hi = mid
        else:
            lo = mid
    return hi


def longest_context_table(models: list[Any], devices: list[Any], kv_bits: tuple[int, ...] = (16, 8, 4), **options: Any):
    """:func:`longest_context` for every model, device and KV width: a pandas DataFrame with one
    row per (model, device) and a column ``kv{bits}`` per width (tokens; 0: the weights do not
    fit; None: no limit)."""
    rows = []
    for model in models:
        for device in devices:
            row = {"model": load_model(model).name, "device": load_hardware(device).name}
            for bits in kv_bits:
                row[f"kv{bits}"] = longest_context(model, device, kv_bit=bits, **options).tokens
            rows.append(row)
    return frame(rows)


def kv_table(models: list[Any], contexts: list[int], kv_bit: int = 16, **options: Any):
    """KV cache (or state) bytes of ONE sequence at each context, next to the weights (bytes), for
    each model: a pandas DataFrame with columns model, design (the layer stack), weights,
    kv_per_token (bytes per token at the first context) and ``kv_<context>`` per context."""
    from ..specs.models import layer_mix

    rows = []
    for model in models:
        m = load_model(model)
        _, step = stage_passes(1, 1, "context", kv_bit=kv_bit, **options)
        row = {"model": m.name, "design": layer_mix(m).describe(), "weights": weight_bytes(m, step)}
        row["kv_per_token"] = kv_cache_bytes(m, 1, contexts[0], step.kv_bits) / contexts[0]
        for ctx in contexts:
            row[f"kv_{ctx}"] = kv_cache_bytes(m, 1, ctx, step.kv_bits)
        rows.append(row)
    return frame(rows)
