"""Typed results: frozen dataclasses that share one JSON form and one table form.

A result class subclasses :class:`Result`: ``to_dict()`` gives plain values (numbers, lists,
names of models and devices) ready for ``json.dumps``; ``to_frame()`` gives a pandas DataFrame
with one row per setting (array fields broadcast against each other); ``result["field"]``,
``dict(result)``, ``{**result}`` and ``result | {...}`` read it like the dictionaries these
results replaced.
pandas is imported only by ``to_frame``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from .arrays import plain


def to_plain(value: Any) -> Any:
    """A JSON-ready copy of ``value``: results and dicts recursively, arrays as lists, models
    and devices (anything with a ``name`` and frozen fields) by their name."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__") and hasattr(value, "name"):
        return value.name
    return plain(value)


def frame(records: list[dict[str, Any]], index: str | None = None) -> Any:
    """A pandas DataFrame of ``records`` (one dict per row), indexed by the column ``index`` if given."""
    import pandas as pd

    table = pd.DataFrame(records)
    return table.set_index(index) if index else table


class Result:
    """Mixin of the result dataclasses: JSON form, table form and read access by field name."""

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain value (see :func:`to_plain`), in field order."""
        return {f.name: to_plain(getattr(self, f.name)) for f in fields(self)}

    def to_frame(self) -> Any:
        """A pandas DataFrame: one row per setting, a column per numeric or text field; array
        fields broadcast against each other (scalars repeat). Dict fields (settings) and models
        or devices are left out, except their names."""
        columns: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (dict, Result)):
                continue
            if hasattr(value, "__dataclass_fields__") and hasattr(value, "name"):
                value = value.name
            columns[f.name] = value
        arrays = [np.asarray(v) for v in columns.values() if isinstance(v, np.ndarray)]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        n = int(np.prod(shape)) if shape else 1
        rows = {k: np.broadcast_to(np.asarray(v), shape).ravel() if shape else [v] for k, v in columns.items()}
        return frame([{k: rows[k][i] for k in rows} for i in range(n)])

    def keys(self) -> list[str]:
        """Field names (so that ``dict(result)`` works)."""
        return [f.name for f in fields(self)]

    def __getitem__(self, key: str) -> Any:
        """The field ``key``, as ``result[key]`` read the dictionary this result replaced."""
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __or__(self, other: dict[str, Any]) -> dict[str, Any]:
        """``result | {...}``: the fields as a dict, with ``other``'s entries added."""
        return {**{k: getattr(self, k) for k in self.keys()}, **other}

    def __ror__(self, other: dict[str, Any]) -> dict[str, Any]:
        """``{...} | result``: a dict with the result's fields added."""
        return {**other, **{k: getattr(self, k) for k in self.keys()}}
