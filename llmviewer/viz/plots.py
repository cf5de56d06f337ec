"""Bokeh figures for the book and for notebooks.

The counting is llmviewer's: every OPs and byte count drawn here comes from the engine. The
interactive figures receive every number they show (times, bounds, attainable performance,
roofs, shares, readouts) computed in Python; their only JavaScript is the generic lookup of
:mod:`llmviewer.viz.lookup`, which decodes and selects rows of those tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..arrays import ratio
from ..engine.analysis import StageResult, count_pass, fits
from ..engine.roofline import peak_for_bits, ridge_point, roofline_time
from ..errors import LLMViewerError
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import load_model
from ..specs.workload import make_pass

KIND_COLORS = {"matmul": "#1f77b4", "fused": "#9467bd", "elementwise": "#ff7f0e"}
UNIT_BITS = (4, 8, 16, 32)
VECTOR = 0  # compute_bits code for element-wise work
_TOOLTIPS = [
    ("layer", "@name (x@count)"),
    ("OPs", "@ops{0.000a}"),
    ("bytes", "@bytes{0.000a}"),
    ("intensity", "@intensity{0.00} OPs/byte"),
    ("bound", "@bound"),
    ("time", "@time_us{%.3g} µs per instance"),
    ("share of stage", "@share"),
]
_FORMATTERS = {"@time_us": "printf"}
"""The layer hover: time to 3 significant digits (:func:`llmviewer.viz.lookup.js_precision` is its
Python twin), the share as text made in Python."""


def show_figure(fig: Any):
    """Display a Bokeh object as ONE small ``text/html`` output (Bokeh's ``components()``,
    no BokehJS): the book serves BokehJS once per page. In a live notebook run
    ``bokeh.io.output_notebook()`` once first so that the page has BokehJS."""
    from bokeh.embed import components
    from IPython.display import HTML

    script, div = components(responsive(fig))
    return HTML(script + "\n" + div)


MAX_WIDTH = 700
"""Widest a book figure grows (px); narrower screens shrink it to the column."""

_COMPACT_TICKS = """
const a = Math.abs(tick);
if (a == 0) return "0";
const units = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
for (const [u, p] of units) {
  if (a >= u) return +(tick / u).toPrecision(3) + p;
}
if (a < 1e-2) return tick.toExponential(0).replace("e-", "e-");
return String(+tick.toPrecision(3));
"""
"""Tick labels: 3 significant digits with k/M/G/T/P suffixes (15k, 20k, 1.2M), small values as 1e-3."""

_LOG_TICKS = """
const lo = Math.min(cb_data.start, cb_data.end), hi = Math.max(cb_data.start, cb_data.end);
if (!(lo > 0) || !(hi > lo)) return [];
const decades = Math.log10(hi / lo);
const mantissas = decades > 2.5 ? [1] : decades > 1 ? [1, 2, 5] : [1, 1.5, 2, 3, 5, 7];
const step = Math.max(1, Math.ceil(decades / 7));
const ticks = [];
for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k += 1) {
  if (mantissas.length == 1 && k % step != 0) continue;
  for (const m of mantissas) {
    const t = Number((m * 10 ** k).toPrecision(3));
    if (t >= lo && t <= hi) ticks.push(t);
  }
}
if (ticks.length >= 2) return ticks;
return [...new Set([lo, Math.sqrt(lo * hi), hi].map((t) => Number(t.toPrecision(3))))];
"""
"""Major ticks of a log axis, evenly spaced in log: 1-2-5 per decade over one to 2.5 decades,
decades (every n-th beyond seven) over more, 1-1.5-2-3-5-7 under one. Bokeh's own LogTicker falls
back to linear ticks below two decades, which crowd at the top of the axis (5k 10k 15k20k)."""

_LOG_MINOR_TICKS = """
const lo = Math.min(cb_data.start, cb_data.end), hi = Math.max(cb_data.start, cb_data.end);
if (!(lo > 0) || !(hi > lo) || Math.log10(hi / lo) > 8) return [];
const ticks = [];
for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k += 1)
  for (let m = 1; m < 10; m += 1) { const t = m * 10 ** k; if (t >= lo && t <= hi) ticks.push(t); }
