"""Interactive explorer of serving: throughput against time per output token as the batch grows, for
every model, device, tensor-parallel size and prompt length, computed by the engine here; the
page's JavaScript only looks rows up."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..engine.analysis import analyze, memory_footprint
from ..engine.generation import generate
from ..errors import LLMViewerError
from ..specs.hardware import load_hardware


def serving_table(
    models: Any,
    devices: Any,
    tensor_parallel: Any = (1, 2, 4, 8),
    batches: Any = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    prompt_lens: Any = (512, 2048, 8192),
    gen_len: int = 256,
    **options: Any,
) -> pd.DataFrame:
    """Every (model, device, tensor-parallel size, batch, prompt length) of a generation task of
    ``gen_len`` tokens, in that nested order: ``ttft``, ``tpot`` (s), ``throughput`` (generated
    tokens/s of the group), ``memory_per_device`` (bytes), ``fits``, ``prefill_bound`` and
    ``decode_bound``. Rows whose split does not divide the model are left out."""
    b = np.asarray(batches)[:, None]
    p = np.asarray(prompt_lens)[None, :]
    frames = []
    for model in models:
        for device in devices:
            hw = load_hardware(device)
            for tp in tensor_parallel:
                try:
                    g = generate(model, hw, b, p, gen_len, tensor_parallel=tp, **options)
                except LLMViewerError:
                    continue
                a = analyze(model, hw, b, p, tensor_parallel=tp, **options)
                mem = memory_footprint(model, b, p + gen_len, tensor_parallel=tp, **options)["total"]
                shape = np.broadcast_shapes(b.shape, p.shape)
                frames.append(
                    pd.DataFrame(
                        {
                            "model": model,
                            "device": hw.name,
                            "tensor_parallel": tp,
                            "batch": np.broadcast_to(b, shape).ravel(),
                            "prompt_len": np.broadcast_to(p, shape).ravel(),
                            "ttft": np.broadcast_to(g.ttft, shape).ravel(),
                            "tpot": np.broadcast_to(g.tpot_mean, shape).ravel(),
                            "throughput": np.broadcast_to(g.throughput, shape).ravel(),
                            "memory_per_device": np.broadcast_to(mem, shape).ravel(),
                            "fits": np.broadcast_to(mem <= hw.memory_bytes, shape).ravel(),
                            "prefill_bound": np.broadcast_to(a.prefill.total["bound"], shape).ravel(),
                            "decode_bound": np.broadcast_to(a.decode.total["bound"], shape).ravel(),
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def serving_explorer(
    models: Any,
    devices: Any,
    tensor_parallel: Any = (1, 2, 4, 8),
    batches: Any = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    prompt_lens: Any = (512, 2048, 8192),
    gen_len: int = 256,
    **options: Any,
) -> tuple[Any, pd.DataFrame]:
    """Interactive serving explorer: choose model, device, tensor-parallel devices, batch and
    prompt length; the curve is throughput against time per output token as the batch grows
    (hollow points do not fit in memory), the large dot is the chosen batch, and the text gives
    latency, throughput, memory per device and what bounds each stage. The JavaScript only
    looks rows up in :func:`serving_table`. Returns (Bokeh layout, table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, Div, HoverTool, RadioButtonGroup, Select, Slider

    table = serving_table(models, devices, tensor_parallel, batches, prompt_lens, gen_len, **options)
    full = ColumnDataSource(
        {
            "key": (table["model"] + "|" + table["device"] + "|" + table["tensor_parallel"].astype(str)).tolist(),
            **{c: table[c].to_numpy() for c in ("batch", "prompt_len", "ttft", "tpot", "throughput")},
            "memory": table["memory_per_device"].to_numpy(),
            "fits": table["fits"].astype(int).to_numpy(),
            "prefill_bound": table["prefill_bound"].astype(str).tolist(),
            "decode_bound": table["decode_bound"].astype(str).tolist(),
        }
    )
    b0, p0 = min(4, len(batches) - 1), min(1, len(prompt_lens) - 1)
    sel = table[(table["model"] == table["model"].iloc[0]) & (table["device"] == table["device"].iloc[0])]
    sel = sel[(sel["tensor_parallel"] == tensor_parallel[0]) & (sel["prompt_len"] == prompt_lens[p0])]
    first = sel[sel["batch"] == batches[b0]].iloc[0]
    curve = ColumnDataSource(
        {
            "x": (sel["tpot"] * 1e3).tolist(),
            "y": sel["throughput"].tolist(),
            "batch": sel["batch"].tolist(),
            "fill": ["#1f77b4" if f else "white" for f in sel["fits"]],
        },
        name="serving-curve",
    )
    chosen = ColumnDataSource(
        {"x": [first["tpot"] * 1e3], "y": [first["throughput"]], "batch": [int(first["batch"])]}, name="serving-chosen"
    )
    fig = _serving_axes()
    fig.line("x", "y", source=curve, line_width=2, color="#1f77b4")
    dots = fig.scatter("x", "y", source=curve, size=9, line_color="#1f77b4", fill_color="fill")
    fig.scatter("x", "y", source=chosen, size=18, color="#d62728", alpha=0.6)
    fig.add_tools(HoverTool(renderers=[dots], tooltips=[("batch", "@batch"), ("ms/token", "@x"), ("tokens/s", "@y")]))
    summary = Div(text=_summary_html(first, len(tensor_parallel) and tensor_parallel[0]), width=660)
    tps = [str(t) for t in tensor_parallel]
    controls = {
        "model": Select(title="model", value=str(models[0]), options=[str(m) for m in models]),
        "device": Select(title="device", value=table["device"].iloc[0], options=list(dict.fromkeys(table["device"]))),
        "tp": RadioButtonGroup(labels=[f"{t} device{'s' if t != '1' else ''}" for t in tps], active=0),
        "batch": Slider(start=0, end=len(batches) - 1, step=1, value=b0, show_value=False,
                        title=f"batch size: {batches[b0]}"),
        "prompt": Slider(start=0, end=len(prompt_lens) - 1, step=1, value=p0, show_value=False,
                         title=f"prompt length: {prompt_lens[p0]} (then {gen_len} generated tokens)"),
    }  # fmt: skip
    callback = CustomJS(
        args=dict(full=full, curve=curve, chosen=chosen, summary=summary, c=controls, tps=tps,
                  batches=list(batches), prompts=list(prompt_lens), gen=gen_len),
        code=_SERVING_JS,
    )  # fmt: skip
    for key, widget in controls.items():
        widget.name = f"serving-{key}"
        widget.js_on_change("active" if isinstance(widget, RadioButtonGroup) else "value", callback)
    fig.js_on_event("document_ready", callback)
    layout = column(
        row(controls["model"], controls["device"]),
        controls["tp"],
        row(controls["batch"], controls["prompt"]),
        fig,
        summary,
    )
    return layout, table


def _summary_html(r: Any, tp: int) -> str:
    """The explorer's text for one row of :func:`serving_table` (the JavaScript writes the same)."""
    return (
        f"<b>{r['model']}</b> on {tp} x <b>{r['device']}</b>, batch {r['batch']}, prompt {r['prompt_len']}:<br>"
        f"time to first token {_sig4(r['ttft'] * 1e3)} ms ({r['prefill_bound']}-bound); time per output token "
        f"{_sig4(r['tpot'] * 1e3)} ms ({r['decode_bound']}-bound); throughput {_sig4(r['throughput'])} tokens/s; "
        f"memory per device {_sig4(r['memory_per_device'] / 1e9)} GB "
        + ("(fits)" if r["fits"] else "<b>(does not fit)</b>")
    )


def _serving_axes() -> Any:
    from bokeh.plotting import figure

    fig = figure(
        x_axis_type="log", y_axis_type="log", width=660, height=380,
        tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="above",
    )  # fmt: skip
    fig.xaxis.axis_label = "time per output token (ms)"
    fig.yaxis.axis_label = "throughput (generated tokens/s, whole group)"
    return fig


_SERVING_JS = """
const key = c.model.value + "|" + c.device.value + "|" + tps[c.tp.active];
const P = prompts[c.prompt.value], B = batches[c.batch.value];
c.batch.title = "batch size: " + B;
c.prompt.title = "prompt length: " + P + " (then " + gen + " generated tokens)";
const F = full.data;
const cx = [], cy = [], cb = [], cf = [];
let pick = -1;
for (let i = 0; i < F.key.length; i++) {
  if (F.key[i] !== key || F.prompt_len[i] !== P) continue;
  cx.push(F.tpot[i] * 1e3); cy.push(F.throughput[i]); cb.push(F.batch[i]);
  cf.push(F.fits[i] ? "#1f77b4" : "white");
  if (F.batch[i] === B) pick = i;
}
curve.data = {x: cx, y: cy, batch: cb, fill: cf};
if (pick < 0) {
  chosen.data = {x: [], y: [], batch: []};
  summary.text = "<b>" + key.split("|").join(", ") + "</b>: this split does not divide the model.";
} else {
  chosen.data = {x: [F.tpot[pick] * 1e3], y: [F.throughput[pick]], batch: [B]};
  const fmt = (x, d) => Number(x).toLocaleString("en-US", {maximumSignificantDigits: d});  // 10,290, not 1.029e+4
  summary.text = "<b>" + c.model.value + "</b> on " + tps[c.tp.active] + " x <b>" + c.device.value +
    "</b>, batch " + B + ", prompt " + P + ":<br>time to first token " + fmt(F.ttft[pick] * 1e3, 4) +
    " ms (" + F.prefill_bound[pick] + "-bound); time per output token " + fmt(F.tpot[pick] * 1e3, 4) +
    " ms (" + F.decode_bound[pick] + "-bound); throughput " + fmt(F.throughput[pick], 4) +
    " tokens/s; memory per device " + fmt(F.memory[pick] / 1e9, 4) + " GB " +
    (F.fits[pick] ? "(fits)" : "<b>(does not fit)</b>");
}
"""


def _sig4(x: float) -> str:
    """4 significant digits with thousands separators (10,290, not 1.029e+04), as the page's JS."""
    return f"{float(f'{x:.4g}'):,g}"
