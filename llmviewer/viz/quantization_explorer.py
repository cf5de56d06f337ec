"""Interactive explorer of quantization: the speed-up of prefill and of a decode step over W16A16 and
the memory split, for every model, device, W/A/KV bits, group size, batch and length, all
computed by :func:`llmviewer.analyze` here; the page's JavaScript only looks rows up."""

from __future__ import annotations

import math
from typing import Any

from ..errors import LLMViewerError
from ..specs.hardware import load_hardware


def quantization_table(
    models: list[str],
    devices: list[str],
    w_bits: tuple[int, ...] = (16, 8, 4, 2),
    a_bits: tuple[int, ...] = (16, 8),
    kv_bits: tuple[int, ...] = (16, 8, 4),
    group_sizes: tuple[int | None, ...] = (None, 128),
    batches: tuple[int, ...] = (1, 4, 16, 64, 256),
    seqlens: tuple[int, ...] = (512, 2048, 8192, 32768),
):
    """Every combination, computed by :func:`llmviewer.analyze` (FlashAttention on): prefill
    time of a ``seqlen`` prompt and one decode step at ``seqlen`` cached tokens (seconds), and
    the memory footprint (bytes). One row per model, device, W/A/KV bits, group size (ignored
    for 16-bit weights), batch and length, in that nesting order (C order)."""
    import itertools

    import numpy as np
    import pandas as pd

    from ..engine.analysis import analyze

    b = np.array(batches)[:, None]
    s = np.array(seqlens)[None, :]
    frames = []
    for model, device, w, a, kv, g in itertools.product(models, devices, w_bits, a_bits, kv_bits, group_sizes):
        r = analyze(
            model, device, batch_size=b, seqlen=s, w_bit=w, a_bit=a, kv_bit=kv,
            w_group_size=None if w >= 16 else g, use_flashattention=True,
        )  # fmt: skip
        shape = (len(batches), len(seqlens))
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "device": device,
                    "w_bit": w,
                    "a_bit": a,
                    "kv_bit": kv,
                    "group_size": 0 if g is None else g,
                    "batch": np.broadcast_to(b, shape).ravel(),
                    "seqlen": np.broadcast_to(s, shape).ravel(),
                    "prefill_s": np.broadcast_to(r.prefill.time, shape).ravel(),
                    "decode_s": np.broadcast_to(r.decode.time, shape).ravel(),
                    "weights_B": np.broadcast_to(r.memory["weights"], shape).ravel(),
                    "kv_cache_B": np.broadcast_to(r.memory["kv_cache"], shape).ravel(),
                    "activations_B": np.broadcast_to(r.memory["activations"], shape).ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


_EXPLORER_JS = """
const idx = (sel) => sel.options.indexOf(sel.value);
const mi = idx(w.model), di = idx(w.device);
const bi = Math.round((w.batch.value - w.batch.start) / w.batch.step);
const si = Math.round((w.seqlen.value - w.seqlen.start) / w.seqlen.step);
const cfg = ((idx(w.wb) * n.A + idx(w.ab)) * n.K + idx(w.kb)) * n.G + idx(w.gs);
const row = (c) => ((((mi * n.D + di) * n.C + c) * n.B + bi) * n.S + si);
const T = store.data, r = row(cfg), r0 = row(0);
const ms = (x) => (x >= 1 ? x.toFixed(2) + ' s' : (x * 1e3).toPrecision(3) + ' ms');
times.data = {stage: ['prefill', 'decode step'],
              speedup: [T.prefill_s[r0] / T.prefill_s[r], T.decode_s[r0] / T.decode_s[r]]};
const gb = (x) => x / 1e9;
mem.data = {scheme: ['W16A16 KV16', 'chosen'],
            weights: [gb(T.weights_B[r0]), gb(T.weights_B[r])],
            kv_cache: [gb(T.kv_cache_B[r0]), gb(T.kv_cache_B[r])],
            activations: [gb(T.activations_B[r0]), gb(T.activations_B[r])]};
cap.location = caps[di] / 1e9;
info.text = `batch ${T.batch[r]}, ${T.seqlen[r]} tokens: prefill ${ms(T.prefill_s[r])} ` +
  `(W16A16: ${ms(T.prefill_s[r0])}), decode step ${ms(T.decode_s[r])} (W16A16: ${ms(T.decode_s[r0])}); ` +
  `memory ${gb(T.weights_B[r] + T.kv_cache_B[r] + T.activations_B[r]).toFixed(1)} GB ` +
  `of ${(caps[di] / 1e9).toFixed(0)} GB`;
"""


