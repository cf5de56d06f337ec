"""The explorers' JavaScript, run in headless Chromium against Python (no book build needed).

The functions of :data:`llmviewer.viz.roofline_js.ROOFLINE_JS` are evaluated in a blank page and
must give Python's time, bound and ridge point bit for bit, also for an operator exactly at the
ridge point (memory-bound on both sides). The generic lookup of :mod:`llmviewer.viz.lookup` (the
one piece of JS every explorer uses) is driven in a standalone page and must show Python's rows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from llmviewer.engine.roofline import roofline_time
from llmviewer.specs.hardware import load_hardware, ridge_point
from llmviewer.viz.roofline_js import ROOFLINE_JS

from .test_browser import CHROMIUM, CHROMIUM_ARGS


def _cases() -> list[tuple[float, float, float, float]]:
    """(OPs, bytes, peak, bandwidth): a spread of intensities on two devices, and points exactly
    at each device's ridge (bytes chosen so that OPs / peak == bytes / bandwidth exactly)."""
    cases = []
    for name in ("H100-SXM5-80GB", "RTX-4090-24GB"):
        hw = load_hardware(name)
        peak, bw = hw.peak(hw.compute_dtype(16)), hw.memory_bandwidth
        for intensity in (0.0, 0.5, 1.0, 37.25, 295.0, 1e4):
            cases.append((intensity * 2**20, 2.0**20, peak, bw))
        cases.append((peak, bw, peak, bw))  # exactly at the ridge: 1 s of compute, 1 s of memory
    return cases


def test_javascript_roofline_matches_python():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        if os.environ.get("LLMVIEWER_REQUIRE_ALL") == "1":
            pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} not found")
    cases = _cases()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        script = ROOFLINE_JS + f"const cases = {json.dumps(cases)};"
        script += "cases.map(([o, b, p, w]) => [roofline(o, b, p, w), ridgePoint(p, w)]);"
        got = page.evaluate(f"() => {{ {script} }}".replace("cases.map", "return cases.map"))
        browser.close()
    for (ops, nbytes, peak, bw), (js, js_ridge) in zip(cases, got, strict=True):
        time, bound = roofline_time(ops, nbytes, peak, bw)
        assert js["time"] == time and js["bound"] == bound, (ops, nbytes, peak, bw, js)
        assert js_ridge == ridge_point(peak, bw)
    at_ridge = [js for (o, b, p, w), (js, _) in zip(cases, got, strict=True) if o == p and b == w]
    assert at_ridge and all(js["bound"] == "memory" for js in at_ridge)
    assert np.isclose(at_ridge[0]["time"], 1.0)


