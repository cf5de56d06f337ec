"""Helpers for the book's notebooks: numbers that read the same on every machine.

numpy picks SIMD code paths by CPU (AVX-512, AVX2, SSE), so the last bits of a float can differ
from one machine to the next. The book stores what a reader sees and nbval compares it, so every
number is rounded where a notebook produces it: glued values to :data:`GLUE_DIGITS` significant
digits (more than any format in the prose shows), tables and printed values to
:data:`SHOWN_DIGITS`. A last-bit difference then never reaches a stored output, while a number that
really changes still does.

Call :func:`setup_notebook` once at the top of a chapter; use :func:`glue` for numbers the prose
cites.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

GLUE_DIGITS = 6
"""Significant digits of a glued number (integer digits are always kept)."""
SHOWN_DIGITS = 4
"""Significant digits of floats in tables and printed values."""


def significant(value: float, digits: int = GLUE_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits, keeping every integer digit
    (1234567.8 -> 1234568 at 6 digits). Goes through the shortest decimal string, so two
    inputs that differ only in their last bits give the same float. NaN and infinities pass."""
    x = float(value)
    if not math.isfinite(x) or x == 0:
        return x
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return float(f"{x:.{decimals}f}")


def shown(value: float, digits: int = SHOWN_DIGITS) -> str:
    """``value`` as a reader sees it in a table: first made portable with :func:`significant`,
    then formatted with ``digits`` significant digits (``%g`` style)."""
    return f"{significant(value):.{digits}g}"


def portable(value: Any, digits: int = GLUE_DIGITS) -> Any:
    """A plain Python value for storing: numpy scalars become Python numbers, floats are
    rounded with :func:`significant`, lists and tuples are converted element by element."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | Integral | str) or value is None:
        return value
    if isinstance(value, Real):
        return significant(value, digits)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return type(value)(portable(v, digits) for v in value)
    return value


def glue(name: str, value: Any, digits: int = GLUE_DIGITS) -> None:
    """Store ``value`` under ``name`` for the prose (``{glue:text}`name:.1f```), rounded with
    :func:`portable`, without displaying it."""
    from myst_nb import glue as _glue

    _glue(name, portable(value, digits), display=False)


def _print_float(value: Any, printer: Any, cycle: bool) -> None:
    printer.text(repr(significant(value)))


def setup_notebook() -> None:
    """Make a notebook's visible numbers portable: pandas tables show floats with
    :data:`SHOWN_DIGITS` significant digits (via :func:`shown`); floats printed as a cell's value,
    alone or inside lists and tuples (and glued values), are rounded with :func:`significant`;
    numpy arrays print 6 digits."""
    import pandas as pd

    pd.options.display.float_format = shown
    np.set_printoptions(precision=GLUE_DIGITS, floatmode="maxprec", legacy=False)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is present wherever a notebook runs
        return
    shell = get_ipython()
    if shell is None:
        return
    text = shell.display_formatter.formatters["text/plain"]
    for kind in (float, np.floating):
        text.for_type(kind, _print_float)


def answer(values: dict[str, Any] | list[dict[str, Any]], formats: dict[str, str] | str = "{:,.2f}") -> Any:
    """A worked solution's result as a small labelled table: a pandas ``Styler``, index hidden,
    of one row (``values`` a dict) or a few (a list of dicts with the same keys). Each row maps
    a column label that names its unit ("time per output token (ms)") to a number or text;
    ``formats`` gives a format string per label or one for every float (floats without one show
    two decimals, integers ``{:,}``, text as is). Floats are made portable (:func:`significant`)
    before formatting, so a stored output never shows a machine's last bits."""
    import pandas as pd

    rows = [{k: portable(v) for k, v in r.items()} for r in (values if isinstance(values, list) else [values])]
    per = formats if isinstance(formats, dict) else {}
    fmt = {}
    for k, v in rows[0].items():
        if k in per:
            fmt[k] = per[k]
        elif isinstance(v, float):
            fmt[k] = formats if isinstance(formats, str) else "{:,.2f}"
        elif isinstance(v, int) and not isinstance(v, bool):
            fmt[k] = "{:,}"
    return pd.DataFrame(rows).style.hide(axis="index").format(fmt)
