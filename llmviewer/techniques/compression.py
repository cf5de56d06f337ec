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
:mod:`llmviewer.engine.operators`. With every option at its default, :func:`compressed_pass` gives
exactly what :func:`llmviewer.evaluate_pass` gives.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..engine.analysis import StageResult, count_pass, layer_row, totals
from ..engine.efficiency import PURE, Efficiency, resolve_efficiency
from ..engine.graph import build_ops
from ..engine.operators import ExpertLinear, Linear
from ..engine.roofline import pass_time, peak_for_bits
from ..errors import LLMViewerError
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import ModelSpec, load_model
from ..specs.workload import Pass, accepts_workload, check_options, make_pass, stage_passes

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
        _check_index_bits(index_bits)
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


def _check_index_bits(index_bits: Any) -> None:
    import numpy as np

    b = np.asarray(index_bits)
    if b.dtype.kind not in "iuf" or b.size == 0 or np.any(~np.isfinite(b)) or np.any(b < 1) or np.any(b > 64):
        raise LLMViewerError(f"index_bits must be bits per column index in 1..64, got {index_bits!r}")


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
    if not 0 < peak_multiplier < math.inf:
        raise LLMViewerError(f"peak_multiplier must be a finite number > 0, got {peak_multiplier!r}")
    if not 0 <= dequant_ops < math.inf:
        raise LLMViewerError(f"dequant_ops must be a finite number >= 0 (vector OPs per weight), got {dequant_ops!r}")
    if dequant_tile is not None and (int(dequant_tile) != dequant_tile or dequant_tile < 1):
        raise LLMViewerError(f"dequant_tile must be a positive integer or None, got {dequant_tile!r}")
    rows = []
    for op, t, bits in count_pass(m, p):
        n_w = _quantized_weight_elements(op, p)
        peak = peak_for_bits(hw, bits)
        deq = 0
        if not (isinstance(n_w, int) and n_w == 0):
            stored = p.w_bytes if weight_bits is None else weight_bits / 8
            t = dataclasses.replace(t, load_weight=t.load_weight + n_w * (stored - p.w_bytes))
            peak = peak * peak_multiplier
            passes = (
                1
                if dequant_tile is None
                else _ceil(op._tokens(p) if isinstance(op, Linear) else p.tokens, dequant_tile)
            )
            deq = dequant_ops * n_w * passes
        dequant_time = deq / (hw.vector_peak * efficiency.compute)
        row = layer_row(op, t, bits, hw, p.tokens, efficiency, peak=peak, extra_compute=dequant_time)
        rows.append({**row, "dequant_OPs": deq})
    total = totals(rows)
    total["dequant_OPs"] = sum(r["dequant_OPs"] * r["count"] for r in rows)
    return StageResult(stage=stage, layers=rows, total=total)


def _ceil(tokens: Any, tile: int) -> Any:
    import numpy as np

    return np.ceil(tokens / tile) if isinstance(tokens, np.ndarray) else math.ceil(tokens / tile)


@accepts_workload(batch_size="batch_size", seqlen="prompt_len")
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
    return m.resized(
        name=f"{m.name} (pruned)",
        num_heads=num_heads,
        num_kv_heads=kv,
        intermediate_size=max(round(m.intermediate_size * intermediate), 1),
        num_layers=max(round(m.num_layers * layers), 1),
        hidden_size=max(round(m.hidden_size * hidden), 1),
    )


# --------------------------------------------------------------------------- low rank


def _low_rank_ops(in_f: int, out_f: int, rank: Any) -> tuple[Linear, Linear, Linear]:
    """The dense ``in_f -> out_f`` projection and the two kernels of its rank-``rank`` factorization."""
    return (
        Linear("dense", "matmul", 1, in_f=in_f, out_f=out_f),
        Linear("low_rank_first", "matmul", 1, in_f=in_f, out_f=rank),
        Linear("low_rank_second", "matmul", 1, in_f=rank, out_f=out_f),
    )


def low_rank_linear(
    in_f: int, out_f: int, rank: Any, tokens: Any, w_bits: Any = 16, a_bits: Any = 16
) -> dict[str, Any]:
    """OPs and bytes of a dense ``in_f -> out_f`` projection on ``tokens`` tokens, and of its
    rank-``rank`` factorization ``W ~ U V`` (``in_f -> rank -> out_f``, two unfused kernels: the
    ``rank``-wide intermediate is written and read back), counted by the engine's
    :class:`~llmviewer.engine.operators.Linear`. Keys: ``dense_OPs``, ``dense_bytes``,
    ``low_rank_OPs``, ``low_rank_bytes`` and the pieces ``low_rank_first``/``low_rank_second``
    as (OPs, bytes) pairs. OPs and bytes."""
    p = make_pass(tokens, 1, 0, 1, w_bit=w_bits, a_bit=a_bits)
    dense, first, second = (
        (t.OPs, t.memory_access) for t in (op.traffic(p) for op in _low_rank_ops(in_f, out_f, rank))
    )
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
    hw = load_hardware(hardware)
    p = make_pass(tokens, 1, 0, 1, w_bit=w_bits, a_bit=a_bits)
    dense, first, second = ([(op, op.traffic(p), op.compute_bits(p))] for op in _low_rank_ops(in_f, out_f, rank))
    return pass_time(dense, hw, p.tokens), pass_time(first, hw, p.tokens) + pass_time(second, hw, p.tokens)


def compare_compression(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    batch_size: Any = 1,
    seqlen: Any = 1024,
    sparsity: str = "dense",
    density: float = 0.5,
    index_bits: int = 16,
    dequant_ops: float = 0.0,
    dequant_tile: int | None = None,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """A model with its block weights stored in ``sparsity`` (see :func:`sparse_weight_bits`; 2:4
    runs at twice the dense peak) and dequantized at ``dequant_ops`` vector OPs per weight
    (see :func:`compressed_pass`), against the same workload without either. Returns, for
    ``baseline`` and ``compressed``: ``prefill_s`` (a ``seqlen``-token prompt) and
    ``decode_step_s`` (one step with ``seqlen`` cached tokens) in seconds, ``weight_bytes`` in bytes."""
    check_options(options)
    eff = resolve_efficiency(calibration)
    p, _ = stage_passes(1, 1, **options)
    if sparsity == "dense":
        bits, mult = None, 1.0
    else:
        bits = sparse_weight_bits(density, p.w_bytes * 8, sparsity, index_bits)
        mult = SEMI_STRUCTURED_SPEEDUP if sparsity == "2:4" else 1.0
    pre, dec = stage_passes(batch_size, seqlen, **options)
    costs = dict(dequant_ops=dequant_ops, dequant_tile=dequant_tile)
    out = {}
    for label, wb, pm, extra in (("baseline", None, 1.0, {}), ("compressed", bits, mult, costs)):
        kw = dict(weight_bits=wb, peak_multiplier=pm, efficiency=eff, **extra)
        out[label] = {
            "prefill_s": compressed_pass(model, hardware, pre, "prefill", **kw).time,
            "decode_step_s": compressed_pass(model, hardware, dec, "decode", **kw).time,
            "weight_bytes": compressed_weight_bytes(model, p.w_bytes * 8 if wb is None else wb, **options),
        }
    return out
