"""Sweeps: the engine over the Cartesian product of settings, as pandas DataFrames.

Every axis is a 1-D sequence of values of one argument of :func:`llmviewer.generate` or
:func:`llmviewer.analyze` (``batch_size``, ``prompt_len``, ``gen_len``, ``seqlen``, ``w_bit``,
``a_bit``, ``kv_bit``...); scalar arguments pass through. The product is evaluated in chunks of
at most ``chunk_size`` consecutive settings (C order), each one vectorised engine call on 1-D
arrays, so that the working memory is bounded by the chunk whatever the number of settings or
the shape of the axes; chunks of some ten thousand settings also keep the engine's arrays in
the processor's caches (faster than one huge call). :func:`iter_sweep` yields one DataFrame
per chunk (memory bounded for any size, e.g. 10^8 settings reduced on the fly);
:func:`sweep` concatenates them (memory: the result itself). A tqdm progress bar appears on
stderr once a sweep has run for ``progress_after`` seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..engine.analysis import analyze
from ..engine.generation import generate
from ..errors import LLMViewerError
from ..specs.hardware import load_hardware
from ..specs.models import load_model
from ..specs.workload import Workload

OUTPUTS = {
    "generate": ("ttft", "tpot_mean", "decode_time", "total_time", "throughput"),
    "prefill": ("time", "bound", "memory"),
    "decode": ("time", "bound", "memory"),
}
"""Columns each kind of sweep adds: seconds, tokens/s, bound, bytes."""
CHUNK_SIZE = 1 << 16
"""Default settings per engine call: the engine's working arrays stay in cache (measured
fastest in benchmarks/bench_engine.py) and the working memory stays some tens of MB."""


def _evaluate(what: str, model: Any, hw: Any, settings: dict[str, np.ndarray], fixed: dict[str, Any]) -> dict:
    if what == "generate":
        g = generate(model, hw, **settings, **fixed)
        return {k: getattr(g, k) for k in OUTPUTS["generate"]}
    a = analyze(model, hw, stages=(what,), **settings, **fixed)
    stage = getattr(a, what)
    return {"time": stage.time, "bound": stage.total["bound"], "memory": a.memory["total"]}


def chunks(shape: tuple[int, ...], chunk_size: int) -> tuple[int, int, Iterator[tuple[int, int]]]:
    """How a product of ``shape`` is cut: ``(k, inner, ranges)``. The trailing axes ``shape[k:]``
    (``inner`` settings, at most ``chunk_size``) are evaluated whole, each on its own array
    dimension (so per-axis quantities stay small arrays); ``ranges`` are the ``(lo, hi)`` ranges
    (lazily) of flat C-order indices over the leading axes ``shape[:k]`` taken per engine call, so that
    every call holds at most ``max(chunk_size, 1)`` settings."""
    k = len(shape)
    while k > 0 and math.prod(shape[k - 1 :]) <= chunk_size:
        k -= 1
    inner = math.prod(shape[k:])
    lead = math.prod(shape[:k])
    slab = max(chunk_size // inner, 1)
    return k, inner, ((lo, min(lo + slab, lead)) for lo in range(0, lead, slab))


def _check(
    what: str, chunk_size: Any, arguments: dict[str, Any], workload: Any = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    if what not in OUTPUTS:
        raise LLMViewerError(f"what must be one of {', '.join(OUTPUTS)}, got {what!r}")
    if workload is not None:  # the workload's fields, unless an argument (e.g. an axis) gives them
        if not isinstance(workload, Workload):
            raise LLMViewerError(f"workload must be a llmviewer Workload, got {type(workload).__name__}")
        base = {**workload.options(), "batch_size": workload.batch_size}
        if what == "generate":
            base.update(prompt_len=workload.prompt_len, gen_len=workload.gen_len)
        else:
            base["seqlen"] = workload.prompt_len
        arguments = {**base, **arguments}
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise LLMViewerError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    axes = {k: np.asarray(v) for k, v in arguments.items() if isinstance(v, (list, tuple, np.ndarray))}
    for name, values in axes.items():
        if values.ndim != 1 or values.size == 0:
            raise LLMViewerError(f"{name} must be a non-empty 1-D sequence of values")
    return axes, {k: v for k, v in arguments.items() if k not in axes}


def iter_sweep(
    model: Any,
    hardware: Any,
    what: str = "generate",
    chunk_size: int = CHUNK_SIZE,
    progress_after: float = 2.0,
    workload: Workload | None = None,
    **arguments: Any,
) -> Iterator[Any]:
    """The rows of :func:`sweep`, one DataFrame per chunk of at most ``chunk_size`` settings (in
    order), so that sweeps of any size run in bounded memory when each chunk is reduced or
    written out as it comes. ``workload``: a :class:`~llmviewer.specs.workload.Workload` whose
    fields the ``arguments`` (axes or single values) override. Units: seconds, tokens/s, bytes."""
    axes, fixed = _check(what, chunk_size, arguments, workload)
    import pandas as pd

    m, hw = load_model(model), load_hardware(hardware)
    names, shape = list(axes), tuple(v.size for v in axes.values())
    k, inner, ranges = chunks(shape, chunk_size)
    bar = _progress(math.prod(shape), progress_after)
    try:
        for lo, hi in ranges:
            # leading axes: their combinations lo..hi, flattened on dimension 0; trailing axes whole,
            # each on its own dimension (C order overall)
            lead = np.unravel_index(np.arange(lo, hi), shape[:k]) if k else ()
            dims = 1 + len(shape) - k
            settings = {n: axes[n][i].reshape([-1] + [1] * (dims - 1)) for n, i in zip(names[:k], lead, strict=True)}
            for j, n in enumerate(names[k:], start=1):
                settings[n] = axes[n].reshape([-1 if d == j else 1 for d in range(dims)])
            out = _evaluate(what, m, hw, settings, fixed)
            block = (hi - lo, *shape[k:])
            yield pd.DataFrame({n: np.broadcast_to(v, block).ravel() for n, v in {**settings, **out}.items()})
            if bar is not None:
                bar.update((hi - lo) * inner)
    finally:
        if bar is not None:
            bar.close()


def sweep(
    model: Any,
    hardware: Any,
    what: str = "generate",
    chunk_size: int = CHUNK_SIZE,
    progress_after: float = 2.0,
    workload: Workload | None = None,
    **arguments: Any,
) -> Any:
    """One row per setting of the product of the sequence-valued ``arguments`` (in C order: the
    last axis varies fastest), with a column per axis and the columns of :data:`OUTPUTS` for
    ``what`` (``"generate"``, ``"prefill"`` or ``"decode"``), computed chunk by chunk
    (:func:`iter_sweep`). Units: seconds, tokens/s, bytes."""
    import pandas as pd

    parts = list(iter_sweep(model, hardware, what, chunk_size, progress_after, workload, **arguments))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


def _progress(total: int, after: float) -> Any:
    """A tqdm bar on stderr that shows itself only after ``after`` seconds (None without tqdm)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the bar is a nicety
        return None
    return tqdm(total=total, unit=" settings", unit_scale=True, delay=after, desc="sweep", leave=False)
