"""One generic lookup explorer: Python computes every setting's results, the page only finds the row.

An explorer is a table with one row per setting of a grid (the axes, in row-major "C" order: the
last axis varies fastest) holding everything the page shows: times, bounds, memory, and the
readout text already formatted (with units). Each axis is chosen by a widget (a ``Select`` whose
options are the axis values in order, a ``RadioButtonGroup``, or an index ``Slider``) or by none (a
curve runs along it). :class:`Lookup` passes the table, the strides of the grid and the targets to
ONE piece of JavaScript (:data:`LOOKUP_JS`): it reads the widgets, computes the row
``sum(index * stride)`` (the only offset computation, the strides coming from Python's
:func:`strides`) and copies values from that row (or from the rows along one axis, for a curve)
into Bokeh sources and model properties, and fills text templates with the row's formatted
strings. The same lookup is applied in Python when the figure is built, so readouts are filled
before any interaction and without JavaScript.

Storage is compact, so that large grids fit in a notebook: each column is stored only along the
axes it changes on (a device's bandwidth once per device, not once per setting); strings, and
numbers with few distinct values, as codes of 1, 2 or 4 bytes into their distinct values; columns
of a :class:`Shared` group once per distinct row along some axes (an operator's times on every
device, once per distinct operator); numbers that the page shows to a few digits as
:class:`Log16` codes chosen so that the page shows exactly Python's digits. Numbers travel as
typed arrays (base64). A readout is best a template whose fields are short, often repeated
strings, or numbers the page writes with JavaScript's shortest digits (:func:`js_number`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ..errors import LLMViewerError

LOOKUP_JS = """
const at = [];
for (let k = 0; k < widgets.length; k++) {
  const w = widgets[k], kind = kinds[k];
  let i = 0;
  if (kind === "radio") i = w.active;
  else if (kind === "select") i = w.options.indexOf(w.value);
  else if (kind === "slider") i = Math.min(Math.max(Math.round((w.value - w.start) / w.step), 0), dims[k] - 1);
  if (labels[k] !== null) labels[k].text = texts[k][i];
  at.push(i);
}
const pos = (c, ix) => {
  let p = c.key === null ? 0 : cols[c.key].v[pos(cols[c.key], ix)] * c.n;
  for (let k = 0; k < ix.length; k++) p += ix[k] * c.s[k];
  return p;
};
const value = (name, ix) => {
  const c = cols[name], x = c.v[pos(c, ix)];
  if (c.kind === "levels") return c.levels[x];
  if (c.kind === "log") return x === 65535 ? NaN : x === 0 ? 0 : 10 ** (c.a + (x - 1) * c.b);
  return x;
};
const fill = (t, ix) => t.replace(/\\{(\\w+)\\}/g, (_, c) => value(c, ix));
for (const [src, axis, pairs] of curves) {
  const data = Object.assign({}, src.data);
  for (const [to, from] of pairs) {
    const out = [];
    for (let j = 0; j < dims[axis]; j++) out.push(value(from, at.map((i, k) => (k === axis ? j : i))));
    data[to] = out;
  }
  src.data = data;
}
for (const [src, pairs] of points) {
  const data = Object.assign({}, src.data);
  for (const [to, from] of pairs) data[to] = from.map((c) => value(c, at));
  src.data = data;
}
for (const [model, attr, column, template] of props) {
  model[attr] = template === null ? value(column, at) : fill(template, at);
}
"""
"""The explorers' one piece of JavaScript. Arguments (from :meth:`Lookup.callback`): ``cols`` (column
name -> its stored form, see :meth:`Lookup.stored`), ``widgets``, ``kinds`` ("select", "radio",
"slider" or "none"), ``labels``/``texts`` (a Div above a slider and its text for each index), ``dims``
of the grid, ``curves``, ``points``, ``props`` (see :class:`Curve`, :class:`Point`, :class:`Prop`).
Defines ``at`` (the grid index) and ``value(column, index)``. A column's value at a grid index is
``v[p]`` with ``p = sum(index * s)`` (its own strides, 0 along axes it does not vary on) plus, for a
column of a :class:`Shared` group, ``n`` times the group's code at that index; then decoded: a
string or number of ``levels``, a :class:`Log16` code, or the number itself."""


def strides(dims: Sequence[int]) -> list[int]:
    """Row-major (C order) strides, in rows, of a grid of ``dims``: the last axis varies fastest."""
    out, step = [], 1
    for n in reversed(dims):
        out.append(step)
        step *= int(n)
    return out[::-1]


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid: its ``values`` in table order, the ``widget`` that picks one (a
    Select whose options are those values as text, a RadioButtonGroup, an index Slider; None for an
    axis no widget picks, e.g. the x of a curve) and, for a slider, the ``label`` shown above it
    for each value (e.g. "batch size: 64"; replaces Bokeh's "title: value")."""

    name: str
    values: Sequence[Any]
    widget: Any = None
    label: Sequence[str] | None = None


