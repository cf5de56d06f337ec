"""The explorers' JavaScript, run in headless Chromium against Python (no book build needed).

Explorers receive every number they show from Python; the page only decodes and selects. Here:
the Python twins of how the page writes numbers (:func:`~llmviewer.viz.lookup.js_precision`,
:func:`~llmviewer.viz.lookup.js_number`) and decodes :class:`~llmviewer.viz.lookup.Log16` codes
agree with Chromium; the generic lookup of :mod:`llmviewer.viz.lookup` (the one piece of JS every
explorer uses) is driven in a standalone page and must show Python's rows; the book's explorers,
built small, show the engine's numbers when their widgets move.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from llmviewer.viz.lookup import js_number, js_precision, log16_decode, log16_encode

from .test_browser import CHROMIUM, CHROMIUM_ARGS


def _browser_or_skip():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        if os.environ.get("LLMVIEWER_REQUIRE_ALL") == "1":
            pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} not found")
    return sync_api


def test_pythons_twins_of_the_pages_number_writing_and_decoding_agree_with_chromium():
    """String(Number(x.toPrecision(3))) (the hover's printf %.3g), String(x) (template fields) and
    the Log16 decoding ``10 ** (a + (c - 1) * b)``, evaluated in Chromium, give exactly the strings
    Python's twins give; the decoded codes show the digits of the values they were made for."""
    sync_api = _browser_or_skip()
    rng = np.random.default_rng(1)
    values = [0.125, 1.5, 2.5e-7, 9.995, 0.0001234567, 1e21, 1.5e21, 1e-7, 1234567.0, 999.5, 0.1 + 0.2]
    values += (10 ** rng.uniform(-9, 22, 300)).tolist()
    encoded = (10 ** rng.uniform(-11, 4, 3000)).tolist()
    codes, a, b = log16_encode(encoded, js_precision)
    script = f"""() => {{
        const v = {json.dumps(values)}, codes = {json.dumps(codes.tolist())}, a = {a!r}, b = {b!r};
        return [v.map((x) => String(Number(x.toPrecision(3)))), v.map((x) => String(Number(x.toPrecision(2)))),
                v.map((x) => String(x)), codes.map((c) => String(Number((10 ** (a + (c - 1) * b)).toPrecision(3)))),
                codes.map((c) => 10 ** (a + (c - 1) * b))];
    }}"""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        p3, p2, plain, decoded_text, decoded = browser.new_page().evaluate(script)
        browser.close()
    assert p3 == [js_precision(x, 3) for x in values]
    assert p2 == [js_precision(x, 2) for x in values]
    assert plain == [js_number(x) for x in values]
    assert decoded_text == [js_precision(x) for x in encoded]
    python = [log16_decode(c, a, b) for c in codes.tolist()]
    assert max(abs(j / p - 1) for j, p in zip(decoded, python, strict=True)) < 1e-15


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
    pytest.importorskip("bokeh")
    sync_api = _browser_or_skip()
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


_JS_SET_ROOFLINE = """async (choice) => {
    const doc = Bokeh.documents[0], get = (n) => doc.get_model_by_name(n);
    for (const [name, [attr, value]] of Object.entries(choice)) get("explorer-" + name)[attr] = value;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const arrays = (d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Array.from(v)]));
    const points = arrays(get("explorer-points").data);
    // the hover's time, written by the page as Bokeh's printf %.3g writes it
    points.time_text = points.time_us.map((t) => String(Number(t.toPrecision(3))));
    return {points: points, roofs: arrays(get("explorer-roofs").data), summary: get("explorer-summary").text};
}"""


_JS_POINT_AT = """(name) => {
    let plot = null;
    const walk = (v) => { if (v.model.type === "Figure") plot = v; for (const c of (v.child_views ?? [])) walk(c); };
    Object.values(Bokeh.index).forEach(walk);
    const d = Bokeh.documents[0].get_model_by_name("explorer-points").data;
    const k = Array.from(d.name).indexOf(name), box = plot.canvas_view.el.getBoundingClientRect();
    const x = plot.frame.x_scale.compute(d.intensity[k]), y = plot.frame.y_scale.compute(d.perf[k]);
    return plot.frame.bbox.contains(x, y) ? [box.left + x, box.top + y] : null;
}"""


def _hover_every_point(page, names):
    """Move the mouse onto each layer's point and read the tooltip Bokeh draws: (rows of (layer,
    OPs, bytes, intensity, bound, time, share), one per point under the mouse; the layers hovered)."""
    rows, inside = [], []
    for name in names:
        at = page.evaluate(_JS_POINT_AT, name)
        if at is None:  # off the axes (no OPs: below the plotted range)
            continue
        inside.append(name)
        page.mouse.move(*at)
        page.wait_for_timeout(150)
        values = page.locator(".bk-tooltip-row-value").all_inner_texts()
        assert values and len(values) % 7 == 0, values
        rows += [tuple(values[i : i + 7]) for i in range(0, len(values), 7)]
        page.mouse.move(0, 0)
        page.wait_for_timeout(50)
    return rows, inside


@pytest.mark.parametrize("hover", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["data", "tooltips"])
def test_roofline_explorer_in_chromium_shows_the_engines_numbers(hover):
    """Drive the roofline explorer's menus and buttons (device, model, stage, precision, sliders) in
    Chromium: every layer point is llmviewer.analyze's (names, OPs and bytes exactly, bound, the
    hover's time and share text, the readout's whole-model time) and the roofs are Python's; with
    ``hover`` (slow), the tooltips Bokeh draws when each point is hovered say the same."""
    sync_api = _browser_or_skip()
    pytest.importorskip("bokeh")
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    import llmviewer
    from llmviewer.viz import plots

    models, devices = ["Llama-2-7b-hf", "Qwen3-Next-80B-A3B-Thinking"], ["A100-SXM4-80GB", "H100-SXM5-80GB", "L4-24GB"]
    layout, lookup, _, _ = plots.roofline_lookup(models, devices, batches=(1, 64), seqlens=(512, 2048))
    choices = [  # (model, device, stage, precision, batch, seqlen) indices, each move from the last
        (1, 1, 1, 2, 1, 0),
        (1, 2, 1, 2, 1, 0),  # device only
        (0, 2, 1, 2, 1, 0),  # model only
        (0, 2, 0, 2, 1, 0),  # stage only
        (0, 0, 0, 1, 0, 1),
    ]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_content(file_html(layout, INLINE, "roofline explorer"), wait_until="load")
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=15_000)
        shown, hovers = [], []
        for m, d, st, q, b, s in choices:
            choice = {"model": ["value", models[m]], "device": ["value", devices[d]], "stage": ["active", st],
                      "precision": ["active", q], "batch": ["value", b], "seqlen": ["value", s]}  # fmt: skip
            shown.append(page.evaluate(_JS_SET_ROOFLINE, choice))
            if hover:
                hovers.append(_hover_every_point(page, [n for n in shown[-1]["points"]["name"] if n]))
        browser.close()
    assert not errors, errors
    for (m, d, st, q, b, s), got in zip(choices, shown, strict=True):
        p = plots.DEFAULT_PRECISIONS[q]
        a = llmviewer.analyze(models[m], devices[d], batch_size=(1, 64)[b], seqlen=(512, 2048)[s], w_bit=p.w_bit,
                              a_bit=p.a_bit, kv_bit=p.kv_bit)  # fmt: skip
        res = a.decode if st else a.prefill
        pts = got["points"]
        keep = [i for i, n in enumerate(pts["name"]) if n]  # slots past the model's last layer are empty
        pts = {k: [v[i] for i in keep] for k, v in pts.items()}
        assert pts["name"] == [r["name"] for r in res.layers]
        assert pts["ops"] == [r["OPs"] for r in res.layers] and pts["bytes"] == [r["memory_access"] for r in res.layers]
        assert pts["bound"] == [r["bound"] for r in res.layers]
        assert pts["time_text"] == [js_precision(r["inference_time"] * 1e6) for r in res.layers]
        assert pts["share"] == [plots._share_text(r["inference_time"] * r["count"] / res.time) for r in res.layers]
        assert f"whole model {plots.time_text(res.time)}." in got["summary"]
        assert f"<b>{models[m]}</b> on one <b>{devices[d]}</b>" in got["summary"]
        # the tooltips Bokeh drew (every point hovered): each row as Python writes it
        by_name = {r["name"]: r for r in res.layers}
        hovered = hovers[choices.index((m, d, st, q, b, s))] if hover else ([], [])
        rows, inside = hovered
        assert not hover or (len(inside) >= 5 and {row[0].split(" (x")[0] for row in rows} >= set(inside))
        hovered = rows
        for label, _, _, _, bound, time, share in hovered:
            r = by_name[label.split(" (x")[0]]
            assert (bound, time) == (r["bound"], f"{js_precision(r['inference_time'] * 1e6)} µs per instance")
            assert share == plots._share_text(r["inference_time"] * r["count"] / res.time)
        lookup.apply([m, d, st, b, s, q, 0, 0])  # the roofs: what Python's lookup gives for that setting
        assert got["roofs"] == {k: list(v) for k, v in lookup.curves[1].source.data.items()}
    assert len({json.dumps(g["roofs"]) for g in shown}) >= 3  # the roofs moved with the device and precision


