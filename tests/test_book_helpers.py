"""The book's portable numbers: rounding that absorbs last-bit differences between CPUs but
keeps every digit a reader sees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmviewer.viz import book


@pytest.mark.parametrize("x", [1.1473261923778952, 24.725, 0.0123456789, 27304.56, 3.0e-7, 1e12 / 3, -5.55555555])
def test_last_bit_neighbours_round_to_the_same_float(x):
    lower, upper = np.nextafter(x, -np.inf), np.nextafter(x, np.inf)
    assert book.significant(lower) == book.significant(x) == book.significant(upper)
    assert book.shown(lower) == book.shown(upper)


def test_significant_keeps_six_digits_and_every_integer_digit():
    assert book.significant(1.1473261923778952) == 1.14733
    assert book.significant(0.000123456789) == 0.000123457
    assert book.significant(1234567.8) == 1234568.0  # integer digits are never dropped
    assert book.significant(27304.56) == 27304.6
    assert book.significant(0.0) == 0.0
    assert math.isnan(book.significant(float("nan"))) and book.significant(float("inf")) == float("inf")


def test_a_real_change_is_still_visible():
    assert book.significant(1.14733) != book.significant(1.14734)
    assert book.shown(24.72) != book.shown(24.73)


def test_shown_is_what_tables_display():
    assert book.shown(24.72499999999) == book.shown(24.72500000001) == "24.73"
    assert book.shown(1.074e9) == "1.074e+09"


def test_portable_converts_numpy_and_containers():
    value = book.portable((np.float64(0.009754142921659697), [np.int64(3), 2.5], "x", None, True))
    assert value == (0.00975414, [3, 2.5], "x", None, True)
    assert type(value[1][0]) is int and value[4] is True
    assert book.portable(np.array([1 / 3, 2 / 3])) == [0.333333, 0.666667]


def test_answer_is_one_labelled_row_with_the_prose_precision():
    pytest.importorskip("pandas")
    a = book.answer(
        {
            "bubble (%)": 46.666666666666664,
            "time per output token (ms)": 79.62661234567891,
            "batch": 1024,
            "device": "H100",
        },
        {"bubble (%)": "{:.0f}"},
    )
    html = a.to_html()
    assert a.data.shape == (1, 4) and list(a.data.columns)[1] == "time per output token (ms)"
    assert ">47<" in html and ">79.63<" in html and ">1,024<" in html and ">H100<" in html
    assert "79.626" not in html and "46.6" not in html  # no digits beyond the precision asked for
    lower = book.answer({"x (s)": np.nextafter(0.1 + 0.2, 0.0)}, "{:.17g}").data.iloc[0, 0]
    rows = book.answer([{"block (tokens)": 16, "waste (%)": 0.61234}, {"block (tokens)": 256, "waste (%)": 9.5}])
    assert rows.data.shape == (2, 2) and ">0.61<" in rows.to_html() and ">9.50<" in rows.to_html()
    assert lower == book.answer({"x (s)": 0.1 + 0.2}, "{:.17g}").data.iloc[0, 0] == 0.3  # last bits made portable
