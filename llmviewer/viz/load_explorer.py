"""Latency-vs-load explorer: p50/p99 TTFT and TPOT against the offered request rate, from a
:func:`llmviewer.techniques.loadsim.latency_vs_rate` table. The JavaScript only selects rows."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from llmviewer.techniques.loadsim import knee_rates

SERIES = {"ttft_p50": "TTFT p50", "ttft_p99": "TTFT p99", "tpot_p50": "TPOT p50", "tpot_p99": "TPOT p99"}


def _fmt(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:#.3g}"


def _summary(row: Any, knee: float | None, last_rate: float) -> str:
    """The text under the controls, as the JavaScript writes it (for the page before any interaction)."""
    knee_text = (
        f"the queue explodes past {knee:#.3g} requests/s (dashed line)"
        if knee is not None
        else f"no knee up to {last_rate:g} requests/s"
    )
    return (
        f"<b>{row['variant']}</b>, {row['rate']:g} requests/s offered, {row['served']:#.3g} completed: "
        f"TTFT p50 {_fmt(row['ttft_p50'])} ms, p99 {_fmt(row['ttft_p99'])} ms; TPOT p50 {_fmt(row['tpot_p50'])} "
        f"ms, p99 {_fmt(row['tpot_p99'])} ms; mean batch {row['batch']:.1f}; {knee_text}."
    )


def load_table(table: pd.DataFrame) -> pd.DataFrame:
    """The explorer's data: one row per (variant, offered rate) with the four latencies in ms, the
    request rate completed and the mean batch; rows as in ``table``."""
    out = table[["variant", "rate"]].copy()
    for k in SERIES:
        out[k] = table[k] * 1e3
    out["served"] = table["request_throughput"]
    out["batch"] = table["mean_batch"]
    return out.reset_index(drop=True)


def load_explorer(table: pd.DataFrame, title: str = "") -> tuple[Any, pd.DataFrame]:
    """Interactive latency-vs-load figure from a :func:`latency_vs_rate` table: a button group picks the
    scheduler variant (e.g. chunked prefill on/off), a slider the offered rate; two panels show p50 and p99
    TTFT and TPOT (ms, log scale) against the offered rate, with a dashed line at the knee
    (:func:`knee_rates`). Every variant must have been run at the same rates. Named models: ``load-curve``
    (plotted lines), ``load-chosen`` (the four latencies at the marked rate), ``load-variant``,
    ``load-rate``. The page only looks rows up (:class:`llmviewer.viz.lookup.Lookup`). Returns (Bokeh
    layout, :func:`load_table`)."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Div, HoverTool, RadioButtonGroup, Span
    from bokeh.plotting import figure

    from ..errors import LLMViewerError
    from .lookup import Axis, Curve, Lookup, Point, Prop, index_slider

    data = load_table(table)
    variants = list(dict.fromkeys(data["variant"]))
    rates = data[data["variant"] == variants[0]]["rate"].tolist()
    grid = pd.MultiIndex.from_product([variants, rates], names=["variant", "rate"])
    if len(data) != len(grid) or not data.set_index(["variant", "rate"]).index.equals(grid):
        raise LLMViewerError("load explorer: every variant needs the same offered rates, in the same order")
    knees = {k: (v if math.isfinite(v) else None) for k, v in knee_rates(table).items()}
    knee = data["variant"].map(knees)
    columns = {
        "rate": data["rate"].to_numpy(),
        **{k: data[k].to_numpy() for k in SERIES},
        "knee": knee.fillna(0).to_numpy(float),
        "knee_alpha": knee.notna().to_numpy(float),
        "summary": [_summary(r, knees[r["variant"]], rates[-1]) for _, r in data.iterrows()],
    }
    curve = ColumnDataSource({"rate": [], **{k: [] for k in SERIES}}, name="load-curve")
    chosen = ColumnDataSource({"rate": [], **{k: [] for k in SERIES}}, name="load-chosen")
    colors = {"p50": "#1f77b4", "p99": "#d62728"}
    panels, spans = [], []
    for metric, label in (("ttft", "time to first token (ms)"), ("tpot", "time per output token (ms)")):
        fig = figure(
            height=260,
            sizing_mode="stretch_width",
            y_axis_type="log",
            x_axis_label="offered load (requests/s)",
            y_axis_label=label,
            tools="pan,wheel_zoom,reset,save",
            toolbar_location="above",
        )
        for q in ("p50", "p99"):
            key = f"{metric}_{q}"
            line = fig.line("rate", key, source=curve, color=colors[q], line_width=2, legend_label=SERIES[key])
            fig.scatter("rate", key, source=curve, color=colors[q], size=5)
            tips = [("requests/s", "@rate"), (SERIES[key] + " ms", f"@{key}")]
            fig.add_tools(HoverTool(renderers=[line], tooltips=tips))
        for q in ("p50", "p99"):
            fig.scatter("rate", f"{metric}_{q}", source=chosen, size=13, color="black", alpha=0.5)
        span = Span(dimension="height", line_dash="dashed", line_color="gray", location=0)
        fig.add_layout(span)
        spans.append(span)
        fig.legend.location = "bottom_right"
        fig.legend.click_policy = "hide"
        panels.append(fig)
    pick = RadioButtonGroup(labels=variants, active=0, name="load-variant")
    rate = index_slider(rates, len(rates) // 2, name="load-rate", sizing_mode="stretch_width")
    summary = Div(text="", sizing_mode="stretch_width")
    cols = {"rate": "rate", **{k: k for k in SERIES}}
    lookup = Lookup(
        columns,
        [
            Axis("variant", variants, pick),
            Axis("rate", rates, rate, label=[f"offered load: {r:g} requests/s" for r in rates]),
        ],
        curves=[Curve(curve, "rate", cols)],
        points=[Point(chosen, cols)],
        props=[Prop(summary, "text", column="summary")]
        + [Prop(s, attr, column=c) for s in spans for attr, c in (("location", "knee"), ("line_alpha", "knee_alpha"))],
    )
    lookup.wire(panels[0])
    header = Div(text=f"<b>{title}</b>", sizing_mode="stretch_width") if title else None
    parts = [p for p in (header, pick, lookup.control("rate"), summary, *panels) if p is not None]
    return column(*parts, sizing_mode="stretch_width"), data
