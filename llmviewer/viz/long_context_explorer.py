"""Interactive long-context explorer: memory and time per decode step against context length, split
into weights, KV cache (or state) and attention, for every model, device, KV precision and eviction
budget. Every number is :func:`llmviewer.techniques.kv_eviction.decode_step`; the page's JavaScript
only looks rows up (:class:`llmviewer.viz.lookup.Lookup`)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..specs.hardware import load_hardware
from ..specs.models import load_model
from ..techniques.kv_eviction import decode_step
from .book import SHOWN_DIGITS, significant

CONTEXTS = tuple(4096 * 2**k for k in range(9))
"""4k to 1M tokens, doubling."""
KV_BITS = (16, 8, 4)
BUDGETS = (None, 4096, 32768)
"""Cached tokens kept per sequence (None: every token)."""
SUMMARY = (
    "<b>{model}</b> on <b>{device}</b>, {w_bit}-bit weights, KV {kv_bit}-bit, {keep}: after {context} tokens"
    " ({cached} cached) a decode step takes {time_ms} ms (attention {attention_ms} ms, the rest {other_ms} ms)."
    " Memory {total_gb} GB (weights {weights_gb} GB, KV {kv_gb} GB) of {device_gb} GB: {fit}."
)
"""The readout, filled with the selected row's values (ms, GB; 4 significant digits)."""


