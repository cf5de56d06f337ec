"""Model compression on the roofline: quantization overheads, sparsity, low rank, pruning.

What :func:`llmviewer.analyze` already covers through its options (``w_bit``, ``a_bit``,
``kv_bit``, ``w_group_size``): fewer bytes per weight, activation and cached value, and the
compute units the operand widths select. This module adds what those options cannot say:

* **Dequantization.** A weight-only kernel (W4A16) unpacks each weight to 16 bits on the
  vector units before the tensor cores use it. :func:`compressed_pass` charges ``dequant_ops``
  vector OPs per weight element, once per tile of ``dequant_tile`` tokens (a GEMM kernel
  re-reads and re-dequantizes its weight slice for each block of rows of the activation).
  That work grows with the batch, so at large batch a weight-only kernel becomes slower than
  the 16-bit one it replaces.
* **Sparsity.** Stored bits per weight position of a sparse matrix in a compressed format
  (:func:`sparse_weight_bits`): CSR-like (value + column index per nonzero), bitmap (one bit
  per position + values), or NVIDIA's 2:4 semi-structured format (half the weights, 2 bits of
  index per kept weight, run by sparse tensor cores at twice the dense peak).
* **Structured pruning** as a smaller dense model (:func:`prune_structured`).
* **Low-rank factorization** of one linear layer (:func:`low_rank_linear`).

Units: OPs, bytes, bits, seconds, OPs/s. A multiply-accumulate is 2 OPs, as in
:mod:`llmviewer.layers`. With every option at its default, :func:`compressed_pass` gives
exactly what :func:`llmviewer.evaluate_pass` gives.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .analysis import StageResult, _totals, count_pass
from .errors import LLMViewerError
from .hardware import Hardware, load_hardware
from .layers import ExpertLinear, Linear, build_ops
from .models import ModelSpec, load_model
from .roofline import PURE, Efficiency, combine, dtype_for_bits, op_terms, peak_for_bits
from .workload import Pass, check_options, stage_passes

SPARSE_FORMATS = ("dense", "csr", "bitmap", "2:4")
"""Storage formats known to :func:`sparse_weight_bits`."""
SEMI_STRUCTURED_INDEX_BITS = 2
"""Index bits per kept weight in NVIDIA's 2:4 format (position of the value within its group of 4)."""
SEMI_STRUCTURED_SPEEDUP = 2.0
"""Peak of sparse tensor cores on a 2:4 matrix, relative to the dense peak (counted in dense OPs)."""


# --------------------------------------------------------------------------- sparsity


def sparse_weight_bits(density: Any = 1.0, value_bits: Any = 16, fmt: str = "csr", index_bits: Any = 16) -> Any:
    """Stored bits per weight POSITION (dense element) of a matrix in a sparse format.

    ``density``: fraction of weights kept (nonzero), 0 < density <= 1. ``value_bits``: bits per
    stored value. ``fmt``: ``"dense"`` (``value_bits``; density ignored), ``"csr"`` (each nonzero
    stores its value and an ``index_bits``-bit column index: ``density * (value_bits + index_bits)``;
    row pointers, one per row, are neglected), ``"bitmap"`` (one bit per position marks the
    nonzeros: ``1 + density * value_bits``), ``"2:4"`` (NVIDIA semi-structured: 2 of every 4 kept,
    each with a 2-bit index: ``(value_bits + 2) / 2``; ``density`` must be 0.5)."""
    if fmt not in SPARSE_FORMATS:
        raise LLMViewerError(f"unknown sparse format {fmt!r}; valid: {', '.join(SPARSE_FORMATS)}")
    if fmt == "dense":
        return value_bits
    if fmt == "2:4":
        if not (isinstance(density, (int, float)) and density == 0.5):
            raise LLMViewerError(f"the 2:4 format keeps exactly half the weights (density 0.5), got {density!r}")
        return 0.5 * (value_bits + SEMI_STRUCTURED_INDEX_BITS)
    _check_density(density)
    if fmt == "csr":
        return density * (value_bits + index_bits)
    return 1 + density * value_bits


