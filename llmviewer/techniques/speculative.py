"""More tokens per target pass: speculative decoding, Medusa heads, and early exiting.

Every time here is the engine's roofline time (seconds; pure, or calibrated through
``calibration``) of real forward passes of the models involved; only the acceptance models
are closed-form probability.

Speculative decoding (Leviathan et al. 2023; Chen et al. 2023). One step: the draft model
runs ``gamma`` decode steps (cached tokens ``context``, ``context + 1``, ...), then the target
verifies the ``gamma`` drafted tokens in ONE pass of ``gamma + 1`` new tokens per sequence
with logits at all of them. If each drafted token is accepted independently with
probability ``alpha``, a step yields ``(1 - alpha**(gamma + 1)) / (1 - alpha)`` tokens per
sequence in expectation (the accepted prefix plus the target's own next token). With a
batch, every sequence advances by its own count; we use the expectation per sequence and
assume all sequences stay at ``context`` cached tokens (the step is synchronised).

Medusa (Cai et al. 2024): ``heads`` extra decoding heads on the target's last hidden state
propose the next ``heads`` tokens; head ``i`` is accepted with probability ``acceptance**i``
(an accepted prefix, as above), so a step yields ``(1 - a**(heads + 1)) / (1 - a)`` tokens.
The step is one target pass verifying ``heads + 1`` tokens plus the heads themselves, each a
residual block (``hidden x hidden`` linear with bias) and its own ``hidden x vocab``
projection, run on the same ``heads + 1`` positions.

Lookahead decoding (Fu et al. 2024), simplified: one target pass per step verifies ``ngrams``
candidate n-grams of ``ngram_size`` tokens next to a lookahead branch of ``window`` tokens
(``window + ngrams * ngram_size`` new tokens per sequence, logits at all) and yields
``accepted`` tokens on average, a parameter.

Early exiting (e.g. CALM, Schuster et al. 2022): a token leaves the network after ``l`` of
``L`` blocks with probability ``pmf[l - 1]``. Blocks are taken as identical, so running
``l`` blocks costs ``l / L`` of the blocks' time; embedding, final norm and ``lm_head`` run
once. A batch runs until its deepest sequence exits (the expected maximum over ``batch``
independent sequences). Filling the KV cache of skipped layers is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.analysis import count_pass
from ..engine.efficiency import Efficiency, elementwise_fusion, resolve_efficiency
from ..engine.generation import decode_steps_time
from ..engine.operators import Linear
from ..engine.roofline import forward_time, pass_time
from ..errors import LLMViewerError
from ..results import Result
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import ModelSpec, load_model
from ..specs.workload import accepts_workload, check_sizes, make_pass, pass_arguments
from .broadcast import broadcasting

ONCE_PER_PASS = ("embedding", "head")
"""Operator roles that run once per pass, not once per block (for early exiting)."""


def check_alpha(alpha: Any, name: str = "alpha") -> Any:
    """Validate an acceptance probability: a number or array in [0, 1)."""
    arr = np.asarray(alpha, dtype=float) if not isinstance(alpha, (bool, str)) else None
    if arr is None or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr >= 1)):
        raise LLMViewerError(f"{name} must be a probability in [0, 1), got {alpha!r}")
    return arr if isinstance(alpha, (list, tuple, np.ndarray)) else float(alpha)


def check_gamma(gamma: Any, name: str = "gamma") -> Any:
    """Validate a count of drafted tokens: a positive integer (or array of them)."""
    if isinstance(gamma, str):
        raise LLMViewerError(f"{name} must be a positive integer, got {gamma!r}")
    try:
        return check_sizes(name, gamma)
    except LLMViewerError as e:
        raise LLMViewerError(f"{name} must be a positive integer (tokens drafted per step): {e}") from None


def expected_tokens_per_step(alpha: Any, gamma: Any) -> Any:
    """Expected tokens one sequence gains per speculative step: ``(1 - alpha**(gamma+1)) /
    (1 - alpha)``, for ``gamma`` drafted tokens each accepted independently with probability
    ``alpha`` (1 when ``alpha`` is 0; ``gamma + 1`` is the limit as ``alpha`` -> 1)."""
    a, g = check_alpha(alpha), check_gamma(gamma)
    return (1 - a ** (g + 1)) / (1 - a)


def decode_step_time(model: ModelSpec, hw: Hardware, batch: Any, context: Any, eff: Efficiency, **kw: Any) -> Any:
    """Seconds of one plain decode step (one new token, ``context`` cached) of ``model``."""
    p = make_pass(batch, 1, context, 1, absorb_mla=True, **kw)
    return forward_time(count_pass(model, p), hw, p, eff, decode=True)


def verify_time(model: ModelSpec, hw: Hardware, batch: Any, tokens: Any, context: Any, eff: Efficiency, **kw) -> Any:
    """Seconds of one target pass over ``tokens`` new tokens per sequence (``context`` cached),
    with logits at every one of them: verifying drafted tokens."""
    p = make_pass(batch, tokens, context, tokens, absorb_mla=True, **kw)
    return forward_time(count_pass(model, p), hw, p, eff, decode=True)


@dataclass(frozen=True)
class Speculation(Result):
    """Result of :func:`speculative_decoding`. Times in seconds; arrays broadcast over the
    arguments. ``time_per_token``: step time over expected tokens per sequence;
    ``speedup``: plain decode's time per token over it (> 1 is faster)."""

    target: str
    draft: str
    hardware: str
    settings: dict[str, Any]
    tokens_per_step: Any
    draft_time: Any
    verify_time: Any
    step_time: Any
    time_per_token: Any
    baseline_time_per_token: Any
    speedup: Any


