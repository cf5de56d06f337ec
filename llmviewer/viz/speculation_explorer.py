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
    pair, device, precision, batch and alpha. The JavaScript only selects rows of
    :func:`speculation_table` (computed here by the engine). Returns (layout, table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, Div, HoverTool, RadioButtonGroup, Select, Slider

    from ..viz.plots import _axes

    precisions = precisions or {"W16A16": {}}
    table = speculation_table(pairs, devices, alphas, gammas, batches, precisions, context)
    names = [f"{t} / {d}" for t, d in pairs]
    devs = [load_hardware(d).name for d in devices]
    labels = list(precisions)
    n_g = len(gammas)
    full = ColumnDataSource(
        {k: table[k].to_numpy() for k in ("speedup", "tokens_per_step", "step_ms", "memory_gb", "device_gb", "fits")}
    )
    block = n_g

    def offset(p: int, d: int, q: int, bi: int, ai: int) -> int:
        return ((((p * len(devs) + d) * len(labels) + q) * len(batches) + bi) * len(alphas) + ai) * block

    init = dict(p=0, d=0, q=0, b=0, a=len(alphas) // 2 + 1)
    o = offset(*init.values())
    rows = table.iloc[o : o + n_g]
    src = ColumnDataSource(
        {
            "gamma": rows["gamma"].to_numpy(),
            "speedup": rows["speedup"].to_numpy(),
            "tokens": rows["tokens_per_step"].to_numpy(),
            "step_ms": rows["step_ms"].to_numpy(),
        },
        name="speculation-points",
    )
    fig = _axes("", "gamma (tokens drafted per step)", "expected speed-up over plain decoding", False, False)
    fig.y_range.start = 0  # the top follows the selected curve
    fig.line("gamma", "speedup", source=src, line_width=2, color="#1f77b4")
    glyph = fig.scatter("gamma", "speedup", source=src, size=7, color="#1f77b4")
    # a glyph, not a Span, so that the range always includes the no-speed-up level
    fig.line([min(gammas), max(gammas)], [1, 1], line_dash="dashed", color="#444444")
    tips = [("gamma", "@gamma"), ("speed-up", "@speedup{0.00}x"), ("tokens/step", "@tokens{0.00}"),
            ("step", "@step_ms{0.000} ms")]  # fmt: skip
    fig.add_tools(HoverTool(renderers=[glyph], tooltips=tips))
    best0 = rows.iloc[int(np.argmax(rows["speedup"].to_numpy()))]
    summary = Div(text=_summary(names[0], devs[0], labels[0], int(batches[init["b"]]), float(alphas[init["a"]]), best0))
    c = {
        "pair": Select(title="target / draft", value=names[0], options=names),
        "device": Select(title="device", value=devs[0], options=devs),
        "precision": RadioButtonGroup(labels=labels, active=0),
        "batch": Slider(start=0, end=len(batches) - 1, step=1, value=init["b"], show_value=False),
        "alpha": Slider(start=0, end=len(alphas) - 1, step=1, value=init["a"], show_value=False),
    }
    c["batch"].title = f"batch size: {batches[init['b']]}"
    c["alpha"].title = f"acceptance rate alpha: {alphas[init['a']]:g}"
    callback = CustomJS(
        args=dict(
            full=full,
            src=src,
            summary=summary,
            c=c,
            names=names,
            devs=devs,
            labels=labels,
            batches=[int(x) for x in batches],
            alphas=[float(x) for x in alphas],
            gammas=[int(x) for x in gammas],
        ),  # fmt: skip
        code=_SPECULATION_JS,
    )
    for key, widget in c.items():
        widget.name = f"speculation-{key}"
        widget.js_on_change("active" if isinstance(widget, RadioButtonGroup) else "value", callback)
    fig.js_on_event("document_ready", callback)
    layout = column(row(c["pair"], c["device"]), c["precision"], row(c["batch"], c["alpha"]), fig, summary)
    return layout, table


_SPECULATION_JS = """
const p = names.indexOf(c.pair.value), d = devs.indexOf(c.device.value), q = c.precision.active;
const b = c.batch.value, a = c.alpha.value, n = gammas.length;
c.batch.title = "batch size: " + batches[b];
c.alpha.title = "acceptance rate alpha: " + alphas[a];
const o = ((((p * devs.length + d) * labels.length + q) * batches.length + b) * alphas.length + a) * n;
const F = full.data;
const out = {gamma: [], speedup: [], tokens: [], step_ms: []};
let best = 0;
for (let j = 0; j < n; j++) {
  out.gamma.push(gammas[j]); out.speedup.push(F.speedup[o + j]);
  out.tokens.push(F.tokens_per_step[o + j]); out.step_ms.push(F.step_ms[o + j]);
  if (F.speedup[o + j] > F.speedup[o + best]) best = j;
}
src.data = out;
summary.text = "<b>" + names[p] + "</b> on <b>" + devs[d] + "</b>, " + labels[q] + ", batch " + batches[b] +
  ", alpha " + alphas[a] + ": best gamma " + gammas[best] + ", speed-up " + F.speedup[o + best].toFixed(2) +
  "x. Memory (target + draft, weights and KV cache): " + F.memory_gb[o + best].toFixed(1) + " GB of " +
  F.device_gb[o + best].toFixed(0) + " GB, " +
  (F.fits[o + best] ? "fits" : "<b style='color:#d62728'>does not fit on one device</b>") + ".";
"""


def _summary(pair: str, device: str, precision: str, batch: int, alpha: float, r: Any) -> str:
    """The readout as Python writes it at build time; the JS above rewrites it on every change."""
    fit = "fits" if r["fits"] else "<b style='color:#d62728'>does not fit on one device</b>"
    return (
        f"<b>{pair}</b> on <b>{device}</b>, {precision}, batch {batch}, alpha {alpha:g}: best gamma {int(r['gamma'])},"
        f" speed-up {r['speedup']:.2f}x. Memory (target + draft, weights and KV cache): {r['memory_gb']:.1f} GB of"
        f" {r['device_gb']:.0f} GB, {fit}."
    )
