"""Interactive explorer of quantization: the speed-up of prefill and of a decode step over W16A16 and
the memory split, for every model, device, W/A/KV bits, group size, batch and length, all
computed by :func:`llmviewer.analyze` here; the page's JavaScript only looks rows up."""

from __future__ import annotations

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


def quantization_explorer(
    models: list[str] | None = None, devices: list[str] = ("RTX-4090-24GB", "H100-SXM5-80GB"), **grid: Any
):
    """Interactive Bokeh explorer: pick model, device, W/A/KV bits and group size (menus),
    batch and length (sliders); shows the speed-up of prefill and of a decode step over
    W16A16 and the memory split (GB) against the device's capacity. Every number comes from
    :func:`quantization_table` (computed here, in Python); the page only looks rows up
    (:class:`llmviewer.viz.lookup.Lookup`). ``models`` default: every shipped model. Returns
    ``(layout, table)``."""
    import numpy as np
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Div, HoverTool, Select, Span
    from bokeh.plotting import figure

    from .lookup import Axis, Lookup, Point, Prop, index_slider, registry_models

    models = list(models) if models is not None else registry_models()
    table = quantization_table(models, devices, **grid)
    names = ("model", "device", "w_bit", "a_bit", "kv_bit", "group_size", "batch", "seqlen")
    axes = {k: list(dict.fromkeys(table[k])) for k in names}
    if axes["w_bit"][0] != 16 or axes["a_bit"][0] != 16 or axes["kv_bit"][0] != 16:
        raise LLMViewerError("the first W, A and KV widths must be 16 (the baseline the explorer compares with)")
    shape = [len(axes[k]) for k in names]
    caps = np.array([float(min(load_hardware(d).memory_bytes, 1e15)) for d in axes["device"]])

    def grid_of(col: str) -> Any:
        return table[col].to_numpy(float).reshape(shape)

    def base_of(col: str) -> Any:  # the W16A16 KV16 row (first group size) of the same model, device, batch, length
        return np.broadcast_to(grid_of(col)[:, :, :1, :1, :1, :1], shape).ravel()

    def ms(x: float) -> str:
        return f"{x:.2f} s" if x >= 1 else f"{float(f'{x * 1e3:.3g}'):g} ms"

    parts = ("weights", "kv_cache", "activations")
    total = sum(table[f"{k}_B"].to_numpy(float) for k in parts) / 1e9
    cap = caps[table["device"].map({d: i for i, d in enumerate(axes["device"])}).to_numpy()] / 1e9
    columns = {
        "sp_prefill": base_of("prefill_s") / table["prefill_s"].to_numpy(float),
        "sp_decode": base_of("decode_s") / table["decode_s"].to_numpy(float),
        **{f"{k}_gb": table[f"{k}_B"].to_numpy(float) / 1e9 for k in parts},
        **{f"{k}_gb0": base_of(f"{k}_B") / 1e9 for k in parts},
        "cap_gb": cap,
        "batch": table["batch"].to_numpy(),
        "seqlen": table["seqlen"].to_numpy(),
        "prefill": [ms(x) for x in table["prefill_s"]],
        "decode": [ms(x) for x in table["decode_s"]],
        "prefill0": [ms(x) for x in base_of("prefill_s")],
        "decode0": [ms(x) for x in base_of("decode_s")],
        "memory": [f"{x:.1f}" for x in total],
        "capacity": [f"{x:.0f}" for x in cap],
    }
    times = ColumnDataSource({"stage": ["prefill", "decode step"], "speedup": [1.0, 1.0]})
    mem = ColumnDataSource(
        {"scheme": ["W16A16 KV16", "chosen"], "weights": [0, 0], "kv_cache": [0, 0], "activations": [0, 0]}
    )

    def select(title: str, values: list, value: Any) -> Select:
        return Select(title=title, options=[str(v) for v in values], value=str(value), width=180)

    w = {
        "model": select("model", axes["model"], axes["model"][0]),
        "device": select("device", axes["device"], axes["device"][-1]),
        "wb": select("weight bits", axes["w_bit"], 4 if 4 in axes["w_bit"] else axes["w_bit"][-1]),
        "ab": select("activation bits", axes["a_bit"], 16),
        "kb": select("KV-cache bits", axes["kv_bit"], 16),
        "gs": select("group size (0: none)", axes["group_size"], axes["group_size"][-1]),
        "batch": index_slider(axes["batch"], len(axes["batch"]) // 2, width=260),
        "seqlen": index_slider(axes["seqlen"], len(axes["seqlen"]) // 2, width=260),
    }
    for key, widget in w.items():
        widget.name = f"quant-{key}"

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
    f2.vbar_stack(list(parts), x="scheme", source=mem, width=0.6, color=["#1f77b4", "#ff7f0e", "#2ca02c"],
                  legend_label=list(parts))  # fmt: skip
    cap_line = Span(location=0, dimension="width", line_dash="dashed", line_color="red")
    f2.add_layout(cap_line)
    f2.y_range.start = 0
    f2.add_layout(f2.legend[0], "right")
    tips = [("scheme", "@scheme"), ("weights", "@weights{0.0} GB"), ("KV cache", "@kv_cache{0.0} GB")]
    f2.add_tools(HoverTool(tooltips=[*tips, ("activations", "@activations{0.00} GB")]))
    info = Div(text="", width=640)
    lookup = Lookup(
        columns,
        [
            Axis("model", axes["model"], w["model"]),
            Axis("device", axes["device"], w["device"]),
            Axis("w_bit", axes["w_bit"], w["wb"]),
            Axis("a_bit", axes["a_bit"], w["ab"]),
            Axis("kv_bit", axes["kv_bit"], w["kb"]),
            Axis("group_size", axes["group_size"], w["gs"]),
            Axis("batch", axes["batch"], w["batch"], label=[f"batch size: {b}" for b in axes["batch"]]),
            Axis("seqlen", axes["seqlen"], w["seqlen"], label=[f"sequence length: {s} tokens" for s in axes["seqlen"]]),
        ],
        points=[
            Point(times, {"speedup": ["sp_prefill", "sp_decode"]}),
            Point(mem, {k: [f"{k}_gb0", f"{k}_gb"] for k in parts}),
        ],
        props=[
            Prop(cap_line, "location", column="cap_gb"),
            Prop(info, "text", template="batch {batch}, {seqlen} tokens: prefill {prefill} (W16A16: {prefill0}), "
                 "decode step {decode} (W16A16: {decode0}); memory {memory} GB of {capacity} GB"),
        ],
    )  # fmt: skip
    lookup.wire(f1)
    menus = column(row(*[w[k] for k in ("model", "device", "wb")]), row(*[w[k] for k in ("ab", "kb", "gs")]))
    return column(menus, row(lookup.control("batch"), lookup.control("seqlen")), info, row(f1, f2)), table
