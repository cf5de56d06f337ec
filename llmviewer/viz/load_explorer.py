"""Latency-vs-load explorer: p50/p99 TTFT and TPOT against the offered request rate, from a
:func:`llmviewer.techniques.loadsim.latency_vs_rate` table. The JavaScript only selects rows."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from llmviewer.techniques.loadsim import knee_rates

SERIES = {"ttft_p50": "TTFT p50", "ttft_p99": "TTFT p99", "tpot_p50": "TPOT p50", "tpot_p99": "TPOT p99"}

_LOAD_JS = """
const v = variants[pick.active];
const rows = [];
for (let i = 0; i < full.data.variant.length; i++) if (full.data.variant[i] === v) rows.push(i);
const col = (k) => rows.map((i) => full.data[k][i]);
const data = {rate: col("rate")};
for (const k of keys) data[k] = col(k);
curve.data = data;
const j = Math.min(rate.value, rows.length - 1);
const r = rows[j];
const now = {rate: [full.data.rate[r]]};
for (const k of keys) now[k] = [full.data[k][r]];
chosen.data = now;
rate.title = "offered load: " + full.data.rate[r] + " requests/s";
const knee = knees[v];
for (const s of spans) { s.location = knee; s.visible = Number.isFinite(knee); }
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
const kneeText = Number.isFinite(knee)
    ? "the queue explodes past " + knee.toPrecision(3) + " requests/s (dashed line)"
    : "no knee up to " + rate.end_rate + " requests/s";
summary.text = "<b>" + v + "</b>, " + full.data.rate[r] + " requests/s offered, "
    + full.data.served[r].toPrecision(3) + " completed: TTFT p50 " + fmt(full.data.ttft_p50[r])
    + " ms, p99 " + fmt(full.data.ttft_p99[r]) + " ms; TPOT p50 " + fmt(full.data.tpot_p50[r])
    + " ms, p99 " + fmt(full.data.tpot_p99[r]) + " ms; mean batch "
    + full.data.batch[r].toFixed(1) + "; " + kneeText + ".";
"""


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
    (:func:`knee_rates`). Named models: ``load-curve`` (plotted lines), ``load-chosen`` (the four latencies at
    the marked rate), ``load-variant``, ``load-rate``. Returns (Bokeh layout, :func:`load_table`)."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, CustomJS, Div, HoverTool, RadioButtonGroup, Slider, Span
    from bokeh.plotting import figure

    data = load_table(table)
    variants = list(dict.fromkeys(data["variant"]))
    knees = {k: (v if math.isfinite(v) else None) for k, v in knee_rates(table).items()}
    first = data[data["variant"] == variants[0]]
    rates = first["rate"].tolist()
    full = ColumnDataSource({c: data[c].tolist() for c in data.columns}, name="load-full")
    curve = ColumnDataSource({"rate": rates, **{k: first[k].tolist() for k in SERIES}}, name="load-curve")
    start = len(rates) // 2
    row0 = first.iloc[start]
    chosen = ColumnDataSource({"rate": [row0["rate"]], **{k: [row0[k]] for k in SERIES}}, name="load-chosen")
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
        span = Span(dimension="height", line_dash="dashed", line_color="gray", location=knees[variants[0]] or 0)
        span.visible = knees[variants[0]] is not None
        fig.add_layout(span)
        spans.append(span)
        fig.legend.location = "bottom_right"
        fig.legend.click_policy = "hide"
        panels.append(fig)
    pick = RadioButtonGroup(labels=variants, active=0, name="load-variant")
    rate = Slider(start=0, end=len(rates) - 1, step=1, value=start, show_value=False,
                  title=f"offered load: {row0['rate']:g} requests/s",
                  name="load-rate", sizing_mode="stretch_width")  # fmt: skip
    summary = Div(text=_summary(row0, knees[variants[0]], rates[-1]), sizing_mode="stretch_width")
    callback = CustomJS(
        args=dict(full=full, curve=curve, chosen=chosen, pick=pick, rate=rate, summary=summary, spans=spans,
                  variants=variants, knees={k: (v if v is not None else "NaN") for k, v in knees.items()},
                  keys=list(SERIES)),
        code=_LOAD_JS.replace("rate.end_rate", str(rates[-1])).replace("const knee = knees[v];",
                                                                        "const knee = Number(knees[v]);"),
    )  # fmt: skip
    pick.js_on_change("active", callback)
    rate.js_on_change("value", callback)
    panels[0].js_on_event("document_ready", callback)
    header = Div(text=f"<b>{title}</b>", sizing_mode="stretch_width") if title else None
    parts = [p for p in (header, pick, rate, summary, *panels) if p is not None]
    return column(*parts, sizing_mode="stretch_width"), data