def break_even_density(value_bits: Any = 16, fmt: str = "csr", index_bits: Any = 16) -> Any:
    """Density below which ``fmt`` stores fewer bits than the dense matrix of ``value_bits``
    bits: ``v / (v + i)`` for CSR, ``(v - 1) / v`` for a bitmap, 1 for ``"dense"``."""
    if fmt == "csr":
        return value_bits / (value_bits + index_bits)
    if fmt == "bitmap":
        return (value_bits - 1) / value_bits
    if fmt == "dense":
        return 1.0
    raise LLMViewerError(f"break-even density is defined for 'csr', 'bitmap' and 'dense', got {fmt!r}")


def _check_density(density: Any) -> None:
    import numpy as np

    d = np.asarray(density, dtype=float)
    if d.size == 0 or np.any(~np.isfinite(d)) or np.any(d <= 0) or np.any(d > 1):
        raise LLMViewerError(f"density must be in (0, 1], got {density!r}")


# --------------------------------------------------------------------------- a compressed pass


def _quantized_weight_elements(op: Any, p: Pass) -> Any:
    """Weight elements of a quantized projection that one instance reads in the pass (0 otherwise)."""
    if isinstance(op, ExpertLinear):
        return op.traffic(p).load_weight / p.w_bytes  # experts touched x in x out
    if isinstance(op, Linear) and op.quantized:
        return op.groups * op.in_f * op.out_f
    return 0


def compressed_pass(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    p: Pass,
    stage: str = "custom",
    weight_bits: Any = None,
    peak_multiplier: float = 1.0,
    dequant_ops: float = 0.0,
    dequant_tile: int | None = None,
    efficiency: Efficiency = PURE,
) -> StageResult:
    """Roofline of every operator of ``model`` for the pass ``p`` with the quantized projections
    (every block linear layer; not embeddings or ``lm_head``) compressed.

    ``weight_bits``: stored bits per weight position of those layers, metadata included (e.g.
    :func:`sparse_weight_bits`); None keeps ``p``'s ``w_bit`` plus group scales. Their OPs
    stay the dense count: dense kernels (and sparse tensor cores, counted in dense OPs) do all
    of them. ``peak_multiplier``: their compute peak relative to the units ``p``'s widths select
    (2 for 2:4 sparse tensor cores). ``dequant_ops``: vector OPs per weight element to turn a
    stored weight into the compute type, done once per ``dequant_tile`` tokens of the pass
    (None: once per pass); the time adds ``dequant OPs / vector peak`` to the compute term.
    Rows gain ``dequant_OPs`` (per instance) and the total ``dequant_OPs`` (whole model)."""
    m, hw = load_model(model), load_hardware(hardware)
    if peak_multiplier <= 0 or dequant_ops < 0:
        raise LLMViewerError("peak_multiplier must be > 0 and dequant_ops >= 0")
    if dequant_tile is not None and (int(dequant_tile) != dequant_tile or dequant_tile < 1):
        raise LLMViewerError(f"dequant_tile must be a positive integer or None, got {dequant_tile!r}")
    rows = []
    for op, t, bits in count_pass(m, p):
        n_w = _quantized_weight_elements(op, p)
        peak = peak_for_bits(hw, bits)
        deq = 0
        if isinstance(n_w, int) and n_w == 0:
            load_weight = t.load_weight
        else:
            stored = p.w_bytes if weight_bits is None else weight_bits / 8
            load_weight = t.load_weight + n_w * (stored - p.w_bytes)
            peak = peak * peak_multiplier
            passes = (
                1
                if dequant_tile is None
                else _ceil(op._tokens(p) if isinstance(op, Linear) else p.tokens, dequant_tile)
            )
            deq = dequant_ops * n_w * passes
        t = dataclasses.replace(t, load_weight=load_weight)
        mem = t.memory_access
        compute, memory, link, overhead = op_terms(op.kind, t.OPs, mem, t.link_bytes, peak, hw, p.tokens, efficiency)
        compute = compute + deq / (hw.vector_peak * efficiency.compute)
        time, bound = combine(compute, memory, link, overhead)
        rows.append(
            {
                "name": op.name,
                "kind": op.kind,
                "count": op.count,
                "OPs": t.OPs,
                "memory_access": mem,
                "arithmetic_intensity": t.OPs / mem,
                "performance": t.OPs / time,
                "load_weight": t.load_weight,
                "load_act": t.load_act,
                "store_act": t.store_act,
                "load_kv_cache": t.load_kv_cache,
                "store_kv_cache": t.store_kv_cache,
                "link_bytes": t.link_bytes,
                "inference_time": time,
                "bound": bound,
                "compute_dtype": dtype_for_bits(hw, bits),
                "dequant_OPs": deq,
            }
        )
    total = _totals(rows)
    total["dequant_OPs"] = sum(r["dequant_OPs"] * r["count"] for r in rows)
    return StageResult(stage=stage, layers=rows, total=total)


