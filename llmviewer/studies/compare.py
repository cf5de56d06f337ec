"""Questions across devices and batch sizes: which device, which batch, does it fit.

Tables come back as pandas DataFrames. Units: seconds, bytes, bytes/s, OPs/s, tokens/s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..engine.analysis import analyze, fits, memory_footprint
from ..engine.generation import generate
from ..engine.roofline import peak_for_bits
from ..errors import LLMViewerError
from ..specs.hardware import Hardware, hardware_library, load_hardware, ridge_point
from ..specs.models import ModelSpec, load_model
from ..specs.workload import unit_bits


def _devices(devices: Iterable[str | Hardware] | None) -> list[Hardware]:
    return list(hardware_library().values()) if devices is None else [load_hardware(d) for d in devices]


def hardware_table(devices: Iterable[str | Hardware] | None = None) -> pd.DataFrame:
    """One row per device: capacity (bytes), bandwidth (bytes/s), dense 16-bit and 8-bit peaks
    (OPs/s, the units that 16- and 8-bit operands run on) and the 16-bit ridge point (OPs/byte)."""
    rows = []
    for hw in _devices(devices):
        peak16 = hw.peak(hw.compute_dtype(16))
        rows.append(
            {
                "device": hw.name,
                "vendor": hw.vendor,
                "kind": hw.kind,
                "year": hw.year,
                "memory_bytes": hw.memory_bytes,
                "memory_bandwidth": hw.memory_bandwidth,
                "peak_16bit": peak16,
                "peak_8bit": hw.peak(hw.compute_dtype(8)),
                "ridge_16bit": ridge_point(peak16, hw.memory_bandwidth),
            }
        )
    return pd.DataFrame(rows)


def memory_per_sequence(model: str | ModelSpec, seqlen: Any, kv_only: bool = False, **options: Any) -> tuple[Any, Any]:
    """(weight bytes, bytes that each extra sequence adds: its KV cache for ``seqlen`` tokens and,
    unless ``kv_only``, its share of the largest activation working set). Every per-sequence
    term of :func:`llmviewer.analyze`'s footprint is proportional to the batch, so
    ``total = weights + batch * per_sequence`` exactly. ``kv_only`` models a serving engine
    whose chunked prefill keeps activations small next to the KV cache."""
    mem = memory_footprint(model, batch_size=1, seqlen=seqlen, **options)
    return mem["weights"], mem["kv_cache"] if kv_only else mem["total"] - mem["weights"]


def max_batch_size(
    model: str | ModelSpec, hardware: str | Hardware, seqlen: Any, kv_only: bool = False, **options: Any
) -> Any:
    """Largest batch whose footprint (weights + KV cache of ``seqlen`` tokens + activations, or
    the KV cache alone with ``kv_only``) fits in one device's memory; 0 when even the weights
    do not fit. ``options`` as for :func:`llmviewer.analyze` (``tensor_parallel`` included)."""
    hw = load_hardware(hardware)
    weights, per_seq = memory_per_sequence(model, seqlen, kv_only=kv_only, **options)
    free = hw.memory_bytes - weights
    return (
        np.maximum(np.floor(free / per_seq), 0).astype(int)
        if isinstance(free, np.ndarray)
        else max(math.floor(free / per_seq), 0)
    )


def compute_bound_batch(
    model: str | ModelSpec,
    hardware: str | Hardware,
    seqlen: int,
    layer: str | None = None,
    max_batch: int = 1 << 16,
    **options: Any,
) -> int | None:
    """Smallest batch at which one decode step (or its operator ``layer``) is compute-bound on
    ``hardware`` with ``seqlen`` cached tokens; None if it stays memory-bound up to ``max_batch``.
    Found by bisection (about ``log2(max_batch)`` single analyses, no array of the whole range)."""
    from ..specs.workload import check_sizes

    max_batch = check_sizes("max_batch", max_batch)

    def compute_bound(batch: int) -> bool:
        res = analyze(model, hardware, batch_size=batch, seqlen=seqlen, stages=("decode",), **options).decode
        return (res.layer(layer)["bound"] if layer else res.total["bound"]) == "compute"

    # Compute time grows linearly in the batch and memory time more slowly (weights are read once
    # per step), so being compute-bound is monotone in the batch: bisect, O(log max_batch) analyses.
    if not compute_bound(max_batch):
        return None
    lo, hi = 0, max_batch  # memory-bound at lo (or lo = 0), compute-bound at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if compute_bound(mid) else (mid, hi)
    return hi


def compare_devices(
    model: str | ModelSpec,
    devices: Iterable[str | Hardware] | None = None,
    batch_size: int = 1,
    prompt_len: int = 1024,
    gen_len: int = 256,
    **options: Any,
) -> pd.DataFrame:
    """Every device on one generation task: time to first token and mean time per output token
    (s), throughput (tokens/s), memory needed and held (bytes) and whether it fits; fastest first."""
    m = load_model(model)
    rows = []
    for hw in _devices(devices):
        g = generate(m, hw, batch_size=batch_size, prompt_len=prompt_len, gen_len=gen_len, **options)
        fit = fits(m, hw, batch_size=batch_size, seqlen=prompt_len + gen_len, **options)
        rows.append(
            {
                "device": hw.name,
                "ttft": g.ttft,
                "tpot_mean": g.tpot_mean,
                "throughput": g.throughput,
                "memory_needed": fit.needed,
                "memory_bytes": hw.memory_bytes,
                "fits": bool(fit),
                "memory_bandwidth": hw.memory_bandwidth,
                "peak_16bit": hw.peak(hw.compute_dtype(16)),
            }
        )
    return pd.DataFrame(rows).sort_values("throughput", ascending=False, ignore_index=True)


RANK_METRICS = {"throughput": False, "ttft": True, "tpot_mean": True}
"""Columns :func:`rank_devices` can rank by, and whether smaller is better."""


def min_tensor_parallel(
    model: str | ModelSpec,
    hardware: str | Hardware,
    batch_size: int = 1,
    seqlen: int = 1024,
    max_devices: int = 8,
    **options: Any,
) -> int | None:
    """Fewest devices (1, 2, 4, ... up to ``max_devices``) that hold ``batch_size`` sequences of
    ``seqlen`` tokens with the model split tensor-parallel: the per-device footprint (weights,
    KV cache, activations; bytes) fits in one device's memory, the split divides the model's
    heads and widths, and the device has a link to its peers. None if no such count exists."""
    m, hw = load_model(model), load_hardware(hardware)
    n = 1
    while n <= max_devices:
        if n > 1 and hw.interconnect_bandwidth is None and hw.host_link_bandwidth is None:
            return None
        try:
            fit = fits(m, hw, batch_size=batch_size, seqlen=seqlen, tensor_parallel=n, **options)
        except ValueError:  # the split does not divide the model; a larger one will not either
            return None
        if fit:
            return n
        n *= 2
    return None


def rank_devices(
    model: str | ModelSpec,
    devices: Iterable[str | Hardware] | None = None,
    batch_size: int = 1,
    prompt_len: int = 1024,
    gen_len: int = 256,
    by: str = "throughput",
    max_devices: int = 1,
    calibration: Any = None,
    **options: Any,
) -> pd.DataFrame:
    """Every device (default: the whole library) on one generation task, ranked by ``by``
    (``throughput``: highest first; ``ttft`` or ``tpot_mean``: lowest first). Each device runs
    the task on the fewest tensor-parallel devices that hold it (:func:`min_tensor_parallel`, up
    to ``max_devices``); devices that cannot hold it run it on one device, are marked
    ``fits=False`` and rank after all that fit. Columns: ``rank``, ``device``, ``vendor``,
    ``kind``, ``year``, ``devices`` (tensor-parallel count), ``ttft`` and ``tpot_mean`` (s),
    ``throughput`` (generated tokens/s of the group) and ``throughput_per_device``,
    ``memory_needed`` (bytes per device), ``memory_bytes``, ``fits``, ``memory_bandwidth``
    (bytes/s) and ``peak`` (OPs/s of the units that run the weights' matmuls)."""
    if by not in RANK_METRICS:
        raise LLMViewerError(f"by must be one of {', '.join(RANK_METRICS)}, got {by!r}")
    m = load_model(model)
    seqlen = prompt_len + gen_len
    rows = []
    for hw in _devices(devices):
        n = min_tensor_parallel(m, hw, batch_size, seqlen, max_devices, **options)
        tp = n or 1
        g = generate(
            m, hw, batch_size=batch_size, prompt_len=prompt_len, gen_len=gen_len, calibration=calibration,
            tensor_parallel=tp, **options,
        )  # fmt: skip
        need = memory_footprint(m, batch_size=batch_size, seqlen=seqlen, tensor_parallel=tp, **options)["total"]
        bits = int(unit_bits(max(options.get("w_bit", 16), options.get("a_bit", 16))))
        rows.append(
            {
                "device": hw.name,
                "vendor": hw.vendor,
                "kind": hw.kind,
                "year": hw.year,
                "devices": tp,
                "ttft": float(g.ttft),
                "tpot_mean": float(g.tpot_mean),
                "throughput": float(g.throughput),
                "throughput_per_device": float(g.throughput) / tp,
                "memory_needed": float(need),
                "memory_bytes": hw.memory_bytes,
                "fits": n is not None,
                "memory_bandwidth": hw.memory_bandwidth,
                "peak": peak_for_bits(hw, bits),
            }
        )
    table = pd.DataFrame(rows)
    table = table.sort_values(["fits", by], ascending=[False, RANK_METRICS[by]], kind="stable", ignore_index=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table