def long_context_table(
    models: list[str],
    devices: list[str],
    contexts: Any = CONTEXTS,
    kv_bits: Any = KV_BITS,
    budgets: Any = BUDGETS,
    w_bit: int = 4,
) -> Any:
    """One decode step (batch 1, ``w_bit``-bit weights, 16-bit activations) for every (model, device,
    KV width, budget, context), rows in that nested order: memory in GB (``weights_gb``,
    ``kv_gb``, ``total_gb``, ``device_gb``), ``fits``, time in ms (``attention_ms``, ``other_ms``,
    ``time_ms``) and ``cached`` tokens. A pandas DataFrame (one vectorised call per model, device,
    width and budget)."""
    import pandas as pd

    ctx = np.asarray(contexts, dtype=np.int64)
    frames = []
    for name, device, bits, budget in itertools.product(models, devices, kv_bits, budgets):
        s = decode_step(name, device, ctx, 1, budget, w_bit=w_bit, kv_bit=bits)
        hw = load_hardware(device)
        frames.append(
            pd.DataFrame(
                {
                    "model": load_model(name).name,
                    "device": hw.name,
                    "kv_bit": int(bits),
                    "budget": 0 if budget is None else int(budget),
                    "context": ctx,
                    "cached": np.broadcast_to(s.cached, ctx.shape).astype(np.int64),
                    "weights_gb": np.broadcast_to(s.weights, ctx.shape) / 1e9,
                    "kv_gb": np.broadcast_to(s.kv_cache, ctx.shape) / 1e9,
                    "total_gb": np.broadcast_to(s.total, ctx.shape) / 1e9,
                    "device_gb": hw.memory_bytes / 1e9,
                    "fits": np.broadcast_to(s.fits, ctx.shape),
                    "attention_ms": np.broadcast_to(s.attention_time, ctx.shape) * 1e3,
                    "other_ms": np.broadcast_to(s.other_time, ctx.shape) * 1e3,
                    "time_ms": np.broadcast_to(s.time, ctx.shape) * 1e3,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def long_context_explorer(
    models: list[str],
    devices: list[str],
    contexts: Any = CONTEXTS,
    kv_bits: Any = KV_BITS,
    budgets: Any = BUDGETS,
    w_bit: int = 4,
    initial: dict[str, int] | None = None,
) -> tuple[Any, Any]:
    """Pick a model, device, KV precision and eviction budget; two plots against context length show
    a decode step's time (attention, the rest, total; ms) and memory (weights, KV/state, total, the
    device's capacity; GB); a slider picks the context the readout describes. ``initial``: starting
    index per axis (model, device, kv, budget, context). Returns (layout, table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Div, HoverTool, RadioButtonGroup, Select

    from .lookup import Axis, Curve, Lookup, Point, Prop, index_slider
    from .plots import _axes

    table = long_context_table(models, devices, contexts, kv_bits, budgets, w_bit)
    names = [load_model(m).name for m in models]
    devs = [load_hardware(d).name for d in devices]
    cols = ("context", "cached", "attention_ms", "other_ms", "time_ms", "weights_gb", "kv_gb", "total_gb", "device_gb")
    # the page gets every number at the precision the reader sees (4 significant digits, as the book's
    # tables), which keeps the page small and lets the readout print the plotted values themselves
    store = {k: [significant(v, SHOWN_DIGITS) for v in table[k]] for k in cols[2:]}
    store.update(
        context=table["context"].to_numpy(),
        cached=table["cached"].to_numpy(),
        model=table["model"].to_numpy(),
        device=table["device"].to_numpy(),
        keep=np.where(
            table["budget"] == 0, "every token cached", "budget of " + table["budget"].astype(str) + " tokens"
        ),
        fit=np.where(table["fits"], "fits", "<b style='color:#d62728'>does not fit</b>"),
        kv_bit=table["kv_bit"].to_numpy(),
    )
    src = ColumnDataSource({k: [] for k in cols}, name="longctx-curve")
    mark = ColumnDataSource({k: [] for k in cols}, name="longctx-selected")
    t_fig = _axes("", "context (tokens)", "decode step (ms)", True, True)
    m_fig = _axes("", "context (tokens)", "memory on the device (GB)", True, True)
    lines = [
        (t_fig, "attention_ms", "attention (reads the KV cache)", "#d62728"),
        (t_fig, "other_ms", "the rest (weights, MLP, state updates)", "#1f77b4"),
        (t_fig, "time_ms", "whole step", "#2ca02c"),
        (m_fig, "weights_gb", "weights", "#1f77b4"),
        (m_fig, "kv_gb", "KV cache / state", "#d62728"),
        (m_fig, "total_gb", "weights + KV", "#2ca02c"),
        (m_fig, "device_gb", "device memory", "#7f7f7f"),
    ]
    for fig, y, label, color in lines:
        dash = "dashed" if y == "device_gb" else "solid"
        fig.line("context", y, source=src, line_width=2, color=color, legend_label=label, line_dash=dash)
        if y != "device_gb":
            fig.scatter("context", y, source=mark, size=10, color=color, marker="diamond")
    for fig, unit, keys in ((t_fig, "ms", lines[:3]), (m_fig, "GB", lines[3:])):
        tips = [("context", "@context{0,0} tokens")] + [(lab, f"@{y}{{0.000}} {unit}") for _, y, lab, _ in keys]
        fig.add_tools(HoverTool(tooltips=tips, mode="vline"))
        fig.legend.location = "top_left"
    summary = Div(text="", name="longctx-summary")
    c = {
        "model": Select(title="model", value=names[0], options=names, name="longctx-model"),
        "device": Select(title="device", value=devs[0], options=devs, name="longctx-device"),
        "kv": RadioButtonGroup(labels=[f"KV {b}-bit" for b in kv_bits], active=0, name="longctx-kv"),
        "budget": RadioButtonGroup(
            labels=["keep all" if b is None else f"keep {b:,}" for b in budgets], active=0, name="longctx-budget"
        ),
        "context": index_slider(contexts, name="longctx-context"),
    }
    lookup = Lookup(
        {k: np.asarray(v) for k, v in store.items()},
        [
            Axis("model", names, c["model"]),
            Axis("device", devs, c["device"]),
            Axis("kv", list(kv_bits), c["kv"]),
            Axis("budget", [0 if b is None else b for b in budgets], c["budget"]),
            Axis("context", list(contexts), c["context"], label=[f"context: {int(x):,} tokens" for x in contexts]),
        ],
        curves=[Curve(src, "context", {k: k for k in cols})],
        points=[Point(mark, {k: k for k in cols})],
        props=[Prop(summary, "text", template=SUMMARY.replace("{w_bit}", str(w_bit)))],
    )
    start = {"model": 0, "device": 0, "kv": 0, "budget": 0, "context": min(5, len(contexts) - 1), **(initial or {})}
    for name, value in start.items():
        w = c[name]
        if isinstance(w, Select):
            w.value = w.options[value]
        elif isinstance(w, RadioButtonGroup):
            w.active = value
        else:
            w.value = value
    lookup.wire(t_fig)
    layout = column(
        row(c["model"], c["device"]),
        Div(text="KV cache precision and eviction budget (cached tokens kept per sequence):"),
        c["kv"],
        c["budget"],
        lookup.control("context"),
        t_fig,
        m_fig,
        summary,
    )
    return layout, table
