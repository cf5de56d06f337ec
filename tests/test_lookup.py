"""The generic explorer lookup's storage (llmviewer.viz.lookup), in Python: every cell decodes to the
table's value, columns are stored only along the axes they change on, shared groups once per
distinct row, Log16 codes show exactly the digits of the value they stand for."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from llmviewer.errors import LLMViewerError

pytest.importorskip("bokeh")

from llmviewer.viz.lookup import (  # noqa: E402
    LOG16_STEP,
    Axis,
    Log16,
    Lookup,
    Shared,
    js_number,
    js_precision,
    log16_decode,
    log16_encode,
)


def test_js_number_writes_numbers_as_javascript_does():
    cases = {0.1: "0.1", 1234.0: "1234", 1e21: "1e+21", 1.5e21: "1.5e+21", 1.2345e20: "123450000000000000000",
             1e-6: "0.000001", 1e-7: "1e-7", 1.25e-7: "1.25e-7", -2.5: "-2.5", 100.0: "100", 0.0: "0"}  # fmt: skip
    for x, text in cases.items():
        assert js_number(x) == text, x
    assert js_precision(0.125, 2) == "0.13"  # an exact tie rounds away from zero (Python's format: 0.12)
    assert js_precision(1234567.0) == "1230000" and js_precision(9.995e-8) == "1e-7"
    assert js_precision(0.0001234567) == "0.000123"


def test_log16_codes_show_every_values_digits():
    rng = np.random.default_rng(0)
    values = np.concatenate([10 ** rng.uniform(-12, 3.5, 20_000), [0.0, np.nan, 1e-12, 10**3.5, 9.995, 1.0005]])
    codes, a, b = log16_encode(values, js_precision)
    assert codes.dtype == np.uint16 and codes[-6] == 0 and codes[-5] == 65535
    for x, c in zip(values.tolist(), codes.tolist(), strict=True):
        y = log16_decode(c, a, b)
        if x > 0:
            assert js_precision(y) == js_precision(x), (x, y)
            assert abs(y / x - 1) <= LOG16_STEP
    # without a rendering: the nearest code, within half a step
    codes, a, b = log16_encode(values[:1000])
    decoded = np.array([log16_decode(c, a, b) for c in codes.tolist()])
    assert np.all(np.abs(decoded / values[:1000] - 1) <= LOG16_STEP / 2 * 1.001)
    with pytest.raises(LLMViewerError, match="more than 16 decades"):
        log16_encode([1e-10, 1e7])
    with pytest.raises(LLMViewerError, match=">= 0 or NaN"):
        log16_encode([1.0, -1.0])
    with pytest.raises(LLMViewerError, match="no Log16 code shows"):
        log16_encode([1e-10, 1e5, 1.2345], lambda x: f"{x:.9g}")  # 9 digits: finer than the codes


def test_lookup_stores_each_column_along_its_own_axes_and_decodes_every_cell():
    dims = (2, 3, 4, 5)
    idx = np.indices(dims)
    table = {
        "a": (idx[0] * 10 + idx[2]).astype(float).ravel(),  # changes on axes 0 and 2 only
        "text": np.array(["x", "y", "z"], dtype=object)[idx[1]].ravel(),
        "t": (1e-3 * 1.7 ** (idx[0] + 2 * idx[1] + idx[3])).ravel(),  # shared along axis 3
        "u": (idx[1] * 0.5 + idx[3]).ravel(),  # shared along axis 3, the same rows for both values of axis 0
        "flat": np.full(120, 7.25),
    }
    lookup = Lookup(
        table,
        [Axis(n, range(d)) for n, d in zip("wxyz", dims, strict=True)],
        encode={"t": Log16(js_precision)},
        shared=[Shared(("t", "u"), ("z",))],
    )
    cols = lookup.cols
    assert cols["a"]["s"] == [4, 0, 1, 0] and cols["a"]["v"].size == 8
    assert cols["text"]["s"] == [0, 1, 0, 0] and cols["text"]["levels"] == ["x", "y", "z"]
    assert cols["flat"]["v"].size == 1
    assert cols["u"]["key"] == "_shared0" and cols["u"]["n"] == 5 and cols["u"]["s"] == [0, 0, 0, 1]
    assert len(np.unique(cols["_shared0"]["v"])) == 6  # the distinct (w, x) pairs: y does not matter
    for ix in itertools.product(*map(range, dims)):
        row = int(np.ravel_multi_index(ix, dims))
        assert lookup.value("a", ix) == table["a"][row] and lookup.value("text", ix) == table["text"][row]
        assert lookup.value("u", ix) == table["u"][row] and lookup.value("flat", ix) == 7.25
        assert js_precision(lookup.value("t", ix)) == js_precision(table["t"][row])
    cells = list(itertools.product(*map(range, dims)))
    for name in table:  # all cells at once, as one by one
        grid, one = lookup.grid_values(name).ravel(), [lookup.value(name, ix) for ix in cells]
        assert np.allclose(grid.astype(float), one, rtol=1e-15, atol=0) if name == "t" else grid.tolist() == one
    assert lookup.fill("{a} {text} {flat}", (1, 2, 3, 0)) == "13 z 7.25"  # numbers written as JavaScript writes them
    assert not math.isnan(lookup.value("t", (0, 0, 0, 0)))
