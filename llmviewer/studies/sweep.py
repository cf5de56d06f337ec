"""Sweeps: the engine over the Cartesian product of settings, as one pandas DataFrame.

Every axis is a 1-D sequence of values of one argument of :func:`llmviewer.generate` or
:func:`llmviewer.analyze` (``batch_size``, ``prompt_len``, ``gen_len``, ``seqlen``, ``w_bit``,
``a_bit``, ``kv_bit``...); scalar arguments pass through. The product is evaluated in chunks of
``chunk_size`` settings, each one vectorised engine call, so that the working memory stays
bounded whatever the number of settings; a progress line goes to stderr once a sweep has run
for more than ``progress_after`` seconds.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from ..engine.analysis import analyze
from ..engine.generation import generate
from ..errors import LLMViewerError
from ..specs.hardware import load_hardware
from ..specs.models import load_model

OUTPUTS = {
    "generate": ("ttft", "tpot_mean", "decode_time", "total_time", "throughput"),
    "prefill": ("time", "bound", "memory"),
    "decode": ("time", "bound", "memory"),
}
"""Columns each kind of sweep adds: seconds, tokens/s, bound, bytes."""


def _evaluate(what: str, model: Any, hw: Any, settings: dict[str, np.ndarray], fixed: dict[str, Any]) -> dict:
    if what == "generate":
        g = generate(model, hw, **settings, **fixed)
        return {k: getattr(g, k) for k in OUTPUTS["generate"]}
    a = analyze(model, hw, stages=(what,), **settings, **fixed)
    stage = getattr(a, what)
    return {"time": stage.time, "bound": stage.total["bound"], "memory": a.memory["total"]}


def sweep(
    model: Any,
    hardware: Any,
    what: str = "generate",
    chunk_size: int = 1 << 18,
    progress_after: float = 2.0,
    **arguments: Any,
) -> Any:
    """One row per setting of the product of the sequence-valued ``arguments`` (in C order: the
    last axis varies fastest), with a column per axis and the columns of :data:`OUTPUTS` for
    ``what`` (``"generate"``, ``"prefill"`` or ``"decode"``). Units: seconds, tokens/s, bytes."""
    if what not in OUTPUTS:
        raise LLMViewerError(f"what must be one of {', '.join(OUTPUTS)}, got {what!r}")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise LLMViewerError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    m, hw = load_model(model), load_hardware(hardware)
    axes = {k: np.asarray(v) for k, v in arguments.items() if isinstance(v, (list, tuple, np.ndarray))}
    fixed = {k: v for k, v in arguments.items() if k not in axes}
    for name, values in axes.items():
        if values.ndim != 1 or values.size == 0:
            raise LLMViewerError(f"{name} must be a non-empty 1-D sequence of values")
    names, shape = list(axes), tuple(v.size for v in axes.values())
    total = int(np.prod(shape)) if shape else 1
    inner = int(np.prod(shape[1:])) if shape else 1
    slab = max(chunk_size // max(inner, 1), 1)  # outer-axis values per engine call
    columns: dict[str, list] = {k: [] for k in (*axes, *OUTPUTS[what])}
    start, shown, done = time.perf_counter(), False, 0
    for lo in range(0, shape[0] if shape else 1, slab):
        # one broadcast grid per call: the outer axis sliced, the others whole, each on its own dimension
        grid = [axes[names[0]][lo : lo + slab]] + [axes[k] for k in names[1:]] if names else []
        settings = {
            k: v.reshape([-1 if d == i else 1 for d in range(len(grid))])
            for i, (k, v) in enumerate(zip(names, grid, strict=True))
        }
        out = _evaluate(what, m, hw, settings, fixed)
        block = tuple(v.size for v in grid)
        for k, v in settings.items():
            columns[k].append(np.broadcast_to(v, block).ravel())
        for k, v in out.items():
            columns[k].append(np.broadcast_to(v, block).ravel())
        done += int(np.prod(block)) if block else 1
        elapsed = time.perf_counter() - start
        if elapsed > progress_after:
            print(f"\rsweep: {done:,} of {total:,} settings ({elapsed:.0f} s)", end="", file=sys.stderr, flush=True)
            shown = True
    if shown:
        print(file=sys.stderr)
    import pandas as pd

    return pd.DataFrame({k: np.concatenate(v) for k, v in columns.items()})