@dataclass(frozen=True)
class Curve:
    """Source columns filled with a store column along one axis, through the selected row."""

    source: Any
    axis: str
    columns: Mapping[str, str]


@dataclass(frozen=True)
class Point:
    """Source columns filled with the selected row's value of one or several store columns
    (a list of columns gives a source column of that many values, e.g. bars)."""

    source: Any
    columns: Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Prop:
    """A model property set to the selected row's ``column``, or to ``template`` with every
    ``{column}`` replaced by the row's (already formatted) value."""

    model: Any
    attr: str
    column: str | None = None
    template: str | None = None


def _kind(widget: Any) -> str:
    from bokeh.models import RadioButtonGroup, Select, Slider

    if widget is None:
        return "none"
    for cls, kind in ((Select, "select"), (RadioButtonGroup, "radio"), (Slider, "slider")):
        if isinstance(widget, cls):
            return kind
    raise LLMViewerError(f"lookup explorer: widget {type(widget).__name__} is not a Select, RadioButtonGroup or Slider")


@dataclass(frozen=True)
class Log16:
    """A positive number column sent as 16-bit codes on a log scale: code 0 is 0, 65535 is NaN
    (no value), code ``c`` in 1..65533 is ``10 ** (a + (c - 1) * b)`` with ``a``, ``b`` chosen from
    the column's range (``b`` at most ``log10(1e16) / 65532``: a relative step of at most
    :data:`LOG16_STEP` for a range of 16 decades). With ``render`` (the Python twin of how the page
    shows the number, e.g. :func:`js_precision`), each value gets, among the codes next to it, the
    nearest one that the page shows exactly as it shows the value itself, also a part in 10^12 either
    side of the decoded number (so that no last-bit difference between JavaScript's and Python's
    ``10 ** x`` can change a digit); a value no code shows that way is an error."""

    render: Callable[[float], str] | None = None


LOG16_STEP = 10 ** (16 / 65532) - 1
"""Relative spacing of :class:`Log16` codes over a 16-decade range (about 5.6e-4): finer than the
spacing of 3-significant-digit numbers (at least 1e-3), so one of two neighbouring codes always
shows the same 3 digits as the exact value."""


@dataclass(frozen=True)
class Shared:
    """Columns stored once per distinct row of values along the ``along`` axes: the grid cells of
    the other axes get a code (one small column) and each column a table of (distinct row, along
    axes). For values that depend on a few things jointly, e.g. an operator's time on each device
    (``along=("device",)``), repeated for every setting that gives the operator the same counts."""

    columns: Sequence[str]
    along: Sequence[str]


def js_precision(x: float, digits: int = 3) -> str:
    """JavaScript's ``String(Number(x.toPrecision(digits)))`` (Bokeh's printf ``%.<digits>g``) in
    Python: ``digits`` significant digits of the exact binary value (a tie rounds away from zero),
    written as JavaScript writes a number (no exponent from 1e-6 to 1e21)."""
    if math.isnan(x):
        return "NaN"
    if x == 0:
        return "0"
    exact = Decimal(x)
    exp = exact.adjusted() - digits + 1
    rounded = exact.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP)
    return js_number(float(rounded))


def js_number(x: float) -> str:
    """JavaScript's ``String(x)`` for a finite number: the shortest digits that round-trip (as
    Python's ``repr``), in decimal notation for 1e-6 <= |x| < 1e21, else as ``d.ddde+n``."""
    if x == 0:
        return "0"
    sign, digits, exp = Decimal(repr(abs(x))).normalize().as_tuple()
    d = "".join(map(str, digits))
    k, n = len(d), len(d) + exp  # x = 0.d * 10^n
    out = (
        d + "0" * (n - k) if k <= n <= 21
        else d[:n] + "." + d[n:] if 0 < n <= 21
        else "0." + "0" * -n + d if -6 < n <= 0
        else d[0] + ("." + d[1:] if k > 1 else "") + "e" + ("+" if n - 1 >= 0 else "-") + str(abs(n - 1))
    )  # fmt: skip
    return ("-" if x < 0 else "") + out


