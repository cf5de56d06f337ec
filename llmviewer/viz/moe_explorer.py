"""Interactive explorer of mixture-of-experts decoding: time per generated token against batch size,
for every model, device and routing skew, computed by :func:`llmviewer.techniques.moe.moe_decode`;
the page's JavaScript only selects rows."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..engine.analysis import fits
from ..specs.hardware import load_hardware
from ..specs.models import load_model
from ..techniques.moe import moe_decode


def moe_table(models: list[str], devices: list[str], batches: Any, skews: Any = (0.0,), context: int = 1024) -> Any:
    """:func:`moe_decode` for every (model, device, skew, batch) as a pandas DataFrame, rows in
    that nested order (one vectorised call per model, device and skew)."""
    import pandas as pd

    b = np.asarray(batches)
    frames = []
    for name, device, s in itertools.product(models, devices, skews):
        r = moe_decode(name, device, batch_size=b, context=context, zipf_s=float(s))
        m = load_model(name)
        fit = fits(name, device, batch_size=b, seqlen=context)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "device": load_hardware(device).name,
                    "zipf_s": float(s),
                    "batch": b.astype(int),
                    "experts_touched": np.broadcast_to(r["experts_touched"], b.shape),
                    "num_experts": m.num_experts,
                    "weight_gb": np.broadcast_to(r["weight_bytes"], b.shape) / 1e9,
                    "step_ms": np.broadcast_to(r["step_time"], b.shape) * 1e3,
                    "ms_per_token": np.broadcast_to(r["time_per_token"], b.shape) * 1e3,
                    "memory_gb": np.broadcast_to(fit.needed, b.shape) / 1e9,
                    "device_gb": fit.capacity / 1e9,
                    "fits": np.broadcast_to(fit.fits, b.shape),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def moe_explorer(
    models: list[str] | None = None,
    devices: list[str] = ("H100-SXM5-80GB",),
    batches: Any = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    skews: Any = (0.0, 0.5, 1.0, 1.5),
    context: int = 1024,
) -> tuple[Any, Any]:
    """Interactive decode time per token of MoE models against batch size: choose the model
    (default: every shipped MoE model), device, routing skew and a batch size to read off (time
    per token in ms, experts touched, memory in GB). The page only looks rows of
    :func:`moe_table` up (:class:`llmviewer.viz.lookup.Lookup`). Returns (layout, table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Div, HoverTool, Select

    from .lookup import Axis, Curve, Lookup, Point, Prop, index_slider, registry_models
    from .plots import _axes

    models = list(models) if models is not None else registry_models(lambda m: m.is_moe)
    table = moe_table(models, devices, batches, skews, context)
    devs = [load_hardware(d).name for d in devices]
    table = table.assign(color=np.where(table["fits"], "#1f77b4", "#d62728"))
    cols = ("batch", "ms_per_token", "experts_touched", "num_experts", "weight_gb", "step_ms", "memory_gb",
            "device_gb", "color")  # fmt: skip
    src = ColumnDataSource({k: [] for k in cols}, name="moe-points")
    mark = ColumnDataSource({k: [] for k in cols}, name="moe-selected")
    fig = _axes("", "batch size (sequences)", "decode time per generated token (ms)", True, True)
    fig.line("batch", "ms_per_token", source=src, line_width=2, color="#1f77b4")
    glyph = fig.scatter("batch", "ms_per_token", source=src, size=7, color="color")
    fig.scatter("batch", "ms_per_token", source=mark, size=13, color="#d62728", marker="diamond")
    tips = [
        ("batch", "@batch"),
        ("time per token", "@ms_per_token{0.000} ms"),
        ("experts touched", "@experts_touched{0.0} of @num_experts"),
        ("weights read", "@weight_gb{0.0} GB"),
        ("memory needed", "@memory_gb{0.0} GB of @device_gb{0} GB"),
    ]
    fig.add_tools(HoverTool(renderers=[glyph], tooltips=tips))
    summary = Div(text="")
    c = {
        "model": Select(title="model", value=models[0], options=list(models), name="moe-model"),
        "device": Select(title="device", value=devs[0], options=devs, name="moe-device"),
        "skew": index_slider(skews, name="moe-skew"),
        "batch": index_slider(batches, name="moe-batch"),
    }
    lookup = Lookup(
        {**{k: table[k].to_numpy() for k in cols}, **{f"f_{k}": v for k, v in _fields(table).items()}},
        [
            Axis("model", models, c["model"]),
            Axis("device", devs, c["device"]),
            Axis("skew", skews, c["skew"], label=[f"routing skew (Zipf s): {float(s):g}" for s in skews]),
            Axis("batch", batches, c["batch"], label=[f"batch size: {int(b)}" for b in batches]),
        ],
        curves=[Curve(src, "batch", {k: k for k in cols})],
        points=[Point(mark, {k: k for k in cols})],
        props=[Prop(summary, "text", template=_SUMMARY.replace("{", "{f_"))],
    )
    lookup.wire(fig)
    layout = column(row(c["model"], c["device"]), row(lookup.control("batch"), lookup.control("skew")), fig, summary)
    return layout, table


_SUMMARY = (
    "<b>{model}</b> on <b>{device}</b>, batch {batch}, skew s = {skew}: {ms} ms per token (step {step} ms), {touched}"
    " of {experts} experts touched per MoE layer, {weights} GB of weights read per step. Memory: {memory} GB of"
    " {capacity} GB, {fit}."
)
"""The readout: a template whose fields (:func:`_fields`) are formatted in Python for every row."""


def _fields(table: Any) -> dict[str, list[str]]:
    """The readout's fields for every row of :func:`moe_table` (times in ms, memory in GB)."""
    return {
        "model": table["model"].tolist(),
        "device": table["device"].tolist(),
        "batch": [str(b) for b in table["batch"]],
        "skew": [f"{s:g}" for s in table["zipf_s"]],
        "ms": [f"{x:.3f}" for x in table["ms_per_token"]],
        "step": [f"{x:.2f}" for x in table["step_ms"]],
        "touched": [f"{x:.1f}" for x in table["experts_touched"]],
        "experts": [str(x) for x in table["num_experts"]],
        "weights": [f"{x:.1f}" for x in table["weight_gb"]],
        "memory": [f"{x:.1f}" for x in table["memory_gb"]],
        "capacity": [f"{x:.0f}" for x in table["device_gb"]],
        "fit": ["fits" if f else "<b style='color:#d62728'>does not fit on one device</b>" for f in table["fits"]],
    }