def _ceil(tokens: Any, tile: int) -> Any:
    import numpy as np

    return np.ceil(tokens / tile) if isinstance(tokens, np.ndarray) else math.ceil(tokens / tile)


def compressed_analyze(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    batch_size: Any = 1,
    seqlen: Any = 1024,
    weight_bits: Any = None,
    peak_multiplier: float = 1.0,
    dequant_ops: float = 0.0,
    dequant_tile: int | None = None,
    **options: Any,
) -> tuple[StageResult, StageResult]:
    """Prefill of a ``seqlen``-token prompt and one decode step after it, as
    :func:`llmviewer.analyze` sets them up (same ``options``), through :func:`compressed_pass`.
    Returns ``(prefill, decode)``."""
    check_options(options)
    pre, dec = stage_passes(batch_size, seqlen, **options)
    kw = dict(
        weight_bits=weight_bits, peak_multiplier=peak_multiplier, dequant_ops=dequant_ops, dequant_tile=dequant_tile
    )
    return compressed_pass(model, hardware, pre, "prefill", **kw), compressed_pass(model, hardware, dec, "decode", **kw)


def compressed_weight_bytes(model: str | ModelSpec | dict, weight_bits: Any, **options: Any) -> Any:
    """Bytes of parameters held when every quantized projection stores ``weight_bits`` bits per
    weight position (embeddings, ``lm_head``, norms and biases at their usual width)."""
    check_options(options)
    m = load_model(model)
    p, _ = stage_passes(1, 1, **options)
    total = 0
    for op in build_ops(m, tensor_parallel=p.tensor_parallel):
        wb = op.weight_bytes(p)
        if isinstance(op, Linear) and op.quantized and op.holds_params:
            n = op.num_experts * op.in_f * op.out_f if isinstance(op, ExpertLinear) else op.groups * op.in_f * op.out_f
            wb = wb + n * (weight_bits / 8 - p.w_bytes)
        total = total + wb * op.count
    return total


def dequant_slowdown(
    hardware: str | Hardware | dict, dequant_ops: float, dequant_tile: int, compute_bits: int = 16
) -> float:
    """Relative slow-down of a compute-bound weight-only GEMM from dequantization:
    ``dequant time / MMA time = dequant_ops * peak / (2 * dequant_tile * vector_peak)``
    (each weight element costs 2 OPs per token on the tensor cores, and ``dequant_ops`` per
    ``dequant_tile`` tokens on the vector units). Dimensionless."""
    hw = load_hardware(hardware)
    return dequant_ops * peak_for_bits(hw, compute_bits) / (2 * dequant_tile * hw.vector_peak)


# --------------------------------------------------------------------------- structured pruning