def js_text(v: Any) -> str:
    """How JavaScript writes ``v`` into a string (``String(v)``): numbers as :func:`js_number`."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else js_number(v)
    return str(v)


def log16_encode(values: Any, render: Callable[[float], str] | None = None) -> tuple[np.ndarray, float, float]:
    """(codes, a, b) of :class:`Log16` for ``values`` (>= 0 or NaN); see there."""
    v = np.asarray(values, dtype=np.float64)
    pos = v[np.isfinite(v) & (v > 0)]
    if np.any(v < 0) or np.any(np.isinf(v)):
        raise LLMViewerError("lookup explorer: a Log16 column holds only numbers >= 0 or NaN")
    codes = np.where(np.isnan(v), 65535, 0).astype(np.uint16)
    if not pos.size:
        return codes, 0.0, 1.0
    a = math.log10(float(pos.min()))
    b = max((math.log10(float(pos.max())) - a) / 65532, 16 / 65532 * 1e-6)
    if b > 16 / 65532:
        raise LLMViewerError("lookup explorer: a Log16 column spans more than 16 decades")
    uniq, inverse = np.unique(pos, return_inverse=True)
    chosen = np.empty(uniq.size, dtype=np.uint16)
    for i, x in enumerate(uniq.tolist()):
        c = 1 + round((math.log10(x) - a) / b)
        near = sorted(
            {min(max(c + d, 1), 65533) for d in (-2, -1, 0, 1, 2)}, key=lambda k: abs(log16_decode(k, a, b) - x)
        )
        if render is None:
            chosen[i] = near[0]
            continue
        want = render(x)
        for k in near:
            y = log16_decode(k, a, b)
            if render(y * (1 - 1e-12)) == want == render(y * (1 + 1e-12)):
                chosen[i] = k
                break
        else:
            raise LLMViewerError(f"lookup explorer: no Log16 code shows {x!r} as {want!r}")
    codes[np.isfinite(v) & (v > 0)] = chosen[inverse.ravel()]
    return codes, a, b


def log16_decode(code: int, a: float, b: float) -> float:
    """The number of a :class:`Log16` code, as the page's JavaScript computes it."""
    if code == 65535:
        return math.nan
    return 0.0 if code == 0 else 10.0 ** (a + (code - 1) * b)


def _small(n: int) -> Any:
    """The smallest unsigned type (int32 above 16 bits) for codes below ``n``."""
    return np.uint8 if n <= 1 << 8 else np.uint16 if n <= 1 << 16 else np.int32


def _drop_constant(arr: np.ndarray, axes: Sequence[int]) -> tuple[np.ndarray, list[int]]:
    """``arr`` without the ``axes`` (of its own) along which it does not change (kept as length 1),
    and the axes it keeps."""
    kept = []
    for k in axes:
        if arr.shape[k] == 1:
            continue
        first = arr.take([0], axis=k)
        same = np.array_equal(arr, np.broadcast_to(first, arr.shape), equal_nan=arr.dtype.kind == "f")
        if same:
            arr = first
        else:
            kept.append(k)
    return arr, kept


