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
    models: list[str],
    devices: list[str],
    batches: Any = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    skews: Any = (0.0, 0.5, 1.0, 1.5),
    context: int = 1024,
) -> tuple[Any, Any]:
    """Interactive decode time per token of MoE models against batch size: choose the model,
    device, routing skew and a batch size to read off (time per token, experts touched). The
    JavaScript only selects rows of :func:`moe_table` (computed here by the engine). Returns
    (layout, table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, Div, HoverTool, Select, Slider

    from ..viz.plots import _axes

    table = moe_table(models, devices, batches, skews, context)
    devs = [load_hardware(d).name for d in devices]
    n_b = len(batches)
    cols = ("batch", "ms_per_token", "experts_touched", "num_experts", "weight_gb", "step_ms", "memory_gb",
            "device_gb", "fits", "color")  # fmt: skip
    table = table.assign(color=np.where(table["fits"], "#1f77b4", "#d62728"))
    full = ColumnDataSource({k: table[k].to_numpy() for k in cols})
    rows = table.iloc[0:n_b]
    src = ColumnDataSource({k: rows[k].to_numpy() for k in cols}, name="moe-points")
    init_b = 0
    mark = ColumnDataSource({k: rows[k].to_numpy()[init_b : init_b + 1] for k in cols}, name="moe-selected")
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
    r0 = table.iloc[init_b]
    summary = Div(text=_summary(models[0], devs[0], int(batches[init_b]), float(skews[0]), r0))
    c = {
        "model": Select(title="model", value=models[0], options=list(models)),
        "device": Select(title="device", value=devs[0], options=devs),
        "skew": Slider(start=0, end=len(skews) - 1, step=1, value=0, show_value=False),
        "batch": Slider(start=0, end=n_b - 1, step=1, value=init_b, show_value=False),
    }
    c["skew"].title = f"routing skew (Zipf s): {skews[0]:g}"
    c["batch"].title = f"batch size: {batches[init_b]}"
    callback = CustomJS(
        args=dict(
            full=full,
            src=src,
            mark=mark,
            summary=summary,
            c=c,
            models=list(models),
            devs=devs,
            skews=[float(x) for x in skews],
            batches=[int(x) for x in batches],
            cols=list(cols),
        ),  # fmt: skip
        code=_MOE_JS,
    )
    for key, widget in c.items():
        widget.name = f"moe-{key}"
        widget.js_on_change("value", callback)
    fig.js_on_event("document_ready", callback)
    layout = column(row(c["model"], c["device"]), row(c["batch"], c["skew"]), fig, summary)
    return layout, table


_MOE_JS = """
const m = models.indexOf(c.model.value), d = devs.indexOf(c.device.value);
const s = c.skew.value, b = c.batch.value, n = batches.length;
c.skew.title = "routing skew (Zipf s): " + skews[s];
c.batch.title = "batch size: " + batches[b];
const o = ((m * devs.length + d) * skews.length + s) * n;
const F = full.data;
const out = {}, sel = {};
for (const k of cols) { out[k] = F[k].slice(o, o + n); sel[k] = [F[k][o + b]]; }
src.data = out;
mark.data = sel;
summary.text = "<b>" + models[m] + "</b> on <b>" + devs[d] + "</b>, batch " + batches[b] + ", skew s = " +
  skews[s] + ": " + F.ms_per_token[o + b].toFixed(3) + " ms per token (step " + F.step_ms[o + b].toFixed(2) +
  " ms), " + F.experts_touched[o + b].toFixed(1) + " of " + F.num_experts[o + b] +
  " experts touched per MoE layer, " + F.weight_gb[o + b].toFixed(1) + " GB of weights read per step. Memory: " +
  F.memory_gb[o + b].toFixed(1) + " GB of " + F.device_gb[o + b].toFixed(0) + " GB, " +
  (F.fits[o + b] ? "fits" : "<b style='color:#d62728'>does not fit on one device</b>") + ".";
"""


def _summary(model: str, device: str, batch: int, skew: float, r: Any) -> str:
    """The readout as Python writes it at build time; the JS above rewrites it on every change."""
    fit = "fits" if r["fits"] else "<b style='color:#d62728'>does not fit on one device</b>"
    return (
        f"<b>{model}</b> on <b>{device}</b>, batch {batch}, skew s = {skew:g}: {r['ms_per_token']:.3f} ms per token"
        f" (step {r['step_ms']:.2f} ms), {r['experts_touched']:.1f} of {r['num_experts']} experts touched per MoE"
        f" layer, {r['weight_gb']:.1f} GB of weights read per step. Memory: {r['memory_gb']:.1f} GB of"
        f" {r['device_gb']:.0f} GB, {fit}."
    )
