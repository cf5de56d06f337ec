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

String columns travel dictionary-encoded (the distinct strings once, a code per row of 1, 2 or
4 bytes): a readout is best a template whose fields are short, often repeated strings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import LLMViewerError

LOOKUP_JS = """
const F = store.data;
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
const offset = (s) => at.reduce((sum, i, k) => sum + i * s[k], 0);
const row = offset(strides);
const value = (c, r) => (c in levels ? levels[c][F[c][r]] : F[c][r]);
const fill = (t, r) => t.replace(/\\{(\\w+)\\}/g, (_, c) => value(c, r));
for (const [src, axis, cols] of curves) {
  const base = row - at[axis] * strides[axis], data = Object.assign({}, src.data);
  for (const [to, from] of cols) {
    const out = [];
    for (let j = 0; j < dims[axis]; j++) out.push(value(from, base + j * strides[axis]));
    data[to] = out;
  }
  src.data = data;
}
for (const [src, cols] of points) {
  const data = Object.assign({}, src.data);
  for (const [to, from] of cols) data[to] = from.map((c) => value(c, row));
  src.data = data;
}
for (const [model, attr, column, template] of props) {
  model[attr] = template === null ? value(column, row) : fill(template, row);
}
const key = Object.fromEntries(Object.entries(keys).map(([k, s]) => [k, offset(s)]));
"""
"""The explorers' one piece of JavaScript. Arguments (from :meth:`Lookup.callback`): ``store`` (the
table), ``levels`` (column -> distinct strings of a dictionary-encoded column), ``widgets``, ``kinds``
("select", "radio", "slider" or "none"), ``labels``/``texts`` (a Div above a slider and its text for
each index), ``strides`` and ``dims`` of the grid, ``curves``, ``points``, ``props`` (see
:class:`Curve`, :class:`Point`, :class:`Prop`) and ``keys`` (name -> strides of a coarser grid, for
explorer code appended after this: ``key[name]`` is then that grid's row). Defines ``row``, ``at``."""


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


@dataclass
class Lookup:
    """A table on a grid and what the page shows of it; see the module docstring.

    ``table``: column -> values, one per grid row (numbers, booleans or strings), ``len`` equal to
    the product of the axes' lengths. ``keys``: name -> the axes (by name) a coarser grid keeps,
    for explorer code that needs its own row there (``key[name]`` in the JS)."""

    table: Mapping[str, Any]
    axes: Sequence[Axis]
    curves: Sequence[Curve] = ()
    points: Sequence[Point] = ()
    props: Sequence[Prop] = ()
    keys: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from bokeh.models import Div

        self.dims = [len(a.values) for a in self.axes]
        self.strides = strides(self.dims)
        self.names = [a.name for a in self.axes]
        n = math.prod(self.dims)
        self.columns: dict[str, np.ndarray] = {}
        self.levels: dict[str, list[str]] = {}
        for name, col in self.table.items():
            arr = np.asarray(col)
            if arr.shape != (n,):
                raise LLMViewerError(f"lookup explorer: column {name!r} has shape {arr.shape}, the grid {self.dims}")
            if arr.dtype.kind in "OUS":
                levels, codes = np.unique(arr.astype(str), return_inverse=True)
                self.levels[name] = levels.tolist()
                small = np.uint8 if len(levels) <= 1 << 8 else np.uint16 if len(levels) <= 1 << 16 else np.int32
                self.columns[name] = codes.astype(small)
            else:
                self.columns[name] = arr
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

    def row(self, index: Sequence[int], keep: Sequence[str] | None = None) -> int:
        """The table row of a grid index (or, with ``keep``, the row of the coarser grid of those axes)."""
        s = self.strides if keep is None else self._key_strides(keep)
        return int(sum(i * st for i, st in zip(index, s, strict=True)))

    def _key_strides(self, keep: Sequence[str]) -> list[int]:
        kept = strides([d for d, n in zip(self.dims, self.names, strict=True) if n in keep])
        it = iter(kept)
        return [next(it) if n in keep else 0 for n in self.names]

    def value(self, column: str, row: int) -> Any:
        """The table's value (the string, for a text column) at ``row``."""
        v = self.columns[column][row]
        return self.levels[column][v] if column in self.levels else v.item()

    def fill(self, template: str, row: int) -> str:
        """``template`` with every ``{column}`` replaced by that column's text at ``row`` (as the JS does)."""
        return re.sub(r"\{(\w+)\}", lambda m: str(self.value(m.group(1), row)), template)

    def apply(self, index: Sequence[int] | None = None) -> None:
        """Set every target as the page's JavaScript would for ``index`` (default: the widgets' values),
        so that the figure shows the right data and readouts before any interaction."""
        index = self.index() if index is None else list(index)
        r = self.row(index)
        for k, a in enumerate(self.axes):
            if self.labels[k] is not None:
                self.labels[k].text = a.label[index[k]]
        for c in self.curves:
            ax = self.names.index(c.axis)
            base = r - index[ax] * self.strides[ax]
            data = dict(c.source.data)
            for to, frm in c.columns.items():
                data[to] = [self.value(frm, base + j * self.strides[ax]) for j in range(self.dims[ax])]
            c.source.data = data
        for p in self.points:
            data = dict(p.source.data)
            for to, frm in p.columns.items():
                data[to] = [self.value(c, r) for c in ([frm] if isinstance(frm, str) else frm)]
            p.source.data = data
        for p in self.props:
            setattr(p.model, p.attr, self.value(p.column, r) if p.template is None else self.fill(p.template, r))

    def callback(self, code: str = "", **args: Any) -> Any:
        """The CustomJS running :data:`LOOKUP_JS`, then ``code`` (explorer-specific drawing that only
        reads the looked-up rows; ``args`` are passed to it)."""
        from bokeh.models import ColumnDataSource, CustomJS

        taken = {"store", "levels", "widgets", "kinds", "labels", "texts", "strides", "dims", "curves", "points",
                 "props", "keys", "key", "row", "at"}  # fmt: skip
        if taken & set(args):
            raise LLMViewerError(f"lookup explorer: {sorted(taken & set(args))} are names of the lookup's own")
        store = ColumnDataSource({k: v for k, v in self.columns.items()})
        return CustomJS(
            args=dict(
                store=store,
                levels=self.levels,
                widgets=[a.widget for a in self.axes],
                kinds=[_kind(a.widget) for a in self.axes],
                labels=self.labels,
                texts=[list(a.label) if a.label is not None else None for a in self.axes],
                strides=self.strides,
                dims=self.dims,
                curves=[
                    [c.source, self.names.index(c.axis), [[t, f] for t, f in c.columns.items()]] for c in self.curves
                ],
                points=[
                    [p.source, [[t, [f] if isinstance(f, str) else list(f)] for t, f in p.columns.items()]]
                    for p in self.points
                ],
                props=[[p.model, p.attr, p.column, p.template] for p in self.props],
                keys={k: self._key_strides(v) for k, v in self.keys.items()},
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