def prune_structured(
    model: str | ModelSpec | dict,
    heads: float = 1.0,
    intermediate: float = 1.0,
    layers: float = 1.0,
    hidden: float = 1.0,
) -> ModelSpec:
    """The smaller DENSE model left by structured pruning: keep the fraction ``heads`` of
    query heads (rounded to a multiple of the KV heads, so every KV group keeps the same number),
    ``intermediate`` of the MLP channels, ``layers`` of the decoder blocks and ``hidden`` of the
    embedding width (as SliceGPT deletes rows and columns). Fractions in (0, 1]; counts round
    to the nearest integer, at least 1. Dense, non-MLA models only."""
    m = load_model(model)
    if m.is_moe or m.uses_mla:
        raise LLMViewerError(f"{m.name}: structured pruning is implemented for dense models without MLA")
    for name, f in dict(heads=heads, intermediate=intermediate, layers=layers, hidden=hidden).items():
        if not 0 < f <= 1:
            raise LLMViewerError(f"{name} must be a fraction in (0, 1], got {f!r}")
    group = m.num_heads // m.num_kv_heads
    kv = m.num_kv_heads
    num_heads = max(round(m.num_heads * heads / kv), 1) * kv if group > 1 else max(round(m.num_heads * heads), 1)
    if group == 1:
        kv = num_heads  # multi-head attention: each head has its own K and V
    return dataclasses.replace(
        m,
        name=f"{m.name} (pruned)",
        num_heads=num_heads,
        num_kv_heads=kv,
        intermediate_size=max(round(m.intermediate_size * intermediate), 1),
        num_layers=max(round(m.num_layers * layers), 1),
        hidden_size=max(round(m.hidden_size * hidden), 1),
    )


# --------------------------------------------------------------------------- low rank


def low_rank_linear(
    in_f: int, out_f: int, rank: Any, tokens: Any, w_bits: Any = 16, a_bits: Any = 16
) -> dict[str, Any]:
    """OPs and bytes of a dense ``in_f -> out_f`` projection on ``tokens`` tokens, and of its
    rank-``rank`` factorization ``W ~ U V`` (``in_f -> rank -> out_f``, two unfused kernels: the
    ``rank``-wide intermediate is written and read back). Keys: ``dense_OPs``, ``dense_bytes``,
    ``low_rank_OPs``, ``low_rank_bytes`` and the pieces ``low_rank_first``/``low_rank_second``
    as (OPs, bytes) pairs. OPs and bytes."""
    wb, ab = w_bits / 8, a_bits / 8
    dense = (2 * tokens * in_f * out_f, in_f * out_f * wb + tokens * (in_f + out_f) * ab)
    first = (2 * tokens * in_f * rank, in_f * rank * wb + tokens * (in_f + rank) * ab)
    second = (2 * tokens * rank * out_f, rank * out_f * wb + tokens * (rank + out_f) * ab)
    return {
        "dense_OPs": dense[0],
        "dense_bytes": dense[1],
        "low_rank_OPs": first[0] + second[0],
        "low_rank_bytes": first[1] + second[1],
        "low_rank_first": first,
        "low_rank_second": second,
    }


def low_rank_break_even(in_f: int, out_f: int) -> float:
    """Rank below which the factorization has fewer parameters and OPs than the dense layer:
    ``r (in + out) < in * out``, i.e. ``r < in * out / (in + out)``."""
    return in_f * out_f / (in_f + out_f)


def low_rank_time(
    hardware: str | Hardware | dict,
    in_f: int,
    out_f: int,
    rank: Any,
    tokens: Any,
    w_bits: int = 16,
    a_bits: int = 16,
) -> tuple[Any, Any]:
    """Roofline seconds of the dense projection and of its rank-``rank`` factorization (the
    two kernels one after the other) on ``hardware``, at the peak of the units that the
    operand widths select. Returns ``(dense_seconds, low_rank_seconds)``."""
    from .workload import maximum, unit_bits

    hw = load_hardware(hardware)
    peak = peak_for_bits(hw, max(a_bits, unit_bits(w_bits)))
    c = low_rank_linear(in_f, out_f, rank, tokens, w_bits, a_bits)

    def t(ops: Any, nbytes: Any) -> Any:
        return maximum(ops / peak, nbytes / hw.memory_bandwidth)

    return t(c["dense_OPs"], c["dense_bytes"]), t(*c["low_rank_first"]) + t(*c["low_rank_second"])