def _lookup_page():
    """A small lookup explorer with every kind of widget, an axis without one, a curve, points, a
    number property and a text template: (layout, lookup, grid)."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Div, RadioButtonGroup, Select, Span

    from llmviewer.viz.lookup import Axis, Curve, Lookup, Point, Prop, index_slider

    grid = {"model": ["a", "b"], "stage": ["prefill", "decode"], "batch": [1, 4, 16], "x": [10, 20, 30, 40]}
    shape = tuple(len(v) for v in grid.values())
    idx = np.indices(shape).reshape(len(shape), -1)
    value = idx[0] * 1000 + idx[1] * 100 + idx[2] * 10 + idx[3] + 0.25
    table = {"value": value, "x": np.array(grid["x"])[idx[3]], "text": [f"{v:.2f} ms" for v in value]}
    curve = ColumnDataSource({"x": [], "y": []}, name="lookup-curve")
    point = ColumnDataSource({"y": [], "pair": []}, name="lookup-point")
    span, div = Span(location=0, name="lookup-span"), Div(text="", name="lookup-div")
    axes = [
        Axis("model", grid["model"], Select(options=grid["model"], value="a", name="lookup-model")),
        Axis("stage", grid["stage"], RadioButtonGroup(labels=grid["stage"], active=0, name="lookup-stage")),
        Axis("batch", grid["batch"], index_slider(grid["batch"], name="lookup-batch"),
             label=[f"batch size: {b}" for b in grid["batch"]]),
        Axis("x", grid["x"]),
    ]  # fmt: skip
    lookup = Lookup(
        table,
        axes,
        curves=[Curve(curve, "x", {"x": "x", "y": "value"})],
        points=[Point(point, {"y": ["value", "value"], "pair": ["value", "x"]})],
        props=[Prop(span, "location", column="value"), Prop(div, "text", template="time {text} at x = {x}")],
    )
    layout = column(axes[0].widget, axes[1].widget, lookup.control("batch"), div)
    from bokeh.plotting import figure

    fig = figure(width=200, height=200)
    fig.line("x", "y", source=curve)
    fig.scatter("y", "y", source=point)
    fig.add_layout(span)
    layout.children.append(fig)
    lookup.wire(fig)
    return layout, lookup, grid


_JS_SET_LOOKUP = """async ([model, stage, batch]) => {
    const doc = Bokeh.documents[0];
    doc.get_model_by_name("lookup-model").value = model;
    doc.get_model_by_name("lookup-stage").active = stage;
    doc.get_model_by_name("lookup-batch").value = batch;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const get = (n) => doc.get_model_by_name(n);
    const data = (n) => Object.fromEntries(Object.entries(get(n).data).map(([k, v]) => [k, Array.from(v)]));
    return {curve: data("lookup-curve"), point: data("lookup-point"), span: get("lookup-span").location,
            div: get("lookup-div").text};
}"""


def test_generic_lookup_js_finds_pythons_rows():
    """The explorers' one piece of JS (:data:`llmviewer.viz.lookup.LOOKUP_JS`) in Chromium: for
    settings chosen with a menu, buttons and an index slider it shows exactly the rows Python's
    :meth:`Lookup.apply` shows (curve along the widget-less axis, points, a property, a text)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("bokeh")
    if not Path(CHROMIUM).is_file():
        if os.environ.get("LLMVIEWER_REQUIRE_ALL") == "1":
            pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} not found")
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    layout, lookup, grid = _lookup_page()
    html = file_html(layout, INLINE, "lookup")
    settings = [("b", 1, 2), ("a", 0, 1), ("b", 0, 0), ("a", 1, 2)]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_content(html, wait_until="load")
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=15_000)
        shown = [page.evaluate(_JS_SET_LOOKUP, list(s)) for s in settings]
        browser.close()
    assert not errors, errors
    curve = next(m for m in layout.references() if getattr(m, "name", None) == "lookup-curve")
    point = next(m for m in layout.references() if getattr(m, "name", None) == "lookup-point")
    span = next(m for m in layout.references() if getattr(m, "name", None) == "lookup-span")
    div = next(m for m in layout.references() if getattr(m, "name", None) == "lookup-div")
    for (model, stage, batch), js in zip(settings, shown, strict=True):
        m = grid["model"].index(model)
        lookup.apply([m, stage, batch, 0])
        assert js["curve"] == {k: list(v) for k, v in curve.data.items()}
        assert js["point"] == {k: list(v) for k, v in point.data.items()}
        assert js["span"] == span.location and js["div"] == div.text
        # and the row is the one the grid says, not merely the one both sides agree on
        expected = m * 1000 + stage * 100 + batch * 10 + 0.25
        assert (
            js["point"]["y"] == [expected, expected]
            and js["point"]["pair"] == [expected, 10]
            and js["curve"]["y"] == [expected + j for j in range(4)]
        )
        assert js["div"] == f"time {expected:.2f} ms at x = 10"


def test_lookup_labels_sliders_without_a_colon_and_checks_the_grid():
    from llmviewer.errors import LLMViewerError
    from llmviewer.viz.lookup import Axis, Lookup, index_slider, strides

    layout, lookup, grid = _lookup_page()
    assert strides([2, 2, 3, 4]) == [24, 12, 4, 1]
    label = lookup.labels[2]
    assert label.text == "batch size: 1" and lookup.axes[2].widget.title == ""
    with pytest.raises(LLMViewerError, match="column 'v' has shape"):
        Lookup({"v": np.zeros(5)}, [Axis("b", [1, 2, 3], index_slider([1, 2, 3]))])


_JS_DRIVE = """async (choice) => {
    const doc = Bokeh.documents[0];
    for (const [name, [attr, value]] of Object.entries(choice)) doc.get_model_by_name(name)[attr] = value;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const out = {texts: []};
    for (const m of doc.all_models) {
        const arrays = (d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Array.from(v)]));
        if (m.name && m.data) out[m.name] = arrays(m.data);
        if (typeof m.text === "string") out.texts.push(m.text);
    }
    return out;
}"""


def _drive(page, layout, choices):
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(file_html(layout, INLINE, "explorer"), wait_until="load")
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=15_000)
    shown = [page.evaluate(_JS_DRIVE, c) for c in choices]
    assert not errors, errors
    return shown