return ticks;
"""


def _label_sliders(obj: Any) -> None:
    """Bokeh writes a slider's title as "title: " and its value after it; our index sliders
    carry their value in the title ("batch size: 64"), which then ends in a stray colon. Show
    the title in a Div above the slider instead, kept in step by a title-change callback."""
    from bokeh.models import Column, CustomJS, Div, Row, Slider

    for parent in list(obj.select({"type": Row})) + list(obj.select({"type": Column})):
        for i, child in enumerate(parent.children):
            if not isinstance(child, Slider) or child.show_value or not child.title:
                continue
            label = Div(text=child.title, styles={"margin-bottom": "-6px"})
            child.title = ""
            child.js_on_change(
                "title",
                CustomJS(
                    args=dict(label=label), code="if (cb_obj.title) { label.text = cb_obj.title; cb_obj.title = ''; }"
                ),
            )
            parent.children[i] = Column(children=[label, child])


def responsive(obj: Any, max_width: int = MAX_WIDTH) -> Any:
    """Make a Bokeh figure or layout fit the book's column and a 390 px phone: every plot,
    widget and layout stretches to the column width (up to ``max_width``); log axes get ticks
    evenly spaced in log (:data:`_LOG_TICKS`) with compact labels; legends placed right of a plot move below
    it. Called by :func:`show_figure` on every figure of the book."""
    from bokeh.models import (
        Axis,
        CategoricalAxis,
        CustomJSTicker,
        CustomJSTickFormatter,
        LayoutDOM,
        Legend,
        LogAxis,
        NumeralTickFormatter,
        Plot,
    )

    _label_sliders(obj)
    for model in obj.select({"type": LayoutDOM}):
        model.sizing_mode = "stretch_width"
        model.max_width = max_width
        if not isinstance(model, Plot):
            model.width = None
            continue
        model.min_border_right = max(model.min_border_right or 0, 12)
        for legend in [r for r in model.right if isinstance(r, Legend)]:
            model.right.remove(legend)
            model.add_layout(legend, "below")
        for legend in [r for r in model.below if isinstance(r, Legend)]:
            if not legend.tags:  # grow the plot by the legend's height, once, so that the frame keeps its size
                legend.tags = ["below"]
                model.height = (model.height or 400) + 21 * len(legend.items) + 24
        for axis in model.select({"type": Axis}):
            if isinstance(axis, CategoricalAxis):
                continue
            if "year" in str(axis.axis_label or "").lower():  # 2020, not "2.02k"
                axis.formatter = NumeralTickFormatter(format="0")
                continue
            if isinstance(axis, LogAxis):
                axis.ticker = CustomJSTicker(major_code=_LOG_TICKS, minor_code=_LOG_MINOR_TICKS)
            axis.formatter = CustomJSTickFormatter(code=_COMPACT_TICKS)
    return obj


def save_figure_data(label: str, table: pd.DataFrame, folder: str | Path | None = None) -> Path:
    """Write a figure's data to ``<folder>/<label>.csv`` and return the path. ``folder`` defaults
    to ``figures/`` in the working directory (for the book's notebooks: ``chapters/figures``),
    never into the installed package."""
    out = Path(folder) if folder is not None else Path.cwd() / "figures"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{label}.csv"
    table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    return path


@dataclass(frozen=True)
class Precision:
    """A named set of bit widths (weights, activations, KV cache)."""

    label: str
    w_bit: int
    a_bit: int
    kv_bit: int


DEFAULT_PRECISIONS = (
    Precision("W16A16", 16, 16, 16),
    Precision("W8A8", 8, 8, 8),
    Precision("W4A16", 4, 16, 16),
    Precision("W4A16 KV4", 4, 16, 4),
)


def _bits_code(bits: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(VECTOR if bits is None else bits, dtype=float), shape)


def layer_table(
    models: Sequence[str],
    batches: Sequence[int],
    seqlens: Sequence[int],
    precisions: Sequence[Precision] = DEFAULT_PRECISIONS,
    use_flashattention: bool = True,
) -> pd.DataFrame:
    """Per-layer OPs, bytes and compute-unit width for every (model, stage, batch, seqlen,
    precision), device-independent. Rows are grouped by setting in that nested order; the
    stage is prefill (``seqlen``-token prompt) or one decode step (``seqlen`` cached tokens).
    ``compute_bits`` 0 means vector units. One vectorised engine call per model and precision."""
    b = np.asarray(batches, dtype=float)[:, None]
    s = np.asarray(seqlens, dtype=float)[None, :]
    shape = (len(batches), len(seqlens))
    frames = []
    for name, stage, q in itertools.product(models, ("prefill", "decode"), precisions):
        m = load_model(name)
        kw = dict(w_bit=q.w_bit, a_bit=q.a_bit, kv_bit=q.kv_bit, flash_attention=use_flashattention)
        p = make_pass(b, s, 0, 1, **kw) if stage == "prefill" else make_pass(b, 1, s, 1, absorb_mla=True, **kw)
        for li, (op, t, bits) in enumerate(count_pass(m, p)):
            frames.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "stage": stage,
                        "batch": np.broadcast_to(b, shape).ravel().astype(int),
                        "seqlen": np.broadcast_to(s, shape).ravel().astype(int),
                        "precision": q.label,
                        "layer_order": li,
                        "layer": op.name,
                        "kind": op.kind,
                        "count": op.count,
                        "OPs": np.broadcast_to(t.OPs, shape).ravel(),
                        "memory_access": np.broadcast_to(t.memory_access, shape).ravel(),
                        "compute_bits": _bits_code(bits, shape).ravel().astype(int),
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    ranks = [
        table["model"].map({n: i for i, n in enumerate(models)}),
        table["stage"].map({"prefill": 0, "decode": 1}),
        table["batch"].map({int(v): i for i, v in enumerate(batches)}),
        table["seqlen"].map({int(v): i for i, v in enumerate(seqlens)}),
        table["precision"].map({q.label: i for i, q in enumerate(precisions)}),
        table["layer_order"],
    ]
    order = np.lexsort([r.to_numpy() for r in reversed(ranks)])
    return table.iloc[order].reset_index(drop=True)


def _peak_or_nan(hw: Hardware, bits: int) -> float:
    """The peak (OPs/s) for ``bits``-wide operands, NaN where the device lists no peak that wide."""
    try:
        return float(peak_for_bits(hw, bits))
    except LLMViewerError:
        return float("nan")


def device_table(devices: Sequence[str | Hardware]) -> pd.DataFrame:
    """Memory bandwidth (bytes/s) and the peak (OPs/s) used for each compute-unit width (NaN where
    the device has no units that wide, e.g. no 32-bit peak)."""
    rows = []
    for d in devices:
        hw = load_hardware(d)
        row = {"device": hw.name, "memory_bandwidth": hw.memory_bandwidth, "memory_bytes": hw.memory_bytes}
        row.update({f"peak_{w}bit": _peak_or_nan(hw, w) for w in UNIT_BITS})
        row["peak_vector"] = hw.vector_peak
        rows.append(row)
    return pd.DataFrame(rows)


def _axes(title: str, x_label: str, y_label: str, log_x: bool = True, log_y: bool = True, **kw: Any):
    from bokeh.plotting import figure

    fig = figure(
        title=title,
        x_axis_type="log" if log_x else "linear",
        y_axis_type="log" if log_y else "linear",
        width=kw.pop("width", 660),
        height=kw.pop("height", 420),
        tools="pan,wheel_zoom,box_zoom,reset,save",
        toolbar_location="above",
        **kw,
    )
    fig.xaxis.axis_label = x_label
    fig.yaxis.axis_label = y_label
    return fig


def _roof_lines(bandwidth: float, peaks: dict[str, float], x_range: tuple[float, float]) -> dict[str, list]:
    """Polylines of the memory roof meeting each compute roof in ``peaks`` (label -> OPs/s)."""
    xs, ys, labels = [], [], []
    for name, peak in peaks.items():
        ridge = ridge_point(peak, bandwidth)
        lo = min(x_range[0], ridge)
        xs.append([lo, ridge, max(x_range[1], ridge)])
        ys.append([lo * bandwidth, peak, peak])
        labels.append(f"{name} roof: {peak / 1e12:.4g} TOPS, ridge {ridge:.3g} OPs/B")
    return {"xs": xs, "ys": ys, "label": labels}


def _unit_peaks(dev: pd.Series, bits_used: Any) -> dict[str, float]:
    return {
        ("vector" if not w else f"{w}-bit"): (dev[f"peak_{w}bit"] if w else dev["peak_vector"])
        for w in sorted(set(bits_used) | {0})
    }


def _points(name, kind, count, ops, nbytes, intensity, perf, bound, time) -> dict[str, Any]:
    """Columns of the layer markers: position, hover fields, colour and a size growing with
    the layer's share of the stage time."""
    count = np.asarray(count)
    stage_share = np.asarray(time) * count / float((np.asarray(time) * count).sum())
    return {
        "name": list(name),
        "kind": list(kind),
        "color": [KIND_COLORS[k] for k in kind],
        "count": count.tolist(),
        "ops": list(ops),
        "bytes": list(nbytes),
        "intensity": np.maximum(intensity, 1e-3).tolist(),
        "perf": np.maximum(perf, 1e6).tolist(),
        "bound": list(bound),
        "time_us": (np.asarray(time) * 1e6).tolist(),
        "share": [_share_text(x) for x in stage_share],
        "size": _marker_size(stage_share).tolist(),
    }


def _layer_times(rows: pd.DataFrame, dev: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Seconds and bound of each row of :func:`layer_table` on one device (the engine's roofline)."""
    peaks = np.array([dev["peak_vector"] if b == VECTOR else dev[f"peak_{b}bit"] for b in rows["compute_bits"]])
    return roofline_time(rows["OPs"].to_numpy(), rows["memory_access"].to_numpy(), peaks, dev["memory_bandwidth"])


def roofline_explorer(
    models: Sequence[str] | None = None,
    devices: Sequence[str] = ("A100-SXM4-80GB", "H100-SXM5-80GB"),
    batches: Sequence[int] = (1, 4, 16, 64, 256, 1024),
    seqlens: Sequence[int] = (128, 512, 2048, 8192, 32768),
    precisions: Sequence[Precision] = DEFAULT_PRECISIONS,
    use_flashattention: bool = True,
    initial: dict[str, Any] | None = None,
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """Interactive roofline (:func:`roofline_lookup`, which also returns its lookup): returns
    (Bokeh layout, layer table, device table)."""
    out = roofline_lookup(models, devices, batches, seqlens, precisions, use_flashattention, initial)
    return out[0], out[2], out[3]


def roofline_lookup(
    models: Sequence[str] | None = None,
    devices: Sequence[str] = ("A100-SXM4-80GB", "H100-SXM5-80GB"),
    batches: Sequence[int] = (1, 4, 16, 64, 256, 1024),
    seqlens: Sequence[int] = (128, 512, 2048, 8192, 32768),
    precisions: Sequence[Precision] = DEFAULT_PRECISIONS,
    use_flashattention: bool = True,
    initial: dict[str, Any] | None = None,
) -> tuple[Any, Any, pd.DataFrame, pd.DataFrame]:
    """Interactive roofline: choose model, device, stage, batch, sequence length and precision;
    each layer's point moves on the device's roofline and its hover shows OPs, bytes,
    intensity, bound and time. ``models`` default: every shipped model
    (:func:`llmviewer.viz.lookup.registry_models`). Every number the page shows is computed here
    (:func:`explorer_table`: each layer's time, attainable performance and bound on every device,
    its share of the stage time, the roofs, the readout); the page's JavaScript is the generic
    lookup (:mod:`llmviewer.viz.lookup`). Returns (Bokeh layout, its
    :class:`~llmviewer.viz.lookup.Lookup`, layer table, device table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Div, HoverTool, RadioButtonGroup, Select

    from .lookup import Axis, Curve, Lookup, Prop, index_slider, registry_models

    models = list(models) if models is not None else registry_models()
    layers = layer_table(models, batches, seqlens, precisions, use_flashattention)
    devs = device_table(devices)
    init = {"model": 0, "device": 0, "stage": 1, "batch": 0, "seqlen": 2, "precision": 0, **(initial or {})}
    table, n_layers, n_roofs = explorer_table(layers, devs, models, batches, seqlens, precisions, use_flashattention)
    points = ColumnDataSource({k: [] for k in _POINT_COLUMNS}, name="explorer-points")
    roofs = ColumnDataSource({k: [] for k in ("x0", "y0", "x1", "y1", "label")}, name="explorer-roofs")
    fig = _axes("", "arithmetic intensity (OPs/byte)", "attainable performance (OPs/s)", x_range=_X_RANGE)
    roof_lines = fig.segment("x0", "y0", "x1", "y1", source=roofs, line_width=2, color="#444444", legend_field="label")
    fig.y_range.renderers = [roof_lines]  # the roofs set the vertical range; zero-OP layers fall off it
    glyph = fig.scatter("intensity", "perf", size="size", color="color", alpha=0.75, source=points)
    fig.add_tools(HoverTool(renderers=[glyph], tooltips=_TOOLTIPS, formatters=_FORMATTERS))
    # The roof labels go below the plot, outside its frame: inside it, at phone width they cover
    # the memory slope where low-intensity layers sit. One row per roof the settings can draw.
    legend = fig.legend[0]
    fig.center.remove(legend)
    legend.label_text_font_size = "9pt"
    legend.location = "center"  # centred under the frame at desktop width too
    legend.tags = ["below"]  # sized here: :func:`responsive` counts items, and this one item is a field
    fig.add_layout(legend, "below")
    fig.height += 21 * (n_roofs // 2) + 24
    summary = Div(text="", name="explorer-summary")
    controls = {
        "model": Select(title="model", value=models[init["model"]], options=list(models)),
        "device": Select(title="device", value=devs["device"][init["device"]], options=devs["device"].tolist()),
        "stage": RadioButtonGroup(labels=["prefill", "decode step"], active=init["stage"]),
        "precision": RadioButtonGroup(labels=[q.label for q in precisions], active=init["precision"]),
        "batch": index_slider(batches, init["batch"]),
        "seqlen": index_slider(seqlens, init["seqlen"]),
    }
    for key, widget in controls.items():
        widget.name = f"explorer-{key}"  # stable handles for tests and for readers' scripts
    lookup = Lookup(
        table,
        [
            Axis("model", models, controls["model"]),
            Axis("device", devs["device"].tolist(), controls["device"]),
            Axis("stage", ("prefill", "decode"), controls["stage"]),
            Axis("batch", batches, controls["batch"], label=[f"batch size: {b}" for b in batches]),
            Axis("seqlen", seqlens, controls["seqlen"], label=[f"sequence length: {s}" for s in seqlens]),
            Axis("precision", [q.label for q in precisions], controls["precision"]),
            Axis("layer", range(n_layers)),
            Axis("roof", range(n_roofs)),
        ],
        curves=[Curve(points, "layer", {k: k for k in _POINT_COLUMNS}), Curve(roofs, "roof", _ROOF_COLUMNS)],
        props=[Prop(summary, "text", template=_SUMMARY)],
        encode=EXPLORER_ENCODING,
        shared=EXPLORER_SHARED,
    )
    lookup.wire(fig)
    layout = column(
        row(controls["model"], controls["device"]),
        controls["stage"],  # button groups one per line: side by side they overflow a phone
        controls["precision"],
        row(lookup.control("batch"), lookup.control("seqlen")),
        fig,
        Div(text=colour_key()),
        summary,
    )
    return layout, lookup, layers, devs


_X_RANGE = (1e-1, 1e5)
_POINT_COLUMNS = ("name", "kind", "color", "count", "ops", "bytes", "intensity", "perf", "bound", "time_us", "share",
                  "size")  # fmt: skip
_ROOF_COLUMNS = {"x0": "roof_x0", "y0": "roof_y0", "x1": "roof_x1", "y1": "roof_y1", "label": "roof_label"}


def _time_us_text(x: float) -> str:
    from .lookup import js_precision

    return js_precision(x, 3)


def _explorer_encoding():
    from .lookup import Log16, Shared

    encoding = {"time_us": Log16(render=_time_us_text), "perf": Log16()}
    shared = (
        Shared(("ops", "bytes", "intensity", "time_us", "perf", "bound"), ("device",)),
        Shared(("share", "size"), ("layer",)),
    )
    return encoding, shared


EXPLORER_ENCODING, EXPLORER_SHARED = _explorer_encoding()
"""How :func:`roofline_explorer` sends its table: times (µs, shown to 3 significant digits) and
attainable performance as :class:`~llmviewer.viz.lookup.Log16` codes; an operator's counts, time,
performance and bound once per distinct operator (with one value per device), each setting's
shares once per distinct set of shares."""


def explorer_table(
    layers: pd.DataFrame,
    devs: pd.DataFrame,
    models: Sequence[str],
    batches: Sequence[int],
    seqlens: Sequence[int],
    precisions: Sequence[Precision],
    flash: bool,
) -> tuple[dict[str, np.ndarray], int, int]:
    """Everything :func:`roofline_explorer` shows, on its grid (model, device, stage, batch, seqlen,
    precision, layer slot, roof segment; each column an array broadcastable to it): per layer its
    name, kind, colour, instances, OPs, bytes, intensity (OPs/byte, at least 1e-3 to stay on the
    log axis) and on each device the engine's time (``time_us``, µs per instance), attainable
    performance (OPs/s, at least 1e6) and bound, its share of the stage time (text) and marker size;
    each device's roof segments (memory roof and the compute roof of each unit width the setting
    uses) with their legend; the readout fields. Slots past a model's last layer are empty
    (NaN, ""). Returns (table, layer slots, roof segments)."""
    M, D, B, S, Q = len(models), len(devs), len(batches), len(seqlens), len(precisions)
    n_layers = int(layers["layer_order"].max()) + 1
    at = (
        layers["model"].map({n: i for i, n in enumerate(models)}).to_numpy(),
        layers["stage"].map({"prefill": 0, "decode": 1}).to_numpy(),
        layers["batch"].map({b: i for i, b in enumerate(batches)}).to_numpy(),
        layers["seqlen"].map({s: i for i, s in enumerate(seqlens)}).to_numpy(),
        layers["precision"].map({q.label: i for i, q in enumerate(precisions)}).to_numpy(),
        layers["layer_order"].to_numpy(),
    )
    shape = (M, 1, 2, B, S, Q, n_layers, 1)  # a layer's own fields, the same on every device

    def grid(values: Any, fill: Any, dtype: Any = float) -> np.ndarray:
        out = np.full((M, 2, B, S, Q, n_layers), fill, dtype=dtype)
        out[at] = values
        return out.reshape(shape)

    ops, nbytes = layers["OPs"].to_numpy(np.float64), layers["memory_access"].to_numpy(np.float64)
    count = layers["count"].to_numpy(np.float64)
    table: dict[str, Any] = {
        "name": grid(layers["layer"].to_numpy(object), "", object),
        "kind": grid(layers["kind"].to_numpy(object), "", object),
        "color": grid(layers["kind"].map(KIND_COLORS).to_numpy(object), "", object),
        "count": grid(count, 0.0),
        "ops": grid(ops, np.nan),
        "bytes": grid(nbytes, np.nan),
        "intensity": grid(np.maximum(ratio(ops, nbytes), 1e-3), np.nan),
    }
    per_dev = {k: [] for k in ("time_us", "perf", "bound", "share", "size")}
    totals = np.empty((D, M, 2, B, S, Q))
    for d in range(D):
        time, bound = _layer_times(layers, devs.iloc[d])
        t = grid(time, np.nan)[:, 0, ..., 0]  # (M, 2, B, S, Q, layer)
        spent = np.nan_to_num(t * grid(count, 0.0)[:, 0, ..., 0])
        total = np.zeros(t.shape[:-1])
        for j in range(n_layers):  # in layer order, as the engine sums a pass
            total = total + spent[..., j]
        totals[d] = total
        share = np.where(np.isnan(t), np.nan, spent / total[..., None])
        per_dev["time_us"].append(t * 1e6)
        per_dev["perf"].append(np.maximum(grid(ratio(ops, time), np.nan)[:, 0, ..., 0], 1e6))
        per_dev["bound"].append(grid(np.asarray(bound, dtype=object), "", object)[:, 0, ..., 0])
        per_dev["share"].append(np.vectorize(_share_text, otypes=[object])(share))
        per_dev["size"].append(_marker_size(share))
    for k, v in per_dev.items():
        table[k] = np.stack(v, axis=1)[..., None]  # (M, D, 2, B, S, Q, layer, 1)
    roofs = _explorer_roofs(layers, devs, at, (M, 2, B, S, Q))
    n_roofs = roofs["roof_x0"].shape[-1]
    table.update(roofs)
    readouts = _explorer_readouts(totals, devs, models, batches, seqlens, precisions, flash)
    table.update({k: np.asarray(v).reshape(M, D, 2, B, S, Q, 1, 1) for k, v in readouts.items()})
    return table, n_layers, n_roofs


def _share_text(share: float) -> str:
    """A layer's share of the stage time as the hover shows it: whole percent, "<1%" below 0.5%."""
    if not np.isfinite(share):
        return ""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def _marker_size(share: Any) -> np.ndarray:
    """Marker diameter (px) of a layer whose share of the stage time is ``share``: its area grows
    with the share shown (whole percent), 8 px at 0 to 30 px at 100%, in half pixels."""
    shown = np.round(np.nan_to_num(np.asarray(share, dtype=float)), 2)
    return np.round(2 * (8 + 22 * np.sqrt(shown))) / 2


def _explorer_roofs(layers: pd.DataFrame, devs: pd.DataFrame, at: tuple, shape: tuple) -> dict[str, np.ndarray]:
    """Roof segments of every (model, device, stage, batch, seqlen, precision): the memory roof up to
    each unit width's ridge and that width's compute roof (:func:`_roof_lines`), two segments per
    width the setting's layers use (vector units always); unused segments repeat the first."""
    setting = np.ravel_multi_index(at[:5], shape)
    bits = pd.DataFrame({"setting": setting, "bits": layers["compute_bits"].to_numpy()})
    used = bits.groupby("setting")["bits"].agg(lambda b: tuple(sorted(set(b) | {VECTOR})))
    n_seg = 2 * max(len(u) for u in used)
    cols = {k: np.empty((len(devs), int(np.prod(shape)), n_seg), dtype=object if k == "roof_label" else float)
            for k in ("roof_x0", "roof_y0", "roof_x1", "roof_y1", "roof_label")}  # fmt: skip
    for d in range(len(devs)):
        dev = devs.iloc[d]
        for widths in set(used):
            lines = _roof_lines(dev["memory_bandwidth"], _unit_peaks(dev, widths), _X_RANGE)
            seg = []
            for xs, ys, label in zip(lines["xs"], lines["ys"], lines["label"], strict=True):
                seg += [(xs[0], ys[0], xs[1], ys[1], label), (xs[1], ys[1], xs[2], ys[2], label)]
            seg += [seg[0]] * (n_seg - len(seg))
            where = [s for s, u in used.items() if u == widths]
            for j, key in enumerate(("roof_x0", "roof_y0", "roof_x1", "roof_y1", "roof_label")):
                cols[key][d, where, :] = [s[j] for s in seg]
    M, _, B, S, Q = shape
    return {k: np.moveaxis(v.reshape(len(devs), M, 2, B, S, Q, 1, n_seg), 0, 1) for k, v in cols.items()}


_SUMMARY = (
    "<b>{model}</b> on one <b>{device}</b>, {stage}: whole model {total} {total_unit}. Memory: {needed} GB of "
    "{capacity} GB, {fit} (FlashAttention {flash})."
)


def _explorer_readouts(totals, devs, models, batches, seqlens, precisions, flash) -> dict[str, Any]:
    """The roofline explorer's readout fields for every (model, device, stage, batch, seqlen,
    precision), C order: whole-model time of the stage on that device (``totals``, seconds, by
    device first: the sum of every layer's :func:`roofline_time` x instances), memory needed and
    the device's capacity (GB)."""
    need = np.zeros((len(models), len(batches), len(seqlens), len(precisions)))
    for i, name in enumerate(models):
        for k, q in enumerate(precisions):
            need[i, :, :, k] = fits(name, devs["device"][0], batch_size=np.asarray(batches)[:, None],
                                    seqlen=np.asarray(seqlens)[None, :], w_bit=q.w_bit, a_bit=q.a_bit, kv_bit=q.kv_bit,
                                    use_flashattention=flash).needed  # fmt: skip
    total = np.moveaxis(totals, 0, 1)  # (model, device, stage, batch, seqlen, precision)
    grid = total.shape
    needed = np.broadcast_to(need[:, None, None], grid)
    cap = np.broadcast_to(devs["memory_bytes"].to_numpy(float)[None, :, None, None, None, None], grid)
    idx = np.indices(grid).reshape(len(grid), -1)
    fit = np.where(needed <= cap, "fits", "<b style='color:#d62728'>does not fit</b>").ravel()
    return {
        "model": np.asarray(models, dtype=object)[idx[0]],
        "device": devs["device"].to_numpy(dtype=object)[idx[1]],
        "stage": np.array(["prefill", "decode step"], dtype=object)[idx[2]],
        "total": [_time_number(float(x)) for x in total.ravel()],
        "total_unit": np.where(total.ravel() >= 1, "s", "ms"),
        "needed": [f"{x / 1e9:.1f}" for x in needed.ravel()],
        "capacity": [f"{x / 1e9:.0f}" for x in cap.ravel()],
        "fit": fit,
        "flash": np.full(idx.shape[1], "on" if flash else "off", dtype=object),
    }


def _time_number(seconds: float) -> float:
    """4 significant digits, in s from one second up, else in ms (as a number, which the page writes
    with JavaScript's shortest digits: exactly those 4 digits, see :func:`time_text`)."""
    return float(f"{seconds:.4g}") if seconds >= 1 else float(f"{seconds * 1e3:.4g}")


def time_text(seconds: float) -> str:
    """The explorer's readout of a whole-model time: :func:`_time_number` and its unit, as the page writes it."""
    from .lookup import js_number

    return f"{js_number(_time_number(seconds))} {'s' if seconds >= 1 else 'ms'}"


def colour_key() -> str:
    """HTML key of the operator colours (:data:`KIND_COLORS`); marker area grows with the
    operator's share of the stage time."""
    names = {"matmul": "matrix product", "fused": "fused attention", "elementwise": "element-wise"}
    keys = " ".join(f"<span style='color:{c}'>&#9679;</span> {names.get(k, k)}" for k, c in KIND_COLORS.items())
    return f"<small>Colour: {keys}; marker area: share of the stage time.</small>"


def roofline_figure(result: StageResult, hardware: Hardware, title: str = "") -> Any:
    """Static roofline of one analysed stage: every operator at its intensity and attainable
    performance on ``hardware``, marker area growing with its share of the stage time."""
    from bokeh.models import ColumnDataSource, HoverTool

    rows = result.to_records()
    col = {k: [r[k] for r in rows] for k in rows[0]}
    x_range = (1e-1, 1e5)
    fig = _axes(title, "arithmetic intensity (OPs/byte)", "attainable performance (OPs/s)", x_range=x_range)
    peaks = {
        d: (hardware.vector_peak if d == "vector" else hardware.peak(d)) for d in dict.fromkeys(col["compute_dtype"])
    }
    roofs = _roof_lines(hardware.memory_bandwidth, peaks, x_range)
    fig.multi_line("xs", "ys", source=ColumnDataSource(roofs), line_width=2, color="#444444", legend_field="label")
    pts = _points(
        col["name"],
        col["kind"],
        col["count"],
        col["OPs"],
        col["memory_access"],
        np.asarray(col["arithmetic_intensity"]),
        np.asarray(col["performance"]),
        col["bound"],
        col["inference_time"],
    )
    glyph = fig.scatter("intensity", "perf", size="size", color="color", alpha=0.75, source=ColumnDataSource(pts))
    fig.add_tools(HoverTool(renderers=[glyph], tooltips=_TOOLTIPS, formatters=_FORMATTERS))
    fig.legend.location = "bottom_right"
    return fig


def line_figure(
    table: pd.DataFrame,
    x: str,
    y: str,
    by: str,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    log_x: bool = True,
    log_y: bool = True,
    hlines: dict[str, float] | None = None,
    fits: str | None = None,
) -> Any:
    """One line per value of ``by``, with hover; ``hlines`` adds labelled horizontal levels.
    ``fits``: a boolean column (from :func:`llmviewer.fits`); points where it is False get a red
    cross and the legend entry "does not fit in memory"."""
    from bokeh.models import ColumnDataSource, HoverTool, Span
    from bokeh.palettes import Category10_10

    fig = _axes(title, x_label or x, y_label or y, log_x, log_y)
    for color, (key, grp) in zip(itertools.cycle(Category10_10), table.groupby(by, sort=False), strict=False):
        src = ColumnDataSource({"x": grp[x].to_numpy(), "y": grp[y].to_numpy(), "label": [str(key)] * len(grp)})
        fig.line("x", "y", source=src, color=color, line_width=2, legend_label=str(key))
        fig.scatter("x", "y", source=src, color=color, size=5)
    if fits is not None and not table[fits].all():
        bad = table[~table[fits].astype(bool)]
        fig.scatter(bad[x].to_numpy(), bad[y].to_numpy(), marker="x", size=11, line_width=2, color="#d62728",
                    legend_label="does not fit in memory")  # fmt: skip
    fig.add_tools(HoverTool(tooltips=[(by, "@label"), (x_label or x, "@x{0.[00]a}"), (y_label or y, "@y{0.000a}")]))
    for i, (label, level) in enumerate((hlines or {}).items()):
        color = Category10_10[(i + 3) % 10]
        fig.add_layout(Span(location=level, dimension="width", line_dash="dashed", line_color=color))
        fig.scatter([table[x].min()], [level], color=color, marker="dash", size=1, legend_label=label)
    fig.legend.click_policy = "hide"
    fig.add_layout(fig.legend[0], "right")
    return fig


def stacked_bars(table: Any, x: str, parts: list[str], title: str = "", y_label: str = "", hline: float | None = None):
    """A Bokeh stacked bar chart: one bar per row of ``table`` (categories from column ``x``),
    stacking the columns ``parts``; ``hline`` draws a dashed level (e.g. a device's capacity)."""
    from bokeh.models import ColumnDataSource, HoverTool, Span
    from bokeh.palettes import Category10_10
    from bokeh.plotting import figure

    cats = [str(v) for v in table[x]]
    src = ColumnDataSource({"x": cats, **{p: table[p].to_numpy() for p in parts}})
    fig = figure(x_range=cats, height=340, width=640, title=title, y_axis_label=y_label, toolbar_location=None)
    fig.vbar_stack(parts, x="x", source=src, width=0.6, color=list(Category10_10[: len(parts)]), legend_label=parts)
    fig.add_tools(HoverTool(tooltips=[(x, "@x"), *[(p, f"@{p}{{0.00}}") for p in parts]]))
    fig.y_range.start = 0
    if hline is not None:
        fig.add_layout(Span(location=hline, dimension="width", line_dash="dashed", line_color="red"))
        top = float(np.nanmax(np.sum([table[p].to_numpy(dtype=float) for p in parts], axis=0)))
        fig.y_range.end = 1.08 * max(top, hline)  # the level stays on the plot even above every bar
    fig.legend.location = "top_right"
    return fig


def device_rooflines(devices: Sequence[str | Hardware], bits: int = 16, x_range: tuple[float, float] = (0.1, 1e4)):
    """Rooflines of several devices for ``bits``-bit operands. Returns (figure, table of the
    polyline points: device, intensity in OPs/byte, attainable OPs/s)."""
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.palettes import Category10_10

    rows = []
    for d in devices:
        hw = load_hardware(d)
        lines = _roof_lines(hw.memory_bandwidth, {f"{bits}-bit": peak_for_bits(hw, bits)}, x_range)
        rows += [
            {"device": hw.name, "intensity": x, "performance": y}
            for x, y in zip(lines["xs"][0], lines["ys"][0], strict=True)
        ]
    table = pd.DataFrame(rows)
    fig = _axes("", "arithmetic intensity (OPs/byte)", f"attainable {bits}-bit performance (OPs/s)")
    for color, (name, grp) in zip(itertools.cycle(Category10_10), table.groupby("device", sort=False), strict=False):
        src = ColumnDataSource({"x": grp["intensity"], "y": grp["performance"], "device": [name] * len(grp)})
        fig.line("x", "y", source=src, color=color, line_width=2, legend_label=name)
        fig.scatter("x", "y", source=ColumnDataSource({k: v[1:2] for k, v in src.data.items()}), color=color, size=8)
    fig.add_tools(HoverTool(tooltips=[("device", "@device"), ("intensity", "@x{0.0}"), ("OPs/s", "@y{0.000a}")]))
    fig.legend.click_policy = "hide"
    fig.add_layout(fig.legend[0], "right")
    return fig, table


def scatter_figure(
    table: pd.DataFrame, x: str, y: str, label: str, title: str = "", x_label: str = "", y_label: str = ""
):
    """Labelled log-log scatter, one point per row, hover shows ``label``, ``x`` and ``y``."""
    from bokeh.models import ColumnDataSource, HoverTool, LabelSet

    src = ColumnDataSource(
        {"x": table[x].to_numpy(), "y": table[y].to_numpy(), "label": table[label].astype(str).to_numpy()}
    )
    fig = _axes(title, x_label or x, y_label or y, width=330, height=360)
    fig.scatter("x", "y", source=src, size=8, color="#1f77b4")
    if len(table) <= 6:  # few points: label them; more would overlap, hover names them
        fig.add_layout(LabelSet(x="x", y="y", text="label", source=src, text_font_size="7pt", x_offset=4, y_offset=2))
    fig.add_tools(HoverTool(tooltips=[(label, "@label"), (x, "@x{0.000a}"), (y, "@y{0.000a}")]))
    return fig


def is_time_metric(metric: pd.Series) -> np.ndarray:
    """True for metrics in seconds (``ttft_s``, ``tpot_s``, ``e2e_latency_s``), False for rates
    (``*_tok_s``, tokens per second)."""
    return (metric.str.endswith("_s") & ~metric.str.endswith("_tok_s")).to_numpy()


def prediction_scatter(evaluated: pd.DataFrame, title: str = "") -> Any:
    """Predicted against measured speed for every modelled measurement, pure roofline and
    calibrated estimate side by side (one point per row, coloured by source; hollow markers
    for held-out sources). Speeds are normalised to 1/seconds or tokens/s as the source
    reports them, so the diagonal is a perfect prediction."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.palettes import Category10_10

    rows = evaluated[evaluated["skip"].isna()]
    measured = np.where(is_time_metric(rows["metric"]), 1 / rows["value"], rows["value"])
    colors = dict(zip(sorted(rows["source_id"].unique()), itertools.cycle(Category10_10), strict=False))
    lo, hi = float(np.nanmin(measured)) / 3, float(np.nanmax(measured)) * 3
    figures = []
    for kind, label in (("pure", "pure roofline"), ("calibrated", "calibrated estimate")):
        predicted = measured * rows[f"{kind}_ratio"].to_numpy()
        fig = _axes(f"{label}", "measured speed (1/s or tokens/s)", "predicted speed (1/s or tokens/s)", height=380,
                    x_range=(lo, hi), y_range=(lo, hi))  # fmt: skip
        fig.line([lo, hi], [lo, hi], color="#444444", line_dash="dashed")
        for source, grp in rows.assign(measured=measured, predicted=predicted).groupby("source_id"):
            held = grp["split"] == "held-out"
            src = ColumnDataSource(
                {
                    "x": grp["measured"],
                    "y": grp["predicted"],
                    "source": grp["source_id"],
                    "what": grp["model_config"] + " on " + grp["hw"] + ", " + grp["precision"] + ", " + grp["metric"],
                    "setting": "batch "
                    + grp["batch"].round().astype(int).astype(str)
                    + ", in/out "
                    + grp["input_len"].astype(int).astype(str)
                    + "/"
                    + grp["output_len"].astype(int).astype(str),
                    "error": grp[f"{kind}_error"],
                    "fill": np.where(held, "white", colors[source]),
                }
            )
            legend = {"legend_label": source} if kind == "pure" else {}
            fig.scatter("x", "y", source=src, color=colors[source], fill_color="fill", size=6, alpha=0.8, **legend)
        fig.add_tools(HoverTool(tooltips=[("source", "@source"), ("case", "@what"), ("", "@setting"),
                                          ("measured", "@x{0.000a}"), ("predicted", "@y{0.000a}"),
                                          ("time error", "@error{0.0%}")]))  # fmt: skip
        figures.append(fig)
    legend = figures[0].legend[0]
    figures[0].center.remove(legend)
    legend.label_text_font_size = "8pt"
    legend.click_policy = "hide"
    figures[0].add_layout(legend, "below")  # outside the plot area: it covers no point
    return column(*figures)


CHOOSER_METRICS = {
    "throughput": "throughput (tokens/s)",
    "ttft": "time to first token (ms)",
    "tpot_mean": "time per output token (ms)",
}


def device_chooser(
    models: Sequence[str],
    batches: Sequence[int] = (1, 4, 16, 64, 256),
    precisions: Sequence[Precision] = (),
    prompt_len: int = 1024,
    gen_len: int = 256,
    devices: Sequence[str] | None = None,
    initial: dict[str, int] | None = None,
) -> tuple[Any, pd.DataFrame]:
    """Interactive device ranking: choose model, precision, metric and batch size; every device
    of the library (or ``devices``) appears as a bar at its rank, computed by
    :func:`llmviewer.studies.compare.rank_devices` for each combination (the JavaScript only selects
    those rows). Devices that cannot hold the task are grey and rank last. Returns (Bokeh
    layout, the table: model, precision, batch, device, ttft/tpot_mean in s, throughput, fits
    and the rank by each metric). The page only looks rows up (:class:`llmviewer.viz.lookup.Lookup`)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Div, HoverTool, LabelSet, RadioButtonGroup, Range1d, Select

    from ..studies.compare import rank_devices
    from .lookup import Axis, Curve, Lookup, Prop, index_slider

    precisions = tuple(precisions) or DEFAULT_PRECISIONS[:3]
    init = {"model": 0, "precision": 0, "metric": 0, "batch": 0, **(initial or {})}
    parts = []
    for m in models:
        for q in precisions:
            for b in batches:
                t = rank_devices(
                    m, devices, batch_size=b, prompt_len=prompt_len, gen_len=gen_len,
                    w_bit=q.w_bit, a_bit=q.a_bit, kv_bit=q.kv_bit, use_flashattention=True,
                )  # fmt: skip
                t = t.sort_values("device", kind="stable", ignore_index=True)
                for metric, smaller in (("throughput", False), ("ttft", True), ("tpot_mean", True)):
                    order = t.sort_values(["fits", metric], ascending=[False, smaller], kind="stable").index
                    t.loc[order, f"rank_{metric}"] = np.arange(1, len(t) + 1)
                parts.append(t.assign(model=m, precision=q.label, batch=b))
    table = pd.concat(parts, ignore_index=True)
    cols = ["model", "precision", "batch", "device", "ttft", "tpot_mean", "throughput", "fits"]
    table = table[cols + [f"rank_{k}" for k in CHOOSER_METRICS]]
    table = table.astype({f"rank_{k}": int for k in CHOOSER_METRICS})
    n_dev = table["device"].nunique()
    names = table["device"].iloc[:n_dev].tolist()  # the same sorted device order in every block
    metrics = list(CHOOSER_METRICS)
    titles = list(CHOOSER_METRICS.values())
    shape = (len(models), len(precisions), len(batches), n_dev)  # the table's order
    grid = (len(models), len(precisions), len(metrics), len(batches), n_dev)  # the explorer's

    def per_metric(values: list[np.ndarray]) -> np.ndarray:  # (M, Q, B, D) per metric -> (M, Q, K, B, D)
        return np.stack([v.reshape(shape) for v in values], axis=2).ravel()

    value = per_metric([table[k].to_numpy(np.float64) * (1 if k == "throughput" else 1e3) for k in metrics])
    fits_ = np.broadcast_to(table["fits"].to_numpy(bool).reshape(shape)[:, :, None], grid).ravel()
    rank = per_metric([table[f"rank_{k}"].to_numpy(np.int16) for k in metrics])
    device = np.broadcast_to(np.asarray(names, dtype=object), grid).ravel()
    vmax = np.broadcast_to(value.reshape(grid).max(axis=-1, keepdims=True), grid).ravel()
    best = np.asarray(names, dtype=object)[np.argmin(rank.reshape(grid), axis=-1)]
    idx = np.indices(grid).reshape(len(grid), -1)
    columns = {
        "y": rank,
        "value": value,
        "device": device,
        "label": np.where(fits_, device, device + " (does not fit)"),
        "color": np.where(fits_, "#1f77b4", "#bbbbbb"),
        "ttft": np.broadcast_to((table["ttft"].to_numpy(np.float64) * 1e3).reshape(shape)[:, :, None], grid).ravel(),
        "tpot": np.broadcast_to(
            (table["tpot_mean"].to_numpy(np.float64) * 1e3).reshape(shape)[:, :, None], grid
        ).ravel(),  # fmt: skip
        "tput": np.broadcast_to(table["throughput"].to_numpy(np.float64).reshape(shape)[:, :, None], grid).ravel(),
        "fits": np.where(fits_, "yes", "no"),
        "x_end": vmax * 1.45,
        "title": np.asarray(titles, dtype=object)[idx[2]],
        "f_model": np.asarray(models, dtype=object)[idx[0]],
        "f_batch": np.asarray([str(b) for b in batches], dtype=object)[idx[3]],
        "f_best": np.broadcast_to(best[..., None], grid).ravel(),
    }
    bars = ColumnDataSource({k: [] for k in ("y", "value", "device", "label", "color", "ttft", "tpot", "tput", "fits")},
                            name="chooser-bars")  # fmt: skip
    x_range, y_range = Range1d(0, 1), Range1d(n_dev + 0.7, 0.3)
    fig = _axes("", titles[init["metric"]], "rank", log_x=False, log_y=False, width=640, height=620, x_range=x_range,
                y_range=y_range)  # fmt: skip
    fig.hbar(y="y", left=0, right="value", height=0.7, color="color", source=bars, alpha=0.85)
    fig.add_layout(LabelSet(x="value", y="y", text="label", source=bars, text_font_size="8pt", x_offset=3,
                            y_offset=-5))  # fmt: skip
    fig.add_tools(HoverTool(tooltips=[("device", "@device"), ("TTFT", "@ttft{0.00} ms"), ("TPOT", "@tpot{0.000} ms"),
                                      ("throughput", "@tput{0.0} tokens/s"), ("fits", "@fits")]))  # fmt: skip
    summary = Div(text="")
    controls = {
        "model": Select(title="model", value=models[init["model"]], options=list(models)),
        "precision": RadioButtonGroup(labels=[q.label for q in precisions], active=init["precision"]),
        "metric": RadioButtonGroup(labels=["throughput", "first token", "per output token"], active=init["metric"]),
        "batch": index_slider(batches, init["batch"]),
    }
    for key, widget in controls.items():
        widget.name = f"chooser-{key}"
    lookup = Lookup(
        columns,
        [
            Axis("model", list(models), controls["model"]),
            Axis("precision", [q.label for q in precisions], controls["precision"]),
            Axis("metric", metrics, controls["metric"]),
            Axis("batch", list(batches), controls["batch"], label=[f"batch size: {b}" for b in batches]),
            Axis("device", names),
        ],
        curves=[Curve(bars, "device", {k: k for k in bars.data})],
        props=[
            Prop(fig.xaxis[0], "axis_label", column="title"),
            Prop(x_range, "end", column="x_end"),
            Prop(
                summary, "text", template="<b>{f_model}</b>, batch {f_batch}: best device by {title} is <b>{f_best}</b>"
            ),
        ],
    )
    lookup.wire(fig)
    layout = column(row(controls["model"], lookup.control("batch")), controls["precision"], controls["metric"], fig,
                    summary)  # fmt: skip
    return layout, table