@dataclass
class Lookup:
    """A table on a grid and what the page shows of it; see the module docstring.

    ``table``: column -> values, one per grid row (numbers, booleans or strings), ``len`` equal to
    the product of the axes' lengths. Each column is stored only along the axes it changes on;
    strings, and numbers with few distinct values, as codes into their distinct values;
    ``encode`` names columns sent as :class:`Log16` codes; ``shared`` lists :class:`Shared` groups."""

    table: Mapping[str, Any]
    axes: Sequence[Axis]
    curves: Sequence[Curve] = ()
    points: Sequence[Point] = ()
    props: Sequence[Prop] = ()
    encode: Mapping[str, Log16] = field(default_factory=dict)
    shared: Sequence[Shared] = ()

    def __post_init__(self) -> None:
        from bokeh.models import Div

        self.dims = [len(a.values) for a in self.axes]
        self.names = [a.name for a in self.axes]
        n = math.prod(self.dims)
        grid: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
        for name, col in self.table.items():
            arr = np.asarray(col)
            if arr.shape == (n,):
                arr = arr.reshape(self.dims)
            if arr.ndim != len(self.dims) or any(a not in (1, d) for a, d in zip(arr.shape, self.dims, strict=True)):
                raise LLMViewerError(f"lookup explorer: column {name!r} has shape {arr.shape}, the grid {self.dims}")
            grid[name] = self._encoded(name, arr)
        self.cols: dict[str, dict[str, Any]] = {}
        grouped = {c for g in self.shared for c in g.columns}
        for name, (arr, extra) in grid.items():
            if name not in grouped:
                self.cols[name] = self._stored(arr, range(len(self.dims)), None, extra)
        for i, g in enumerate(self.shared):
            self._store_group(f"_shared{i}", g, grid)
        self.labels: list[Any] = []
        for a in self.axes:
            kind = _kind(a.widget)
            if kind == "select" and list(a.widget.options) != [str(v) for v in a.values]:
                raise LLMViewerError(f"lookup explorer: the {a.name} menu must list {list(a.values)} in that order")
            if kind == "radio" and len(a.widget.labels) != len(a.values):
                raise LLMViewerError(f"lookup explorer: the {a.name} buttons must be {len(a.values)}")
            if a.label is not None and len(a.label) != len(a.values):
                raise LLMViewerError(f"lookup explorer: {a.name} needs one label per value")
            if a.label is not None and kind == "slider":
                a.widget.title = ""  # the Div above says it, without Bokeh's trailing colon
            self.labels.append(Div(text="", styles={"margin-bottom": "-6px"}) if a.label is not None else None)

    def _encoded(self, name: str, arr: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """The grid of a column as numbers (codes for strings and :class:`Log16`) and how to decode them."""
        if name in self.encode:
            codes, a, b = log16_encode(arr.ravel(), self.encode[name].render)
            return codes.reshape(arr.shape), {"kind": "log", "a": a, "b": b}
        if arr.dtype.kind in "OUSb":
            levels, codes = np.unique(arr.astype(str) if arr.dtype.kind != "b" else arr, return_inverse=True)
            return codes.reshape(arr.shape), {"kind": "levels", "levels": levels.tolist()}
        return arr, {"kind": "raw"}

    def _stored(self, arr: np.ndarray, axes: Sequence[int], key: str | None, extra: dict[str, Any]) -> dict[str, Any]:
        """A column's stored form: its values along the ``axes`` (of ``arr``, the grid's after any
        leading code axis) it changes on, its strides (0 elsewhere), the code column ``key``."""
        lead = arr.ndim - len(self.dims)  # 1 for a shared group's table: (distinct row, grid axes...)
        arr, kept = _drop_constant(arr, [lead + k for k in axes])
        kept_grid = [k - lead for k in kept]
        sub = strides([self.dims[k] for k in kept_grid])
        s = [sub[kept_grid.index(k)] if k in kept_grid else 0 for k in range(len(self.dims))]
        flat = np.ascontiguousarray(arr).reshape(-1)
        n = math.prod(self.dims[k] for k in kept_grid)
        if extra["kind"] == "raw" and flat.dtype.kind == "f" and flat.size > 16:
            levels, codes = np.unique(flat, return_inverse=True)
            if levels.size * 8 + flat.size * np.dtype(_small(levels.size)).itemsize < flat.nbytes:
                flat, extra = codes.ravel(), {"kind": "levels", "levels": levels.astype(np.float64)}
        if extra["kind"] == "levels":
            flat = flat.astype(_small(len(extra["levels"])))
        elif extra["kind"] == "log":
            flat = flat.astype(np.uint16)
        return {"v": flat, "s": s, "key": key, "n": n, **extra}

    def _store_group(self, key: str, group: Shared, grid: dict[str, tuple[np.ndarray, dict[str, Any]]]) -> None:
        along = sorted(self.names.index(a) for a in group.along)
        nd = len(self.dims)
        live = [k for k in range(nd) if k not in along and any(grid[c][0].shape[k] > 1 for c in group.columns)]
        dead = [k for k in range(nd) if k not in along and k not in live]
        n_live, n_along = math.prod(self.dims[k] for k in live), math.prod(self.dims[k] for k in along)
        shape = [self.dims[k] if k in live or k in along else 1 for k in range(nd)]
        mats = [np.broadcast_to(grid[c][0], shape).transpose(live + along + dead).reshape(n_live, n_along)
                for c in group.columns]  # fmt: skip
        bits = np.concatenate(mats, axis=1, dtype=np.float64).view(np.int64)  # bit patterns: NaN equals NaN
        distinct, codes = np.unique(bits, axis=0, return_inverse=True)
        distinct = distinct.view(np.float64)
        code_grid = codes.reshape([self.dims[k] if k in live else 1 for k in range(nd)]).astype(_small(len(distinct)))
        self.cols[key] = self._stored(code_grid, range(nd), None, {"kind": "raw"})
        table_shape = (len(distinct), *[self.dims[k] if k in along else 1 for k in range(len(self.dims))])
        for i, c in enumerate(group.columns):  # column c's cells of distinct row r follow at r * n (its ``n``)
            table = distinct[:, i * n_along : (i + 1) * n_along].reshape(table_shape)
            arr, extra = grid[c]
            self.cols[c] = self._stored(table.astype(arr.dtype), along, key, dict(extra))

    def index(self, **chosen: int) -> list[int]:
        """The grid index (one per axis) of the widgets' current values (axes without a widget: 0),
        overridden by ``chosen`` (axis name -> index)."""
        out = []
        for a in self.axes:
            w, kind = a.widget, _kind(a.widget)
            if kind == "radio":
                i = w.active
            elif kind == "select":
                i = list(w.options).index(w.value)
            elif kind == "slider":
                i = min(max(round((w.value - w.start) / w.step), 0), len(a.values) - 1)
            else:
                i = 0
            out.append(chosen.get(a.name, i))
        return out

    def _pos(self, c: dict[str, Any], index: Sequence[int]) -> int:
        p = 0 if c["key"] is None else int(self.cols[c["key"]]["v"][self._pos(self.cols[c["key"]], index)]) * c["n"]
        return p + sum(i * s for i, s in zip(index, c["s"], strict=True))

    def value(self, column: str, index: Sequence[int]) -> Any:
        """The value (the string, for a text column) the page shows at a grid ``index``, decoded as
        the page's JavaScript decodes it."""
        c = self.cols[column]
        x = c["v"][self._pos(c, index)]
        if c["kind"] == "levels":
            return c["levels"][int(x)] if isinstance(c["levels"], list) else float(c["levels"][int(x)])
        if c["kind"] == "log":
            return log16_decode(int(x), c["a"], c["b"])
        return x.item()

    def _grid_pos(self, c: dict[str, Any], idx: Sequence[np.ndarray]) -> np.ndarray:
        p = sum(i * s for i, s in zip(idx, c["s"], strict=True))
        if c["key"] is not None:
            p = p + self.cols[c["key"]]["v"][self._grid_pos(self.cols[c["key"]], idx)].astype(np.int64) * c["n"]
        return np.broadcast_to(p, self.dims)

    def grid_values(self, column: str) -> np.ndarray:
        """Every grid cell's value of ``column`` as the page decodes it (an array of the grid's
        shape; strings as objects): :meth:`value` for all cells at once, with numpy's ``10 ** x``
        for :class:`Log16` codes (within a part in 10^15 of JavaScript's)."""
        c = self.cols[column]
        x = c["v"][self._grid_pos(c, np.indices(self.dims, sparse=True))]
        if c["kind"] == "levels":
            return np.asarray(c["levels"], dtype=object if isinstance(c["levels"], list) else np.float64)[x]
        if c["kind"] == "log":
            with np.errstate(over="ignore"):
                y = 10.0 ** (c["a"] + (x.astype(np.float64) - 1) * c["b"])
            return np.where(x == 65535, np.nan, np.where(x == 0, 0.0, y))
        return x

    def fill(self, template: str, index: Sequence[int]) -> str:
        """``template`` with every ``{column}`` replaced by that column's text at ``index`` (as the JS does)."""
        return re.sub(r"\{(\w+)\}", lambda m: js_text(self.value(m.group(1), index)), template)

    def stored_bytes(self) -> int:
        """Bytes of the stored columns and their numeric levels (before base64)."""
        out = 0
        for c in self.cols.values():
            out += c["v"].nbytes
            if c["kind"] == "levels":
                lv = c["levels"]
                out += lv.nbytes if isinstance(lv, np.ndarray) else sum(len(str(x)) + 3 for x in lv)
        return out

    def apply(self, index: Sequence[int] | None = None) -> None:
        """Set every target as the page's JavaScript would for ``index`` (default: the widgets' values),
        so that the figure shows the right data and readouts before any interaction."""
        index = self.index() if index is None else list(index)
        for k, a in enumerate(self.axes):
            if self.labels[k] is not None:
                self.labels[k].text = a.label[index[k]]
        for c in self.curves:
            ax = self.names.index(c.axis)
            data = dict(c.source.data)
            for to, frm in c.columns.items():
                data[to] = [self.value(frm, [j if k == ax else i for k, i in enumerate(index)])
                            for j in range(self.dims[ax])]  # fmt: skip
            c.source.data = data
        for p in self.points:
            data = dict(p.source.data)
            for to, frm in p.columns.items():
                data[to] = [self.value(c, index) for c in ([frm] if isinstance(frm, str) else frm)]
            p.source.data = data
        for p in self.props:
            setattr(
                p.model, p.attr, self.value(p.column, index) if p.template is None else self.fill(p.template, index)
            )

    def callback(self, code: str = "", **args: Any) -> Any:
        """The CustomJS running :data:`LOOKUP_JS`, then ``code`` (explorer-specific drawing that only
        reads the looked-up values; ``args`` are passed to it)."""
        from bokeh.models import CustomJS

        taken = {"cols", "widgets", "kinds", "labels", "texts", "dims", "curves", "points", "props", "at", "value",
                 "pos", "fill"}  # fmt: skip
        if taken & set(args):
            raise LLMViewerError(f"lookup explorer: {sorted(taken & set(args))} are names of the lookup's own")
        return CustomJS(
            args=dict(
                cols=self.cols,
                widgets=[a.widget for a in self.axes],
                kinds=[_kind(a.widget) for a in self.axes],
                labels=self.labels,
                texts=[list(a.label) if a.label is not None else None for a in self.axes],
                dims=self.dims,
                curves=[
                    [c.source, self.names.index(c.axis), [[t, f] for t, f in c.columns.items()]] for c in self.curves
                ],
                points=[
                    [p.source, [[t, [f] if isinstance(f, str) else list(f)] for t, f in p.columns.items()]]
                    for p in self.points
                ],
                props=[[p.model, p.attr, p.column, p.template] for p in self.props],
                **args,
            ),
            code=LOOKUP_JS + code,
        )

    def wire(self, ready: Any, code: str = "", index: Sequence[int] | None = None, **args: Any) -> Any:
        """Fill the targets for the initial setting (:meth:`apply`), run the lookup whenever a widget
        changes and when the document is ready (``ready``: a figure). Returns the callback."""
        from bokeh.models import RadioButtonGroup

        self.apply(index)
        cb = self.callback(code, **args)
        for a in self.axes:
            if a.widget is not None:
                a.widget.js_on_change("active" if isinstance(a.widget, RadioButtonGroup) else "value", cb)
        ready.js_on_event("document_ready", cb)
        return cb

    def control(self, name: str) -> Any:
        """The widget of axis ``name``, with its label Div above it for a labelled slider."""
        from bokeh.layouts import column

        k = self.names.index(name)
        w = self.axes[k].widget
        return w if self.labels[k] is None else column(self.labels[k], w)


def index_slider(values: Sequence[Any], value: int = 0, **kw: Any) -> Any:
    """A Slider over the indices 0 .. len(values) - 1 (no value shown: the axis label says it)."""
    from bokeh.models import Slider

    return Slider(start=0, end=max(len(values) - 1, 1), step=1, value=value, show_value=False, title="", **kw)


def registry_models(supported: Any = None) -> list[str]:
    """The shipped models (:func:`llmviewer.specs.models.shipped_models`, so that a model added to
    ``data/models`` appears in every picker) that load and for which ``supported(spec)`` holds."""
    from ..specs.models import load_model, shipped_models

    out = []
    for name in shipped_models():
        try:
            spec = load_model(name)
        except LLMViewerError:
            continue
        if supported is None or supported(spec):
            out.append(name)
    return out