@pytest.mark.slow
def test_explorers_look_up_the_engines_rows_in_chromium():
    """The book's explorers, built small and driven in Chromium: the roofline explorer's layers are
    llmviewer.analyze's for the chosen setting, the MoE curve is its table's rows, and no readout
    shows an unfilled field."""
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("bokeh")
    if not Path(CHROMIUM).is_file():
        if os.environ.get("LLMVIEWER_REQUIRE_ALL") == "1":
            pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} not found")
    import llmviewer
    from llmviewer.viz import plots
    from llmviewer.viz.moe_explorer import moe_explorer

    roof, _, _ = plots.roofline_explorer(["Llama-2-7b-hf", "Llama-3.1-8B"], ["A100-SXM4-80GB", "H100-SXM5-80GB"],
                                         batches=(1, 64), seqlens=(512, 2048), initial={"seqlen": 1})  # fmt: skip
    moe, moe_rows = moe_explorer(["Mixtral-8x7B-v0.1", "Qwen3-30B-A3B"], ["H100-SXM5-80GB"], batches=(1, 8, 64))
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        choice = {"explorer-model": ["value", "Llama-3.1-8B"], "explorer-device": ["value", "H100-SXM5-80GB"],
                  "explorer-stage": ["active", 1], "explorer-precision": ["active", 2], "explorer-batch": ["value", 1],
                  "explorer-seqlen": ["value", 0]}  # fmt: skip
        (got,) = _drive(browser.new_page(), roof, [choice])
        moe_got = _drive(
            browser.new_page(), moe, [{"moe-model": ["value", "Qwen3-30B-A3B"], "moe-batch": ["value", 2]}]
        )
        browser.close()
    expected = llmviewer.analyze("Llama-3.1-8B", "H100-SXM5-80GB", batch_size=64, seqlen=512, w_bit=4).decode
    shown = got["explorer-points"]
    assert shown["name"] == [r["name"] for r in expected.layers]
    assert shown["time_us"] == pytest.approx([r["inference_time"] * 1e6 for r in expected.layers], rel=1e-9)
    assert shown["bound"] == [r["bound"] for r in expected.layers]
    text = " ".join(got["texts"])
    assert "<b>Llama-3.1-8B</b> on one <b>H100-SXM5-80GB</b>, decode step" in text and "batch size: 64" in text
    assert f"whole model {plots._time_text(expected.time)}." in text
    rows = moe_rows[(moe_rows["model"] == "Qwen3-30B-A3B") & (moe_rows["zipf_s"] == 0)]
    assert moe_got[0]["moe-points"]["ms_per_token"] == pytest.approx(rows["ms_per_token"].tolist(), rel=1e-12)
    assert moe_got[0]["moe-selected"]["batch"] == [64]
    assert "Qwen3-30B-A3B" in " ".join(moe_got[0]["texts"])
    for page_texts in (got["texts"], moe_got[0]["texts"]):
        assert not any(s in t for t in page_texts for s in ("undefined", "NaN", "{"))


def _small_explorers():
    from llmviewer.techniques.loadsim import SchedulerConfig, Workload, latency_vs_rate
    from llmviewer.viz import plots
    from llmviewer.viz.load_explorer import load_explorer
    from llmviewer.viz.quantization_explorer import quantization_explorer
    from llmviewer.viz.serving_explorer import serving_explorer
    from llmviewer.viz.speculation_explorer import speculation_explorer

    w = Workload(requests=60, rate=1, prompt=256, output=16, seed=0)
    load = latency_vs_rate(
        "Llama-3.2-1B", "A100-SXM4-80GB", w, [1, 50], {"a": SchedulerConfig(), "b": SchedulerConfig()}
    )
    return {
        "quant": quantization_explorer(["Llama-3.2-1B"], ["A100-SXM4-80GB"], batches=(1, 4), seqlens=(512, 2048))[0],
        "serving": serving_explorer(["Llama-3.2-1B"], ["A100-SXM4-80GB"], tensor_parallel=(1, 64), batches=(1, 8))[0],
        "speculation": speculation_explorer(
            [("Llama-3.1-8B", "Llama-3.2-1B")], ["H100-SXM5-80GB"], (0.6, 0.8), (1, 2, 4), (1, 16)
        )[0],  # fmt: skip
        "load": load_explorer(load)[0],
        "chooser": plots.device_chooser(
            ["Llama-3.2-1B", "Llama-3.1-8B"],
            batches=(1, 64),
            devices=["A100-SXM4-80GB", "H100-SXM5-80GB", "RTX-4090-24GB"],
        )[0],  # fmt: skip
    }


_JS_EVERY_WIDGET = """async () => {
    const doc = Bokeh.documents[0];
    const isText = (m) => typeof m.text === "string" && m.type !== "Title";
    const texts = () => Array.from(doc.all_models).filter(isText).map((m) => m.text);
    const before = texts();
    for (const m of doc.all_models) {
        if (m.options !== undefined && m.value !== undefined) m.value = m.options[m.options.length - 1];
        else if (m.labels !== undefined && m.active !== undefined) m.active = m.labels.length - 1;
        else if (m.start !== undefined && m.step !== undefined && m.value !== undefined) m.value = m.end;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    return {before: before, after: texts()};
}"""


@pytest.mark.slow
def test_every_explorer_fills_its_readouts_in_chromium():
    """Each ported explorer (small grids) in Chromium: every widget moved to its last value, no page
    error, the readouts change and no field is left unfilled."""
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("bokeh")
    if not Path(CHROMIUM).is_file():
        if os.environ.get("LLMVIEWER_REQUIRE_ALL") == "1":
            pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} not found")
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    explorers = _small_explorers()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, layout in explorers.items():
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.set_content(file_html(layout, INLINE, name), wait_until="load")
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=15_000)
            got = page.evaluate(_JS_EVERY_WIDGET)
            assert not errors, (name, errors)
            assert got["before"] != got["after"], name
            for text in got["before"] + got["after"]:
                assert not any(s in text for s in ("undefined", "NaN", "{f_", "null")), (name, text)
        browser.close()