def quantization_explorer(models: list[str], devices: list[str], **grid: Any):
    """Interactive Bokeh explorer: pick model, device, W/A/KV bits and group size (menus),
    batch and length (sliders); shows the speed-up of prefill and of a decode step over
    W16A16 and the memory split against the device's capacity. Every number comes from
    :func:`quantization_table` (computed here, in Python); the JavaScript only looks rows up.
    Returns ``(layout, table)``."""
    import numpy as np
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, Div, HoverTool, Select, Slider, Span
    from bokeh.plotting import figure

    table = quantization_table(models, devices, **grid)
    axes = {
        k: list(dict.fromkeys(table[k]))
        for k in ("model", "device", "w_bit", "a_bit", "kv_bit", "group_size", "batch", "seqlen")
    }
    if axes["w_bit"][0] != 16 or axes["a_bit"][0] != 16 or axes["kv_bit"][0] != 16:
        raise LLMViewerError("the first W, A and KV widths must be 16 (the baseline the explorer compares with)")
    for k in ("batch", "seqlen"):
        lg = np.log2(axes[k])
        if not np.allclose(lg, np.round(lg)) or len(set(np.diff(lg))) > 1:
            raise LLMViewerError(f"{k} values must be powers of 2 in a geometric sequence, got {axes[k]}")
    store = ColumnDataSource(
        {
            "batch": table["batch"].to_numpy(np.int32),
            "seqlen": table["seqlen"].to_numpy(np.int32),
            **{
                k: table[k].to_numpy(np.float32)
                for k in ("prefill_s", "decode_s", "weights_B", "kv_cache_B", "activations_B")
            },
        },
        name="quant-explorer-store",
    )
    caps = [float(min(load_hardware(d).memory_bytes, 1e15)) for d in axes["device"]]
    times = ColumnDataSource({"stage": ["prefill", "decode step"], "speedup": [1.0, 1.0]})
    mem = ColumnDataSource(
        {"scheme": ["W16A16 KV16", "chosen"], "weights": [0, 0], "kv_cache": [0, 0], "activations": [0, 0]}
    )

    def select(title: str, values: list, value: Any) -> Select:
        opts = [str(v) for v in values]
        return Select(title=title, options=opts, value=str(value), width=180)

    def exp_slider(title: str, values: list, value: int) -> Slider:
        lg = [int(round(math.log2(v))) for v in values]
        step = lg[1] - lg[0] if len(lg) > 1 else 1
        return Slider(title=title, start=lg[0], end=lg[-1], step=step, value=int(round(math.log2(value))), width=260)

    w = {
        "model": select("model", axes["model"], axes["model"][0]),
        "device": select("device", axes["device"], axes["device"][-1]),
        "wb": select("weight bits", axes["w_bit"], 4 if 4 in axes["w_bit"] else axes["w_bit"][-1]),
        "ab": select("activation bits", axes["a_bit"], 16),
        "kb": select("KV-cache bits", axes["kv_bit"], 16),
        "gs": select("group size (0: none)", axes["group_size"], axes["group_size"][-1]),
        "batch": exp_slider("log2 batch size", axes["batch"], axes["batch"][len(axes["batch"]) // 2]),
        "seqlen": exp_slider("log2 sequence length", axes["seqlen"], axes["seqlen"][len(axes["seqlen"]) // 2]),
    }
    n = {
        "D": len(axes["device"]),
        "A": len(axes["a_bit"]),
        "K": len(axes["kv_bit"]),
        "G": len(axes["group_size"]),
        "B": len(axes["batch"]),
        "S": len(axes["seqlen"]),
    }
    n["C"] = len(axes["w_bit"]) * n["A"] * n["K"] * n["G"]

    f1 = figure(
        x_range=["prefill", "decode step"], height=300, width=265, title="speed-up over W16A16 (roofline)",
        toolbar_location=None, y_axis_label="speed-up (x)",
    )  # fmt: skip
    f1.vbar(x="stage", top="speedup", source=times, width=0.6, color="#1f77b4")
    f1.add_layout(Span(location=1, dimension="width", line_dash="dashed", line_color="gray"))
    f1.y_range.start = 0
    f1.add_tools(HoverTool(tooltips=[("stage", "@stage"), ("speed-up", "@speedup{0.00}x")]))
    f2 = figure(
        x_range=["W16A16 KV16", "chosen"], height=300, width=385, title="memory (GB)",
        toolbar_location=None, y_axis_label="GB",
    )  # fmt: skip
    parts = ["weights", "kv_cache", "activations"]
    f2.vbar_stack(parts, x="scheme", source=mem, width=0.6, color=["#1f77b4", "#ff7f0e", "#2ca02c"], legend_label=parts)
    cap = Span(location=caps[0] / 1e9, dimension="width", line_dash="dashed", line_color="red")
    f2.add_layout(cap)
    f2.y_range.start = 0
    f2.add_layout(f2.legend[0], "right")
    tips = [("scheme", "@scheme"), ("weights", "@weights{0.0} GB"), ("KV cache", "@kv_cache{0.0} GB")]
    f2.add_tools(HoverTool(tooltips=[*tips, ("activations", "@activations{0.00} GB")]))
    info = Div(text="", width=640)
    cb = CustomJS(
        args=dict(w=w, n=n, store=store, times=times, mem=mem, cap=cap, caps=caps, info=info), code=_EXPLORER_JS
    )
    for widget in w.values():
        widget.js_on_change("value", cb)
    # initial state, computed in Python from the same table
    init = _explorer_state(table, axes, {k: v.value for k, v in w.items()}, caps)
    times.data, mem.data = init["times"], init["mem"]
    cap.location, info.text = init["cap"], init["info"]
    menus = column(row(*[w[k] for k in ("model", "device", "wb")]), row(*[w[k] for k in ("ab", "kb", "gs")]))
    return column(menus, row(w["batch"], w["seqlen"]), info, row(f1, f2)), table


def _explorer_state(table: Any, axes: dict, values: dict, caps: list) -> dict[str, Any]:
    """The explorer's displayed data for the widget values (the Python twin of its lookup)."""
    batch, seqlen = 2 ** int(values["batch"]), 2 ** int(values["seqlen"])
    sel = (table["model"] == values["model"]) & (table["device"] == values["device"])
    sel &= (table["batch"] == batch) & (table["seqlen"] == seqlen)
    base = table[sel & (table["w_bit"] == 16) & (table["a_bit"] == 16) & (table["kv_bit"] == 16)]
    base = base[base["group_size"] == axes["group_size"][0]].iloc[0]
    pick = table[
        sel
        & (table["w_bit"].astype(str) == values["wb"])
        & (table["a_bit"].astype(str) == values["ab"])
        & (table["kv_bit"].astype(str) == values["kb"])
        & (table["group_size"].astype(str) == values["gs"])
    ].iloc[0]
    cap = caps[axes["device"].index(values["device"])] / 1e9

    def ms(x: float) -> str:  # as the page's JavaScript writes it
        return f"{x:.2f} s" if x >= 1 else f"{float(f'{x * 1e3:.3g}'):g} ms"

    total = (pick["weights_B"] + pick["kv_cache_B"] + pick["activations_B"]) / 1e9
    return {
        "times": {
            "stage": ["prefill", "decode step"],
            "speedup": [base["prefill_s"] / pick["prefill_s"], base["decode_s"] / pick["decode_s"]],
        },
        "mem": {
            "scheme": ["W16A16 KV16", "chosen"],
            **{k: [base[f"{k}_B"] / 1e9, pick[f"{k}_B"] / 1e9] for k in ("weights", "kv_cache", "activations")},
        },
        "cap": cap,
        "info": f"batch {batch}, {seqlen} tokens: prefill {ms(pick['prefill_s'])} (W16A16: {ms(base['prefill_s'])}), "
        f"decode step {ms(pick['decode_s'])} (W16A16: {ms(base['decode_s'])}); memory {total:.1f} GB of {cap:.0f} GB",
    }
