"""Element-wise helpers that work on Python numbers and numpy arrays alike.

Scalars stay Python numbers (fast single analyses); any array argument makes the result an
array (sweeps). ``plain`` turns results into JSON-ready values.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def minimum(a: Any, b: Any) -> Any:
    """Element-wise minimum."""
    return np.minimum(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else min(a, b)


def maximum(a: Any, b: Any) -> Any:
    """Element-wise maximum."""
    return np.maximum(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else max(a, b)


def clip(x: Any, lo: Any, hi: Any) -> Any:
    """Element-wise ``min(max(x, lo), hi)``."""
    return minimum(maximum(x, lo), hi)


def where(cond: Any, a: Any, b: Any) -> Any:
    """Element-wise select: ``a`` where ``cond`` holds, else ``b``."""
    if isinstance(cond, np.ndarray) or isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.where(cond, a, b)
    return a if cond else b


def ratio(num: Any, den: Any) -> Any:
    """``num / den``, 0 where ``den`` is 0 (e.g. an operator fused away takes no time of its own)."""
    if isinstance(num, np.ndarray) or isinstance(den, np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    return num / den if den > 0 else 0.0


def plain(x: Any) -> Any:
    """A JSON-ready value: arrays become (nested) lists, numpy scalars Python numbers; anything
    else passes through."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x