@accepts_workload(batch_size="batch_size", context="prompt_len")
def speculative_decoding(
    target: str | ModelSpec | dict,
    draft: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    alpha: Any,
    gamma: Any,
    batch_size: Any = 1,
    context: Any = 1024,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> Speculation:
    """Expected speed-up of speculative decoding over plain decoding of ``target``.

    ``alpha``: acceptance probability of a drafted token, in [0, 1). ``gamma``: tokens drafted
    per step (positive integer). ``context``: tokens already cached per sequence. Draft and
    target run on the same device with the same workload ``options`` (see
    :data:`llmviewer.specs.workload.OPTIONS`). ``alpha``, ``gamma``, ``batch_size`` and ``context``
    may be numpy arrays (they broadcast). See the module docstring for the cost model."""
    kw = pass_arguments(elementwise_fusion(calibration, options))  # as the calibration was fitted
    tm, dm, hw = load_model(target), load_model(draft), load_hardware(hardware)
    eff = resolve_efficiency(calibration)
    tokens = expected_tokens_per_step(alpha, gamma)
    g = check_gamma(gamma)
    first = make_pass(batch_size, 1, context, 1, absorb_mla=True, **kw)
    drafting = decode_steps_time(dm, hw, first, g, eff)
    verifying = verify_time(tm, hw, batch_size, g + 1, context, eff, **kw)
    baseline = decode_step_time(tm, hw, batch_size, context, eff, **kw)
    step = drafting + verifying
    per_token = step / tokens
    settings = dict(alpha=alpha, gamma=g, batch_size=first.batch, context=first.past_tokens, **first.options())
    return Speculation(tm.name, dm.name, hw.name, settings, tokens, drafting, verifying, step, per_token, baseline,
                       baseline / per_token)  # fmt: skip


_GAMMA_CHUNK = 1024
"""Draft lengths evaluated at once by :func:`best_gamma`."""


@broadcasting(("batch_size", "context"))
def best_gamma(
    target: str | ModelSpec | dict,
    draft: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    alpha: Any,
    batch_size: Any = 1,
    context: Any = 1024,
    max_gamma: int = 16,
    **kwargs: Any,
) -> tuple[Any, Any]:
    """The ``gamma`` in 1..``max_gamma`` that maximises the speed-up, and that speed-up, for
    each ``alpha`` (number or 1-D array; other arguments scalars). Arguments as
    :func:`speculative_decoding`."""
    a = np.atleast_1d(check_alpha(alpha))
    top = check_gamma(max_gamma, "max_gamma")
    best = np.ones(len(a), dtype=np.int64)
    value = np.full(len(a), -np.inf)
    # The speed-up is unimodal in gamma (expected tokens per step are concave and increasing, the
    # step time increasing): scan in chunks and stop once every alpha's curve is falling, so that
    # no more than a chunk is allocated at a time, whatever ``max_gamma``.
    for start in range(1, top + 1, _GAMMA_CHUNK):
        gammas = np.arange(start, min(start + _GAMMA_CHUNK, top + 1))
        s = speculative_decoding(target, draft, hardware, a[:, None], gammas[None, :], batch_size, context, **kwargs)
        speedup = np.broadcast_to(s.speedup, (len(a), len(gammas)))
        i = np.argmax(speedup, axis=1)
        better = speedup[np.arange(len(a)), i] > value
        best = np.where(better, gammas[i], best)
        value = np.where(better, speedup[np.arange(len(a)), i], value)
        if len(gammas) < 2 or np.all(speedup[:, -1] < speedup[:, -2]):
            break
    if np.ndim(alpha) == 0:
        return int(best[0]), float(value[0])
    return best, value


# --------------------------------------------------------------------------- Medusa


def medusa_head_ops(model: ModelSpec, heads: int) -> list[Linear]:
    """The extra operators of ``heads`` Medusa heads: each a ``hidden x hidden`` residual
    block (with bias) and its own ``hidden x vocab`` projection (kept at 16 bits, like lm_head)."""
    h, v = model.hidden_size, model.vocab_size
    return [
        Linear("medusa_block", "matmul", heads, in_f=h, out_f=h, bias=True),
        Linear("medusa_lm_head", "matmul", heads, in_f=h, out_f=v, quantized=False, tokens="logits"),
    ]


def medusa_parameters(model: str | ModelSpec | dict, heads: int) -> int:
    """Parameters that ``heads`` Medusa heads add to ``model``."""
    m = load_model(model)
    return sum(op.params * op.count for op in medusa_head_ops(m, check_gamma(heads, "heads")))


@dataclass(frozen=True)
class MultiToken(Result):
    """A multi-token decoding scheme against plain decoding: expected tokens per sequence per step,
    the step's time and the time per token (seconds), plain decoding's time per token (one step,
    seconds) and the speed-up (> 1 is faster). Arrays broadcast over the arguments."""

    tokens_per_step: Any
    step_time: Any
    time_per_token: Any
    baseline_time_per_token: Any
    speedup: Any

    @classmethod
    def of(cls, tokens_per_step: Any, step: Any, baseline: Any, **extra: Any) -> MultiToken:
        """The result of a scheme whose step of ``step`` seconds yields ``tokens_per_step`` tokens,
        against plain decoding whose one-token step takes ``baseline`` seconds."""
        return cls(
            tokens_per_step=tokens_per_step,
            step_time=step,
            time_per_token=step / tokens_per_step,
            baseline_time_per_token=baseline,
            speedup=baseline * tokens_per_step / step,
            **extra,
        )


@dataclass(frozen=True)
class Medusa(MultiToken):
    """Result of :func:`medusa_decoding`; ``heads_time``: seconds of the Medusa heads in a step."""

    heads_time: Any


@dataclass(frozen=True)
class Lookahead(MultiToken):
    """Result of :func:`lookahead_decoding`; ``new_tokens``: tokens per sequence in the step's pass."""

    new_tokens: Any


@dataclass(frozen=True)
class EarlyExit(Result):
    """Result of :func:`early_exit`, in seconds: the expected step, the full step (all blocks) and
    its parts (blocks, and what runs once: embeddings and head); the expected blocks run and the
    speed-up over the full step."""

    step_time: Any
    baseline_time: Any
    blocks_time: Any
    head_time: Any
    expected_layers: Any
    speedup: Any


@accepts_workload(batch_size="batch_size", context="prompt_len")
def medusa_decoding(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    acceptance: Any,
    heads: int = 4,
    batch_size: Any = 1,
    context: Any = 1024,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> Medusa:
    """Expected speed-up of Medusa-style decoding (one chain of ``heads`` candidates).

    Returns seconds ``step_time`` (target pass over ``heads + 1`` tokens plus the heads),
    ``heads_time``, ``tokens_per_step`` (``(1 - a**(heads+1)) / (1 - a)``),
    ``time_per_token``, ``baseline_time_per_token`` (plain decode) and ``speedup``.
    ``acceptance`` (in [0, 1)), ``batch_size`` and ``context`` may be arrays."""
    kw = pass_arguments(elementwise_fusion(calibration, options))  # as the calibration was fitted
    m, hw = load_model(model), load_hardware(hardware)
    eff = resolve_efficiency(calibration)
    k = check_gamma(heads, "heads")
    if isinstance(k, np.ndarray):
        raise LLMViewerError("heads must be a single integer (it changes the model)")
    tokens = expected_tokens_per_step(acceptance, k)
    p = make_pass(batch_size, k + 1, context, k + 1, absorb_mla=True, **kw)
    heads = [(op, op.traffic(p), op.compute_bits(p)) for op in medusa_head_ops(m, k)]
    heads_time = pass_time(heads, hw, p.tokens, eff.for_pass(p, decode=True))
    step = forward_time(count_pass(m, p) + heads, hw, p, eff, decode=True)
    baseline = decode_step_time(m, hw, batch_size, context, eff, **kw)
    return Medusa.of(tokens, step, baseline, heads_time=heads_time)


# --------------------------------------------------------------------------- lookahead


def lookahead_decoding(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    accepted: Any,
    window: int = 5,
    ngrams: int = 5,
    ngram_size: int = 4,
    batch_size: Any = 1,
    context: Any = 1024,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> Lookahead:
    """Expected speed-up of lookahead decoding (Fu et al. 2024), a simple model.

    Each step is ONE target pass over ``window + ngrams * ngram_size`` new tokens per sequence
    (the lookahead branch's ``window`` tokens and ``ngrams`` candidate n-grams of
    ``ngram_size`` tokens to verify), with logits at all of them, and yields ``accepted``
    tokens per sequence on average (a parameter in [1, ngram_size + 1], not modelled: it
    depends on how often the n-gram pool guesses right). Returns seconds ``step_time``,
    ``tokens_per_step``, ``time_per_token``, ``baseline_time_per_token`` (plain decode) and
    ``speedup``. ``accepted``, ``batch_size`` and ``context`` may be arrays."""
    kw = pass_arguments(elementwise_fusion(calibration, options))  # as the calibration was fitted
    m, hw = load_model(model), load_hardware(hardware)
    eff = resolve_efficiency(calibration)
    w = check_sizes("window", window)
    g = check_sizes("ngrams", ngrams)
    n = check_sizes("ngram_size", ngram_size)
    if any(isinstance(x, np.ndarray) for x in (w, g, n)):
        raise LLMViewerError("window, ngrams and ngram_size must be single integers")
    a = np.asarray(accepted, dtype=float) if not isinstance(accepted, (bool, str)) else None
    if a is None or a.size == 0 or not np.all(np.isfinite(a)) or np.any((a < 1) | (a > n + 1)):
        raise LLMViewerError(f"accepted must be a number of tokens in [1, ngram_size + 1], got {accepted!r}")
    a = a if isinstance(accepted, (list, tuple, np.ndarray)) else float(a)
    tokens = w + g * n
    step = verify_time(m, hw, batch_size, tokens, context, eff, **kw)
    baseline = decode_step_time(m, hw, batch_size, context, eff, **kw)
    return Lookahead.of(a, step, baseline, new_tokens=tokens)


# --------------------------------------------------------------------------- early exit


def check_exit_pmf(pmf: Any, num_layers: int) -> np.ndarray:
    """Validate a distribution of exit layers: ``num_layers`` non-negative entries summing to 1."""
    arr = np.asarray(pmf, dtype=float)
    if arr.ndim != 1 or len(arr) != num_layers:
        raise LLMViewerError(f"exit distribution needs {num_layers} entries (one per block), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or not np.isclose(arr.sum(), 1.0):
        raise LLMViewerError(f"exit distribution must be non-negative and sum to 1, sums to {arr.sum():.6g}")
    return arr


def expected_layers_run(pmf: Any, batch_size: Any = 1) -> Any:
    """Expected blocks a batch runs: the mean of the deepest exit among ``batch_size``
    sequences, each exiting after ``l`` blocks with probability ``pmf[l - 1]``:
    ``sum_{l=1}^{L} (1 - F(l-1)**batch)``, ``F`` the cumulative distribution."""
    arr = np.asarray(pmf, dtype=float)
    b = check_sizes("batch_size", batch_size)
    below = np.concatenate([[0.0], np.cumsum(arr)[:-1]])  # F(l - 1), l = 1..L
    below = np.minimum(below, 1.0)
    out = np.sum(1 - below ** np.asarray(b, dtype=float)[..., None], axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def geometric_exit_pmf(num_layers: int, exit_rate: float, min_layers: int = 1) -> np.ndarray:
    """A simple exit distribution: no exit before ``min_layers`` blocks, then a token leaves
    after each further block with probability ``exit_rate``; the rest leave after the last."""
    if not 0 <= exit_rate <= 1:
        raise LLMViewerError(f"exit_rate must be in [0, 1], got {exit_rate!r}")
    n = check_sizes("min_layers", min_layers)
    if n > num_layers:
        raise LLMViewerError(f"min_layers ({n}) exceeds the {num_layers} blocks")
    pmf = np.zeros(num_layers)
    stay = 1.0
    for layer in range(n, num_layers):
        pmf[layer - 1] = stay * exit_rate
        stay *= 1 - exit_rate
    pmf[-1] += stay
    return pmf


def early_exit(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    pmf: Any,
    batch_size: Any = 1,
    context: Any = 1024,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> EarlyExit:
    """Expected decode-step time with early exiting. ``pmf[l - 1]``: probability that a token
    exits after block ``l``. Returns seconds ``step_time``, ``baseline_time`` (all blocks),
    ``blocks_time`` and ``head_time`` (the parts of the full step), ``expected_layers``
    and ``speedup``."""
    kw = pass_arguments(elementwise_fusion(calibration, options))  # as the calibration was fitted
    m, hw = load_model(model), load_hardware(hardware)
    pmf = check_exit_pmf(pmf, m.num_layers)
    eff = resolve_efficiency(calibration)
    p = make_pass(batch_size, 1, context, 1, absorb_mla=True, **kw)
    counted = count_pass(m, p)
    step_eff = eff.for_pass(p, decode=True)  # as forward_time: the step's fixed cost is run whatever the exit
    head = pass_time([c for c in counted if c[0].role in ONCE_PER_PASS], hw, p.tokens, step_eff) + step_eff.step_cost
    full = forward_time(counted, hw, p, eff, decode=True)
    layers = expected_layers_run(pmf, batch_size)
    step = head + (full - head) * layers / m.num_layers
    return EarlyExit(
        step_time=step,
        baseline_time=full,
        blocks_time=full - head,
        head_time=head,
        expected_layers=layers,
        speedup=full / step,
    )


__all__ = [
    "EarlyExit",
    "Lookahead",
    "Medusa",
    "MultiToken",
    "Speculation",
    "best_gamma",
    "early_exit",
    "expected_layers_run",
    "expected_tokens_per_step",
    "geometric_exit_pmf",
    "lookahead_decoding",
    "medusa_decoding",
    "medusa_parameters",
    "speculative_decoding",
]
