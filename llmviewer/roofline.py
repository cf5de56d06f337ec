"""The roofline: attainable performance, bound and time of an operator on a device.

An operator doing ``OPs`` operations and moving ``bytes`` bytes takes
``max(OPs / peak, bytes / bandwidth)`` seconds: it is compute-bound when the first term is
larger, memory-bound otherwise. Works on numbers and numpy arrays alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .hardware import Hardware
from .workload import maximum


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


def roofline_time(ops: Any, memory_bytes: Any, peak: Any, bandwidth: float) -> tuple[Any, Any]:
    """Time in seconds, and whether compute (not memory) bounds it, for ``ops`` OPs moving
    ``memory_bytes`` bytes at ``peak`` OPs/s and ``bandwidth`` bytes/s."""
    compute = ops / peak
    memory = memory_bytes / bandwidth
    return maximum(compute, memory), compute > memory
