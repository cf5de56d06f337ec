"""Interactive explorer of speculative decoding: the expected speed-up against gamma for every
target/draft pair, device, precision, batch and acceptance rate, computed by
:func:`llmviewer.techniques.speculative.speculative_decoding`; the page's JavaScript only selects rows."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..engine.analysis import fits
from ..specs.hardware import load_hardware
from ..techniques.speculative import speculative_decoding


def speculation_table(
    pairs: list[tuple[str, str]],
    devices: list[str],
    alphas: Any,
    gammas: Any,
    batches: Any,
    precisions: dict[str, dict[str, Any]] | None = None,
    context: int = 1024,
) -> Any:
    """Speed-up of every (pair, device, precision, batch, alpha, gamma) as a pandas DataFrame,
    rows in that nested order; one vectorised :func:`speculative_decoding` call per pair,
    device and precision. ``precisions``: label -> workload options (default W16A16)."""
    import pandas as pd

    precisions = precisions or {"W16A16": {}}
    a, g, b = (np.asarray(x) for x in (alphas, gammas, batches))
    grid = np.meshgrid(b, a, g, indexing="ij")
    frames = []
    for (target, draft), device, (label, opts) in itertools.product(pairs, devices, precisions.items()):
        s = speculative_decoding(
            target, draft, device, a[None, :, None], g[None, None, :], b[:, None, None], context, **opts
        )
        shape = grid[0].shape
        fit = fits([target, draft], device, batch_size=grid[0], seqlen=context + grid[2], **opts)
        frames.append(
            pd.DataFrame(
                {
                    "pair": f"{target} / {draft}",
                    "device": load_hardware(device).name,
                    "precision": label,
                    "batch": grid[0].ravel().astype(int),
                    "alpha": grid[1].ravel(),
                    "gamma": grid[2].ravel().astype(int),
                    "tokens_per_step": np.broadcast_to(s.tokens_per_step, shape).ravel(),
                    "step_ms": np.broadcast_to(s.step_time, shape).ravel() * 1e3,
                    "plain_ms_per_token": np.broadcast_to(s.baseline_time_per_token, shape).ravel() * 1e3,
                    "speedup": np.broadcast_to(s.speedup, shape).ravel(),
                    "memory_gb": np.broadcast_to(fit.needed, shape).ravel() / 1e9,
                    "device_gb": fit.capacity / 1e9,
                    "fits": np.broadcast_to(fit.fits, shape).ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def speculation_explorer(
    pairs: list[tuple[str, str]],
    devices: list[str],
    alphas: Any = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95),
    gammas: Any = tuple(range(1, 13)),
    batches: Any = (1, 4, 16, 64, 256),
    precisions: dict[str, dict[str, Any]] | None = None,
    context: int = 1024,
) -> tuple[Any, Any]:
    """Interactive speed-up of speculative decoding against gamma: choose the target/draft
    pair, device, precision, batch and alpha; the readout gives the best gamma, its speed-up and
    the memory (GB) of target and draft. The page only looks rows of :func:`speculation_table` up
    (:class:`llmviewer.viz.lookup.Lookup`). Returns (layout, table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Div, HoverTool, RadioButtonGroup, Select

    from .lookup import Axis, Curve, Lookup, Prop, index_slider
    from .plots import _axes

    precisions = precisions or {"W16A16": {}}
    table = speculation_table(pairs, devices, alphas, gammas, batches, precisions, context)
    names = [f"{t} / {d}" for t, d in pairs]
    devs = [load_hardware(d).name for d in devices]
    labels = list(precisions)
    src = ColumnDataSource({"gamma": [], "speedup": [], "tokens": [], "step_ms": []}, name="speculation-points")
    fig = _axes("", "gamma (tokens drafted per step)", "expected speed-up over plain decoding", False, False)
    fig.y_range.start = 0  # the top follows the selected curve
    fig.line("gamma", "speedup", source=src, line_width=2, color="#1f77b4")
    glyph = fig.scatter("gamma", "speedup", source=src, size=7, color="#1f77b4")
    # a glyph, not a Span, so that the range always includes the no-speed-up level
    fig.line([min(gammas), max(gammas)], [1, 1], line_dash="dashed", color="#444444")
    tips = [("gamma", "@gamma"), ("speed-up", "@speedup{0.00}x"), ("tokens/step", "@tokens{0.00}"),
            ("step", "@step_ms{0.000} ms")]  # fmt: skip
    fig.add_tools(HoverTool(renderers=[glyph], tooltips=tips))
    summary = Div(text="")
    c = {
        "pair": Select(title="target / draft", value=names[0], options=names, name="speculation-pair"),
        "device": Select(title="device", value=devs[0], options=devs, name="speculation-device"),
        "precision": RadioButtonGroup(labels=labels, active=0, name="speculation-precision"),
        "batch": index_slider(batches, name="speculation-batch"),
        "alpha": index_slider(alphas, len(alphas) // 2 + 1, name="speculation-alpha"),
    }
    lookup = Lookup(
        {
            **{k: table[k].to_numpy() for k in ("gamma", "speedup", "tokens_per_step", "step_ms")},
            **{f"f_{k}": np.repeat(v, len(gammas)) for k, v in _fields(table, len(gammas)).items()},
        },
        [
            Axis("pair", names, c["pair"]),
            Axis("device", devs, c["device"]),
            Axis("precision", labels, c["precision"]),
            Axis("batch", batches, c["batch"], label=[f"batch size: {int(b)}" for b in batches]),
            Axis("alpha", alphas, c["alpha"], label=[f"acceptance rate alpha: {float(a):g}" for a in alphas]),
            Axis("gamma", gammas),
        ],
        curves=[
            Curve(
                src,
                "gamma",
                {"gamma": "gamma", "speedup": "speedup", "tokens": "tokens_per_step", "step_ms": "step_ms"},
            )
        ],  # fmt: skip
        props=[Prop(summary, "text", template=_SUMMARY.replace("{", "{f_"))],
    )
    lookup.wire(fig)
    layout = column(
        row(c["pair"], c["device"]), c["precision"], row(lookup.control("batch"), lookup.control("alpha")), fig, summary
    )
    return layout, table


_SUMMARY = (
    "<b>{pair}</b> on <b>{device}</b>, {precision}, batch {batch}, alpha {alpha}: best gamma {gamma}, speed-up"
    " {speedup}x. Memory (target + draft, weights and KV cache): {memory} GB of {capacity} GB, {fit}."
)
"""The readout: a template whose fields (:func:`_fields`) are formatted in Python for every curve."""


def _fields(table: Any, n_gamma: int) -> dict[str, list[str]]:
    """The readout's fields for each curve (``n_gamma`` consecutive rows of :func:`speculation_table`),
    at its best gamma: speed-up, memory of target and draft (GB), whether it fits."""
    speedup = table["speedup"].to_numpy().reshape(-1, n_gamma)
    best = table.iloc[np.arange(len(speedup)) * n_gamma + np.argmax(speedup, axis=1)]
    return {
        "pair": best["pair"].tolist(),
        "device": best["device"].tolist(),
        "precision": best["precision"].tolist(),
        "batch": [str(b) for b in best["batch"]],
        "alpha": [f"{a:g}" for a in best["alpha"]],
        "gamma": [str(int(g)) for g in best["gamma"]],
        "speedup": [f"{x:.2f}" for x in best["speedup"]],
        "memory": [f"{x:.1f}" for x in best["memory_gb"]],
        "capacity": [f"{x:.0f}" for x in best["device_gb"]],
        "fit": ["fits" if f else "<b style='color:#d62728'>does not fit on one device</b>" for f in best["fits"]],
    }
