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
    models: Any = None,
    devices: Any = ("H100-SXM5-80GB",),
    tensor_parallel: Any = (1, 2, 4, 8),
    batches: Any = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    prompt_lens: Any = (512, 2048, 8192),
    gen_len: int = 256,
    **options: Any,
) -> tuple[Any, pd.DataFrame]:
    """Interactive serving explorer: choose model, device, tensor-parallel devices, batch and
    prompt length; the curve is throughput against time per output token as the batch grows
    (hollow points do not fit in memory), the large dot is the chosen batch, and the text gives
    latency (ms), throughput (tokens/s), memory per device (GB) and what bounds each stage. The
    page only looks rows of :func:`serving_table` up (:class:`llmviewer.viz.lookup.Lookup`).
    ``models`` default: every shipped model. Returns (Bokeh layout, table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Div, HoverTool, RadioButtonGroup, Select

    from .lookup import Axis, Curve, Lookup, Point, Prop, index_slider, registry_models

    models = list(models) if models is not None else registry_models()
    table = serving_table(models, devices, tensor_parallel, batches, prompt_lens, gen_len, **options)
    models = [str(m) for m in models]
    devs = [load_hardware(d).name for d in devices]
    keys = ["model", "device", "tensor_parallel", "batch", "prompt_len"]
    grid = pd.MultiIndex.from_product([models, devs, list(tensor_parallel), list(batches), list(prompt_lens)],
                                      names=keys)  # fmt: skip
    full = table.set_index(keys).reindex(grid).reset_index()  # splits that do not divide the model: NaN rows
    valid = full["ttft"].notna().to_numpy()
    tps = [str(t) for t in tensor_parallel]
    fields = _fields(full, valid)
    columns = {
        "x": full["tpot"].to_numpy(float) * 1e3,
        "y": full["throughput"].to_numpy(float),
        "batch": full["batch"].to_numpy(int),
        "fill": np.where(full["fits"].fillna(False).astype(bool), "#1f77b4", "white"),
        **{f"f_{k}": v for k, v in fields.items()},
    }
    curve = ColumnDataSource({"x": [], "y": [], "batch": [], "fill": []}, name="serving-curve")
    chosen = ColumnDataSource({"x": [], "y": [], "batch": []}, name="serving-chosen")
    fig = _serving_axes()
    fig.line("x", "y", source=curve, line_width=2, color="#1f77b4")
    dots = fig.scatter("x", "y", source=curve, size=9, line_color="#1f77b4", fill_color="fill")
    fig.scatter("x", "y", source=chosen, size=18, color="#d62728", alpha=0.6)
    fig.add_tools(HoverTool(renderers=[dots], tooltips=[("batch", "@batch"), ("ms/token", "@x"), ("tokens/s", "@y")]))
    summary = Div(text="", width=660)
    b0, p0 = min(4, len(batches) - 1), min(1, len(prompt_lens) - 1)
    controls = {
        "model": Select(title="model", value=models[0], options=models),
        "device": Select(title="device", value=devs[0], options=devs),
        "tp": RadioButtonGroup(labels=[f"{t} device{'s' if t != '1' else ''}" for t in tps], active=0),
        "batch": index_slider(batches, b0),
        "prompt": index_slider(prompt_lens, p0),
    }
    for key, widget in controls.items():
        widget.name = f"serving-{key}"
    lookup = Lookup(
        columns,
        [
            Axis("model", models, controls["model"]),
            Axis("device", devs, controls["device"]),
            Axis("tp", tps, controls["tp"]),
            Axis("batch", batches, controls["batch"], label=[f"batch size: {b}" for b in batches]),
            Axis(
                "prompt",
                prompt_lens,
                controls["prompt"],
                label=[f"prompt length: {p} (then {gen_len} generated tokens)" for p in prompt_lens],
            ),
        ],  # fmt: skip
        curves=[Curve(curve, "batch", {k: k for k in ("x", "y", "batch", "fill")})],
        points=[Point(chosen, {k: k for k in ("x", "y", "batch")})],
        props=[Prop(summary, "text", template=_TEMPLATE.replace("{", "{f_"))],
    )
    lookup.wire(fig)
    layout = column(
        row(controls["model"], controls["device"]),
        controls["tp"],
        row(lookup.control("batch"), lookup.control("prompt")),
        fig,
        summary,
    )
    return layout, table


_TEMPLATE = (
    "<b>{model}</b> on {tp} x <b>{device}</b>, batch {batch}, prompt {prompt}:<br>{s0}{ttft}{s1}{pb}{s2}{tpot}{s3}"
    "{db}{s4}{tput}{s5}{mem}{s6}{fit}"
)
_PIECES = ("time to first token ", " ms (", "-bound); time per output token ", " ms (", "-bound); throughput ",
           " tokens/s; memory per device ", " GB ")  # fmt: skip
"""The readout: fixed pieces ``s0``..``s6`` between the row's fields; a row whose split does not
divide the model says so in ``s0`` (every other field empty)."""


def _fields(full: pd.DataFrame, valid: Any) -> dict[str, list[str]]:
    """The readout's fields of every grid row: latency in ms, throughput in tokens/s, memory in GB
    (4 significant digits), bounds and fit; short strings, most of them repeated."""
    ok = np.asarray(valid, bool)

    def num(col: str, scale: float = 1.0) -> list[str]:
        return [_sig4(x * scale) if good else "" for x, good in zip(full[col], ok, strict=True)]

    out = {
        "model": full["model"].astype(str).tolist(),
        "tp": full["tensor_parallel"].astype(str).tolist(),
        "device": full["device"].astype(str).tolist(),
        "batch": full["batch"].astype(str).tolist(),
        "prompt": full["prompt_len"].astype(str).tolist(),
        "ttft": num("ttft", 1e3),
        "tpot": num("tpot", 1e3),
        "tput": num("throughput"),
        "mem": num("memory_per_device", 1e-9),
        "pb": [str(b) if good else "" for b, good in zip(full["prefill_bound"], ok, strict=True)],
        "db": [str(b) if good else "" for b, good in zip(full["decode_bound"], ok, strict=True)],
        "fit": [
            ("(fits)" if f else "<b>(does not fit)</b>") if good else ""
            for f, good in zip(full["fits"], ok, strict=True)
        ],
    }
    for i, piece in enumerate(_PIECES):
        out[f"s{i}"] = [piece if good else ("this split does not divide the model." if i == 0 else "") for good in ok]
    return out


def _summary_html(r: Any, tp: int) -> str:
    """The explorer's text for one row of :func:`serving_table`."""
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


def _sig4(x: float) -> str:
    """4 significant digits with thousands separators (10,290, not 1.029e+04)."""
    return f"{float(f'{x:.4g}'):,g}"
