"""The roofline: attainable performance, bound and time of an operator on a device.

An operator doing ``OPs`` operations and moving ``bytes`` bytes takes
``max(OPs / peak, bytes / bandwidth)`` seconds: it is compute-bound when the first term is
larger, memory-bound otherwise. A collective adds a third roof: the bytes it sends over the
device-to-device link divided by the link's bandwidth ("communication"-bound). Works on
numbers and numpy arrays alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays import maximum, where
from ..errors import LLMViewerError
from ..specs.hardware import Hardware, ridge_point
from .efficiency import PURE, Efficiency

BOUNDS = ("compute", "memory", "communication")
__all__ = ["BOUNDS", "combine", "dtype_for_bits", "forward_time", "link_bandwidth", "op_terms", "op_time", "pass_time",
           "peak_for_bits", "ridge_point", "roofline_time", "rows_of"]  # fmt: skip


def peak_for_bits(hw: Hardware, bits: Any) -> Any:
    """Peak OPs/s of the units that run operands of ``bits`` bits (None: vector units)."""
    if bits is None:
        return hw.vector_peak
    if isinstance(bits, np.ndarray):
        widths = (4, 8, 16, 32)
        return np.select([bits == w for w in widths], [hw.peak(hw.compute_dtype(w)) for w in widths])
    return hw.peak(hw.compute_dtype(int(bits)))


def dtype_for_bits(hw: Hardware, bits: Any) -> Any:
    """Name of the data type whose peak applies (``"vector"`` for element-wise work)."""
    if bits is None:
        return "vector"
    if isinstance(bits, np.ndarray):
        widths = (4, 8, 16, 32)
        return np.select([bits == w for w in widths], [hw.compute_dtype(w) for w in widths], "")
    return hw.compute_dtype(int(bits))


def link_bandwidth(hw: Hardware) -> float:
    """Bytes/s per direction between devices: the interconnect, else the host link (PCIe)."""
    bw = hw.interconnect_bandwidth or hw.host_link_bandwidth
    if bw is None:
        raise LLMViewerError(f"{hw.name} lists no interconnect or host-link bandwidth, needed for tensor parallelism")
    return bw


def roofline_time(ops: Any, memory_bytes: Any, peak: Any, bandwidth: float) -> tuple[Any, Any]:
    """Time in seconds and bound (``"compute"`` or ``"memory"``) of an operator doing ``ops``
    OPs and moving ``memory_bytes`` bytes at ``peak`` OPs/s and ``bandwidth`` bytes/s."""
    return combine(ops / peak, memory_bytes / bandwidth, 0, 0.0)


def op_terms(
    kind: str,
    ops: Any,
    memory_bytes: Any,
    link_bytes: Any,
    peak: Any,
    hw: Hardware,
    tokens: Any,
    eff: Efficiency = PURE,
) -> tuple[Any, Any, Any, float]:
    """The four parts of an operator's time in seconds: compute ``OPs / attained peak``, memory
    ``bytes / attained bandwidth``, link ``link bytes / attained link bandwidth`` (0 unless a
    collective), and the fixed per-instance overhead (plus ``eff.collective_latency`` for a
    collective). Time = max(first three) + overhead. ``tokens``: the rows of the operator's
    matrix product (the pass's tokens, or an operator's own rows, see :func:`rows_of`)."""
    if eff is PURE and kind != "communication":  # the lines below with every fraction 1 and no overhead
        return ops / peak, memory_bytes / hw.memory_bandwidth, 0, 0.0
    if eff.fuse_elementwise and kind == "elementwise":
        return 0 * ops, 0 * memory_bytes, 0, 0.0
    eff = eff.on(hw)  # the device family's fractions, where the calibration has them
    compute = ops / eff.attained_peak(kind, peak, tokens)
    memory = memory_bytes / eff.attained_bandwidth(kind, hw)
    link = link_bytes / (link_bandwidth(hw) * eff.link) if kind == "communication" else 0
    overhead = eff.operator_overhead + (eff.collective_latency if kind == "communication" else 0.0)
    return compute, memory, link, overhead


def rows_of(traffic: Any, tokens: Any) -> Any:
    """Rows whose count sets an operator's calibrated compute efficiency: its own
    (:attr:`~llmviewer.engine.operators.Traffic.rows`, e.g. ``lm_head`` on the last positions)
    when it has them, else the pass's ``tokens``."""
    return tokens if traffic.rows is None else traffic.rows


def combine(compute: Any, memory: Any, link: Any, overhead: float) -> tuple[Any, Any]:
    """Time in seconds and bound from :func:`op_terms`' parts."""
    if type(compute) is float and type(memory) is float and type(link) is int and link == 0:
        # scalars without a link term (a single analysis): the same max and comparison as below
        return (memory if memory > compute else compute) + overhead, ("compute" if compute > memory else "memory")
    time = maximum(compute, memory)
    bound = where(compute > memory, "compute", "memory")
    if not (isinstance(link, (int, float)) and link == 0):
        bound = where(link > time, "communication", bound)
        time = maximum(time, link)
    return time + overhead, bound


def op_time(
    kind: str, traffic: Any, peak: Any, hw: Hardware, tokens: Any, eff: Efficiency = PURE, extra_compute: Any = 0.0
) -> tuple[Any, Any]:
    """Seconds and bound of ONE operator instance: its :class:`~llmviewer.engine.operators.Traffic`
    on ``hw`` at ``peak`` OPs/s, in a pass of ``tokens`` tokens, under ``eff``. ``extra_compute``
    (seconds) joins the compute term (e.g. dequantization on the vector units). The one
    per-operator evaluation every module uses."""
    compute, memory, link, overhead = op_terms(
        kind, traffic.OPs, traffic.memory_access, traffic.link_bytes, peak, hw, rows_of(traffic, tokens), eff
    )
    return combine(compute + extra_compute, memory, link, overhead)


def pass_time(counted: Any, hw: Hardware, tokens: Any, eff: Efficiency = PURE) -> Any:
    """Seconds of one forward pass of ``tokens`` tokens: the sum over its operators of instances x
    :func:`op_time`. ``counted``: ``(op, traffic, compute bits)`` triples, as
    :func:`llmviewer.engine.analysis.count_pass` gives them."""
    total = 0.0
    for op, t, bits in counted:
        total = total + op.count * op_time(op.kind, t, peak_for_bits(hw, bits), hw, tokens, eff)[0]
    return total


def forward_time(counted: Any, hw: Hardware, p: Any, eff: Efficiency = PURE, decode: bool = False) -> Any:
    """Seconds of the forward pass ``p`` (a :class:`~llmviewer.specs.workload.Pass`) of operators
    ``counted`` (as :func:`pass_time`), under ``eff`` made specific to the pass by
    :meth:`~llmviewer.engine.efficiency.Efficiency.for_pass` (dequantising matrix products of
    weight-only formats; ``decode``: a generation step, replayed as one graph by engines that
    capture them, which then costs its fixed ``step_overhead`` instead of per-operator overheads).
    The one calibrated path: every module that times a whole pass under a calibration calls it."""
    eff = eff.for_pass(p, decode)
    return pass_time(counted, hw, p.tokens, eff) + eff.step_cost