# --------------------------------------------------------------------------- interactive figure


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

    from .analysis import analyze

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
    if hline is not None:
        fig.add_layout(Span(location=hline, dimension="width", line_dash="dashed", line_color="red"))
    fig.y_range.start = 0
    fig.legend.location = "top_right"
    return fig


# --------------------------------------------------------------------------- command line


def add_cli_parser(sub: Any) -> None:
    """Add ``llmviewer compress``: a model with sparse or dequantization-costed weights against
    the same workload without them."""
    from .cli import _add_workload_flags

    p = sub.add_parser("compress", help="prefill and decode with sparse weights or a dequantization cost")
    _add_workload_flags(p)
    p.add_argument("--seqlen", type=int, default=1024, help="prompt length; decode has this many tokens cached")
    p.add_argument("--sparsity", choices=SPARSE_FORMATS, default="dense", help="storage format of the block weights")
    p.add_argument("--density", type=float, default=0.5, help="fraction of weights kept (csr, bitmap; 2:4 is 0.5)")
    p.add_argument("--index-bits", "--index_bits", dest="index_bits", type=int, default=16,
                   help="bits of the column index per nonzero (csr)")  # fmt: skip
    p.add_argument("--dequant-ops", "--dequant_ops", dest="dequant_ops", type=float, default=0.0,
                   help="vector OPs per weight element to dequantize it")  # fmt: skip
    p.add_argument("--dequant-tile", "--dequant_tile", dest="dequant_tile", type=int, default=None,
                   help="tokens per GEMM tile, each dequantizing its weights (default: once per pass)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_cli(args: Any) -> int:
    """Run ``llmviewer compress`` from parsed arguments; returns the exit status."""
    import json

    from .analysis import resolve_efficiency
    from .cli import _device, si, workload_options

    options = workload_options(args)
    device = _device(args)
    eff = resolve_efficiency(args.calibrated)
    p, _ = stage_passes(1, 1, **options)
    if args.sparsity == "dense":
        bits, mult = None, 1.0
    else:
        value_bits = p.w_bytes * 8
        bits = sparse_weight_bits(args.density, value_bits, args.sparsity, args.index_bits)
        mult = SEMI_STRUCTURED_SPEEDUP if args.sparsity == "2:4" else 1.0
    pre, dec = stage_passes(args.batchsize, args.seqlen, **options)
    kw = dict(dequant_ops=args.dequant_ops, dequant_tile=args.dequant_tile, efficiency=eff)
    out = {}
    for label, wb, pm, extra in (("baseline", None, 1.0, {}), ("compressed", bits, mult, kw)):
        extra = extra or {"efficiency": eff}
        r_pre = compressed_pass(args.model, device, pre, "prefill", weight_bits=wb, peak_multiplier=pm, **extra)
        r_dec = compressed_pass(args.model, device, dec, "decode", weight_bits=wb, peak_multiplier=pm, **extra)
        weights = compressed_weight_bytes(args.model, p.w_bytes * 8 if wb is None else wb, **options)
        out[label] = {"prefill_s": r_pre.time, "decode_step_s": r_dec.time, "weight_bytes": weights}
    if args.json:
        extra = {"sparsity": args.sparsity, "density": args.density}
        extra.update(dequant_ops=args.dequant_ops, dequant_tile=args.dequant_tile)
        print(json.dumps({"settings": {**options, **extra}, **out}))
        return 0
    name = load_model(args.model).name
    print(f"{name} on {device.name}: batch {args.batchsize}, seqlen {args.seqlen}, weights {args.sparsity}")
    for label, r in out.items():
        print(
            f"  {label:<11} prefill {si(r['prefill_s'], 's'):>9}   decode step {si(r['decode_step_s'], 's'):>9}"
            f"   weights {si(r['weight_bytes'], 'B')}"
        )
    return 0
