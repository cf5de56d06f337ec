"""How the command line shows results: SI-prefixed numbers, JSON documents, pandas tables."""

from __future__ import annotations

import json
import math
from typing import Any

_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


UNDEFINED = {
    "tpot_mean": "one generated token: no decode step, so no time per output token",
    "tpot": "one generated token: no decode step, so no time per output token",
    "memory_bytes": "memory capacity not given",
}
"""Why a quantity can be undefined (by its JSON key); shown as ``n/a (reason)`` in text and as
``null`` with the reason under ``"undefined"`` in JSON."""
NOT_A_NUMBER = "not a finite number for this input"


def si(value: float, unit: str = "", reason: str = NOT_A_NUMBER) -> str:
    """``value`` with an SI prefix, 3 significant digits (e.g. ``1.23 G``); seconds below 1 in ms
    or us; ``n/a (reason)`` when it is undefined (None, NaN or infinite)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f"n/a ({reason})"
    if value == 0:
        return f"0 {unit}".rstrip()
    value = float(f"{value:.3g}")  # round first, so 999.9 M reads 1 G (not 1e+03 M)
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    if abs(value) < 1e-3 and unit == "s":
        return f"{value * 1e6:.3g} us"
    if abs(value) < 1 and unit == "s":
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} {unit}".rstrip()


def strict(document: Any) -> Any:
    """``document`` (numpy scalars and arrays as plain numbers and lists) with every NaN or
    infinity replaced by ``null``; a dict document gains ``"undefined"``: the path of each such
    value -> why it is undefined (see :data:`UNDEFINED`)."""
    from ..arrays import plain

    reasons: dict[str, str] = {}

    def walk(value: Any, path: str) -> Any:
        value = plain(value) if not isinstance(value, (dict, list, tuple, str, int, float, type(None))) else value
        if isinstance(value, dict):
            return {str(k): walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, float) and not math.isfinite(value):
            reasons[path] = UNDEFINED.get(path.rsplit(".", 1)[-1].split("[")[0], NOT_A_NUMBER)
            return None
        return value

    out = walk(document, "")
    if reasons and isinstance(out, dict):
        out["undefined"] = reasons
    return out


def print_json(document: Any) -> int:
    """Print one strict JSON document (no NaN or Infinity: see :func:`strict`); returns 0."""
    print(json.dumps(strict(document), allow_nan=False))
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
    """Write a pandas DataFrame to ``path`` and say so; returns 0. A folder, a missing folder or
    an unwritable file is one clear line (:class:`~llmviewer.errors.LLMViewerError`)."""
    from pathlib import Path

    from ..errors import LLMViewerError

    target = Path(path)
    if target.is_dir():
        raise LLMViewerError(f"--csv {path}: is a folder; give a file name, e.g. {target / 'table.csv'}")
    if not target.parent.is_dir():
        raise LLMViewerError(f"--csv {path}: folder {str(target.parent)!r} does not exist; create it first")
    try:
        table.to_csv(target, index=False)
    except OSError as e:
        raise LLMViewerError(f"--csv {path}: cannot write ({e.strerror or e})") from None
    print(f"wrote {path}")
    return 0
