"""generate(): end-to-end latency and throughput of a generation task, as exact sums.

Conventions: the prefill pass over the prompt produces the first generated token, so the
time to first token (TTFT) is the prefill time. Each of the remaining ``gen_len - 1`` tokens
takes one decode step; step ``j`` (0-based) has ``prompt_len + j`` tokens in the KV cache.
Throughput is generated tokens (``batch_size * gen_len``) over the total time.

Every operator's OPs and bytes in a decode step are affine in the number of cached tokens
(until a sliding window caps the keys), so its roofline time is the maximum of two affine
functions. The sum over all steps is computed in closed form per operator, which is exact
and costs the same for 10 or 100,000 generated tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arrays import clip, maximum, minimum, where
from ..results import Result
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import ModelSpec, load_model
from ..specs.workload import Pass, Workload, check_broadcast, check_options, check_sizes, stage_passes, unpack_workload
from .analysis import count_pass
from .efficiency import PURE, Efficiency, calibration_name, elementwise_fusion, resolve_efficiency
from .roofline import combine, forward_time, op_terms, peak_for_bits, rows_of


def _sum_affine_max(a: Any, b: Any, c: Any, d: Any, n: Any) -> Any:
    """``sum_{j=0}^{n-1} max(a + b*j, c + d*j)`` for integer ``n >= 0``; numbers or arrays."""
    # max(u, v) = v + max(u - v, 0); u - v = g0 + g1 * j
    g0, g1 = a - c, b - d
    base = n * c + d * n * (n - 1) / 2
    # the j in [0, n) where g0 + g1*j > 0 form one run: [lo, hi)
    if not any(isinstance(x, np.ndarray) for x in (g0, g1, n)):  # one setting: plain Python, same formula
        if g1 == 0:
            lo, hi = 0, (n if g0 > 0 else 0)
        elif g1 > 0:
            lo, hi = min(max(math.floor(-g0 / g1) + 1, 0), n), n
        else:
            lo, hi = 0, min(max(math.ceil(-g0 / g1), 0), n)
        k = max(hi - lo, 0)
        return base + (k * g0 + g1 * (k * lo + k * (k - 1) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        root = -g0 / where(g1 == 0, 1, g1)
    lo = where(g1 > 0, clip(np.floor(root) + 1, 0, n), 0)
    hi = where(g1 < 0, clip(np.ceil(root), 0, n), n)
    flat = where(g0 > 0, n, 0)  # g1 == 0: all or nothing
    lo = where(g1 == 0, 0, lo)
    hi = where(g1 == 0, flat, hi)
    k = maximum(hi - lo, 0)
    positive = k * g0 + g1 * (k * lo + k * (k - 1) / 2)
    return base + positive


def _chunked_decode_sum(op: Any, peak: Any, hw: Hardware, first: Pass, rows: Any, efficiency: Efficiency, steps: Any):
    """Sum over ``steps`` decode steps of a chunked-attention operator's roofline time (overhead apart).
    Step j attends ``r_j + 1`` keys, r_j = (past + j) mod chunk: a sawtooth, summed exactly as a first
    partial block, whole blocks and a last partial block, each an affine maximum in r."""
    chunk = op.chunk
    at = [Pass(**{**first.__dict__, "past_tokens": r}) for r in (0, 1)]  # r = 0 and 1 keys before the query
    t0, t1 = (op.traffic(p) for p in at)
    a, c, _, _ = op_terms(op.kind, t0.OPs, t0.memory_access, t0.link_bytes, peak, hw, rows, efficiency)
    b, d, _, _ = op_terms(op.kind, t1.OPs, t1.memory_access, t1.link_bytes, peak, hw, rows, efficiency)
    b, d = b - a, d - c
    r0 = first.past_tokens % chunk
    head = minimum(steps, chunk - r0)
    rest = maximum(steps - head, 0)
    return (
        _sum_affine_max(a + b * r0, b, c + d * r0, d, head)
        + (rest // chunk) * _sum_affine_max(a, b, c, d, chunk)
        + _sum_affine_max(a, b, c, d, rest % chunk)
    )


def _decode_ops(model: ModelSpec, hw: Hardware, first: Pass) -> list[tuple[Any, Any, Any, Any]]:
    """(operator, peak, traffic of the first step, traffic of the next) for every operator."""
    nxt = Pass(**{**first.__dict__, "past_tokens": first.past_tokens + 1})
    return [
        (op, peak_for_bits(hw, bits), t0, t1)
        for (op, t0, bits), (_, t1, _) in zip(count_pass(model, first), count_pass(model, nxt), strict=True)
    ]


def decode_steps_time(
    model: ModelSpec,
    hw: Hardware,
    first: Pass,
    steps: Any,
    efficiency: Efficiency = PURE,
    counted: list[tuple[Any, Any, Any, Any]] | None = None,
) -> Any:
    """Seconds for ``steps`` consecutive decode steps, the first being the pass ``first``
    (cached tokens grow by one per step). Exact sum of per-step roofline times. ``counted``:
    the operators' traffic from an earlier call (it does not depend on ``efficiency``). Every
    step is a decode step for ``efficiency`` (:meth:`~llmviewer.engine.efficiency.Efficiency.for_pass`):
    replayed as one graph, at its fixed ``step_overhead``, by engines that capture them."""
    efficiency = efficiency.for_pass(first, decode=True)
    total = steps * efficiency.step_cost
    tokens = first.tokens
    for op, peak, t0, t1 in counted if counted is not None else _decode_ops(model, hw, first):
        rows = rows_of(t0, tokens)
        a, c, link, overhead = op_terms(op.kind, t0.OPs, t0.memory_access, t0.link_bytes, peak, hw, rows, efficiency)
        b, d, _, _ = op_terms(op.kind, t1.OPs, t1.memory_access, t1.link_bytes, peak, hw, rows, efficiency)
        b, d = b - a, d - c
        total = total + op.count * steps * overhead
        if op.kind == "communication":  # collectives do not depend on the cache: same every step
            total = total + op.count * steps * combine(a, c, link, 0.0)[0]
        elif op.chunk != float("inf"):
            total = total + op.count * _chunked_decode_sum(op, peak, hw, first, rows, efficiency, steps)
        elif op.window == float("inf"):
            total = total + op.count * _sum_affine_max(a, b, c, d, steps)
        else:  # keys grow until the window is full, then the step time stays at its value there
            growing = clip(op.window - first.past_tokens - first.new_tokens + 1, 0, steps)
            last = growing - 1
            capped = maximum(steps - growing, 0) * maximum(a + b * last, c + d * last)
            total = total + op.count * (_sum_affine_max(a, b, c, d, growing) + capped)
    return total


@dataclass
class PreparedTask:
    """A generation task's operator counts, computed once, to be timed under many efficiencies
    (as calibration fits do). Times come from :meth:`times`."""

    model: ModelSpec
    hardware: Hardware
    prefill: Pass
    first_decode: Pass
    steps: Any
    prefill_counted: list
    decode_counted: list

    def times(self, efficiency: Efficiency = PURE) -> tuple[Any, Any]:
        """(time to first token, time of all decode steps) in seconds."""
        ttft = forward_time(self.prefill_counted, self.hardware, self.prefill, efficiency)
        decode = decode_steps_time(
            self.model, self.hardware, self.first_decode, self.steps, efficiency, self.decode_counted
        )
        return ttft, decode


def prepare_task(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    batch_size: Any = 1,
    prompt_len: Any = 1024,
    gen_len: Any = 128,
    **options: Any,
) -> PreparedTask:
    """Count a generation task once (see :class:`PreparedTask`); arguments as :func:`generate`."""
    check_options(options)
    m = load_model(model)
    hw = load_hardware(hardware)
    check_broadcast(batch_size=batch_size, prompt_len=prompt_len, gen_len=gen_len)
    steps = check_sizes("gen_len", gen_len) - 1
    prefill, first_decode = stage_passes(batch_size, prompt_len, "prompt_len", **options)
    return PreparedTask(m, hw, prefill, first_decode, steps, count_pass(m, prefill), _decode_ops(m, hw, first_decode))


_GENERATE_SIZES = {"batch_size": ("batch_size", 1), "prompt_len": ("prompt_len", 1024), "gen_len": ("gen_len", 128)}


@dataclass(frozen=True)
class Generation(Result):
    """Result of :func:`generate`. Times in seconds, throughput in generated tokens/s."""

    model: ModelSpec
    hardware: Hardware
    settings: dict[str, Any]
    ttft: Any
    decode_time: Any
    tpot_mean: Any
    total_time: Any
    throughput: Any


def generate(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    batch_size: Any = 1,
    prompt_len: Any = 1024,
    gen_len: Any = 128,
    calibration: Efficiency | str | None = None,
    workload: Workload | None = None,
    **options: Any,
) -> Generation:
    """Time to first token, mean time per output token, total time and throughput of
    generating ``gen_len`` tokens after a ``prompt_len``-token prompt for ``batch_size``
    sequences. ``options`` and ``calibration`` as for :func:`llmviewer.analyze`. Arguments may be numpy arrays
    (they broadcast). ``tpot_mean`` is the mean decode-step time (NaN when ``gen_len`` is 1).
    ``workload``: a :class:`~llmviewer.specs.workload.Workload` instead of the sizes and options
    (also accepted as the third positional argument)."""
    check_options(options)
    if isinstance(batch_size, Workload):
        workload, batch_size = batch_size, 1
    if workload is not None:
        given = {"batch_size": batch_size, "prompt_len": prompt_len, "gen_len": gen_len}
        sizes, options = unpack_workload(workload, given, _GENERATE_SIZES, options)
        batch_size, prompt_len, gen_len = sizes["batch_size"], sizes["prompt_len"], sizes["gen_len"]
    task = prepare_task(model, hardware, batch_size, prompt_len, gen_len, **elementwise_fusion(calibration, options))
    m, hw, prefill, steps = task.model, task.hardware, task.prefill, task.steps
    gen = steps + 1
    ttft, decode = task.times(resolve_efficiency(calibration))
    with np.errstate(divide="ignore", invalid="ignore"):
        tpot = where(steps > 0, decode / maximum(steps, 1), np.nan)
    total = ttft + decode
    settings = dict(
        batch_size=prefill.batch,
        prompt_len=prefill.new_tokens,
        gen_len=gen,
        **prefill.options(),
        calibration=calibration_name(calibration),
    )
    return Generation(m, hw, settings, ttft, decode, tpot, total, prefill.batch * gen / total)
