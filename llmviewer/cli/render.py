"""How the command line shows results: SI-prefixed numbers, JSON documents, pandas tables."""

from __future__ import annotations

import json
import math
from typing import Any

_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float, unit: str = "") -> str:
    """``value`` with an SI prefix, 3 significant digits (e.g. ``1.23 G``); seconds below 1 in ms
    or us."""
    if value == 0:
        return f"0 {unit}".rstrip()
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} {unit}".rstrip()
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    if abs(value) < 1e-3 and unit == "s":
        return f"{value * 1e6:.3g} us"
    if abs(value) < 1 and unit == "s":
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} {unit}".rstrip()


def print_json(document: Any) -> int:
    """Print one JSON document (numpy scalars and arrays as plain numbers and lists); returns 0."""
    from ..arrays import plain

    print(json.dumps(document, default=plain))
    return 0


def table_text(
    table: Any, formats: dict[str, Any], headers: dict[str, str] | None = None, left: tuple[str, ...] = ()
) -> str:
    """The columns of ``formats`` of a pandas DataFrame as text, each cell through its format
    function, renamed by ``headers``; pandas lays the table out, the columns ``left`` (names,
    before renaming) left-aligned, the others right-aligned."""
    shown = table[list(formats)].copy()
    for column, fmt in formats.items():
        cells = [fmt(v) for v in shown[column]]
        if column in left:
            title = (headers or {}).get(column, column)
            width = max(len(title), *(len(c) for c in cells))
            cells = [c.ljust(width) for c in cells]
            headers = {**(headers or {}), column: title.ljust(width)}
        shown[column] = cells
    return shown.rename(columns=headers or {}).to_string(index=False)


def write_csv(table: Any, path: str) -> int:
    """Write a pandas DataFrame to ``path`` and say so; returns 0."""
    table.to_csv(path, index=False)
    print(f"wrote {path}")
    return 0