@pytest.mark.slow
def test_explorers_look_up_the_engines_rows_in_chromium():
    """The MoE explorer, built small and driven in Chromium: its curve is its table's rows, and no
    readout shows an unfilled field."""
    sync_api = _browser_or_skip()
    pytest.importorskip("bokeh")
    from llmviewer.viz.moe_explorer import moe_explorer

    moe, moe_rows = moe_explorer(["Mixtral-8x7B-v0.1", "Qwen3-30B-A3B"], ["H100-SXM5-80GB"], batches=(1, 8, 64))
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        moe_got = _drive(
            browser.new_page(), moe, [{"moe-model": ["value", "Qwen3-30B-A3B"], "moe-batch": ["value", 2]}]
        )
        browser.close()
    rows = moe_rows[(moe_rows["model"] == "Qwen3-30B-A3B") & (moe_rows["zipf_s"] == 0)]
    assert moe_got[0]["moe-points"]["ms_per_token"] == pytest.approx(rows["ms_per_token"].tolist(), rel=1e-12)
    assert moe_got[0]["moe-selected"]["batch"] == [64]
    assert "Qwen3-30B-A3B" in " ".join(moe_got[0]["texts"])
    assert not any(s in t for t in moe_got[0]["texts"] for s in ("undefined", "NaN", "{"))


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
    pytest.importorskip("bokeh")
    sync_api = _browser_or_skip()
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
