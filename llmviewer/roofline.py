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

from .errors import LLMViewerError
from .hardware import Hardware
from .workload import maximum, where

BOUNDS = ("compute", "memory", "communication")


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


def roofline_time(
    ops: Any, memory_bytes: Any, peak: Any, bandwidth: float, link_bytes: Any = 0, link_bw: float | None = None
) -> tuple[Any, Any]:
    """Time in seconds and the bound (``"compute"``, ``"memory"`` or ``"communication"``) of an
    operator doing ``ops`` OPs and moving ``memory_bytes`` bytes at ``peak`` OPs/s and
    ``bandwidth`` bytes/s, and sending ``link_bytes`` bytes at ``link_bw`` bytes/s."""
    compute = ops / peak
    memory = memory_bytes / bandwidth
    time = maximum(compute, memory)
    bound = where(compute > memory, "compute", "memory")
    if link_bw is not None:
        link = link_bytes / link_bw
        bound = where(link > time, "communication", bound)
        time = maximum(time, link)
    return time, bound
