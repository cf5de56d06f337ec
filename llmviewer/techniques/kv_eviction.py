"""KV-cache eviction budgets: at most ``budget`` cached tokens per sequence in every attention layer.

Eviction methods keep a fixed number of cached tokens per sequence and drop the rest:
StreamingLLM keeps a few "attention sink" tokens plus a window of the most recent ones; H2O keeps
heavy hitters plus recent tokens; SnapKV keeps the prompt positions the last queries attend to.
They differ in WHICH tokens stay, which changes accuracy, not the roofline: a decode step with
``context`` tokens behind it reads ``min(context, budget)`` cached tokens per layer (a
sliding-window layer reads ``min(context, budget, window)``), and the KV cache holds that many.
The prompt itself is still processed in full (H2O and SnapKV evict after attending over it), so
prefill is unchanged. Selection overheads (scores kept for H2O, SnapKV's observation window) are
left out: they are a few vector OPs per cached token.

A model whose token mixers keep a fixed-size state (linear attention, state-space layers) gains
nothing there: the budget only caps what grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..arrays import minimum
from ..engine.analysis import count_pass, evaluate_pass, kv_cache_bytes, weight_bytes
from ..engine.efficiency import PURE
from ..engine.generation import decode_steps_time
from ..errors import LLMViewerError
from ..results import Result
from ..specs.hardware import load_hardware
from ..specs.models import load_model
from ..specs.workload import check_options, check_sizes, stage_passes


@dataclass(frozen=True)
class KVBudget:
    """At most ``tokens`` cached tokens per sequence and attention layer, ``sinks`` of them the
    first positions of the sequence (StreamingLLM's attention sinks; 0 for H2O/SnapKV budgets)."""

    tokens: int
    sinks: int = 0
    method: str = "budget"

    def __post_init__(self) -> None:
        check_sizes("kv_budget", self.tokens)
        check_sizes("sinks", self.sinks, minimum_value=0)
        if self.sinks >= self.tokens:
            raise LLMViewerError(f"sinks must be fewer than the kv_budget {self.tokens}, got {self.sinks}")


def streaming_llm(window: int, sinks: int = 4) -> KVBudget:
    """StreamingLLM: ``sinks`` initial tokens (4 in the paper) plus the ``window`` most recent ones."""
    check_sizes("window", window)
    return KVBudget(tokens=window + sinks, sinks=sinks, method="StreamingLLM")


def budget_tokens(kv_budget: Any) -> int | None:
    """The cap in tokens of a :class:`KVBudget`, an integer budget or None (no eviction)."""
    if kv_budget is None:
        return None
    if isinstance(kv_budget, KVBudget):
        return kv_budget.tokens
    return check_sizes("kv_budget", kv_budget)


def cached_tokens(context: Any, kv_budget: Any = None) -> Any:
    """Tokens cached per sequence after ``context`` tokens: ``min(context, budget)`` (tokens)."""
    cap = budget_tokens(kv_budget)
    return context if cap is None else minimum(context, cap)


@dataclass(frozen=True)
class DecodeStep(Result):
    """One decode step after ``context`` tokens with at most ``cached`` of them kept per sequence.

    Memory in bytes on one device (``weights``, ``kv_cache``: KV or state; ``total`` adds
    nothing else); time in seconds of the step split by operator role: ``attention_time`` (the
    attention operators, which read the cache) and ``other_time`` (everything else: projections,
    MLP or experts, recurrent state updates, norms, head: mostly weight reads at batch 1).
    ``fits``: ``total`` at most the device's memory."""

    model: str
    hardware: str
    context: Any
    cached: Any
    batch_size: Any
    weights: Any
    kv_cache: Any
    total: Any
    fits: Any
    attention_time: Any
    other_time: Any
    time: Any
    tokens_per_s: Any


def decode_step(
    model: Any,
    hardware: Any,
    context: Any = 4096,
    batch_size: Any = 1,
    kv_budget: Any = None,
    **options: Any,
) -> DecodeStep:
    """Memory (bytes) and time (seconds) of one decode step of ``model`` on ``hardware`` after a
    ``context``-token sequence, for ``batch_size`` sequences, caching at most ``kv_budget`` tokens
    per sequence (an int, a :class:`KVBudget` or None). ``options``: the workload options of
    :func:`llmviewer.analyze` (``kv_bit`` sets the KV precision). Sizes may be numpy arrays."""
    check_options(options)
    m, hw = load_model(model), load_hardware(hardware)
    context = check_sizes("context", context)
    cached = cached_tokens(context, kv_budget)
    _, step = stage_passes(batch_size, cached, "context", **options)
    res = evaluate_pass(m, hw, step, "decode", PURE, count_pass(m, step))
    attention = sum(
        r["inference_time"] * r["count"] for r, op in zip(res.layers, res.ops, strict=True) if op.role == "attention"
    )
    weights = weight_bytes(m, step)
    kv = kv_cache_bytes(m, step.batch, cached, step.kv_bits, step.tensor_parallel)
    total = weights + kv
    return DecodeStep(
        model=m.name,
        hardware=hw.name,
        context=context,
        cached=cached,
        batch_size=step.batch,
        weights=weights,
        kv_cache=kv,
        total=total,
        fits=total <= hw.memory_bytes,
        attention_time=attention,
        other_time=res.time - attention,
        time=res.time,
        tokens_per_s=step.batch / res.time,
    )


def decode_time_with_budget(
    model: Any,
    hardware: Any,
    prompt_len: int,
    gen_len: int,
    batch_size: int = 1,
    kv_budget: Any = None,
    **options: Any,
) -> float:
    """Seconds of the ``gen_len - 1`` decode steps after a ``prompt_len``-token prefill when at
    most ``kv_budget`` tokens stay cached: the cache grows by one token per step until it holds
    the budget, then every step reads the budget (exact sum of per-step roofline times)."""
    check_options(options)
    m, hw = load_model(model), load_hardware(hardware)
    steps = check_sizes("gen_len", gen_len) - 1
    prompt_len = check_sizes("prompt_len", prompt_len)
    cap = budget_tokens(kv_budget)
    cap = math.inf if cap is None else cap
    first = min(prompt_len, cap)
    growing = int(min(steps, max(cap - prompt_len, 0)))
    _, p0 = stage_passes(batch_size, first, "prompt_len", **options)
    total = decode_steps_time(m, hw, p0, growing) if growing else 0.0
    if steps > growing:
        _, full = stage_passes(batch_size, int(cap), "kv_budget", **options)
        total = total + (steps - growing) * decode_steps_time(m, hw, full, 1)
    return total
