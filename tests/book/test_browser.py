"""The built book, opened in a real (headless) Chromium, fully offline.

Serves ``_build/html`` on 127.0.0.1 and aborts every request that leaves this
server (recording it). For every page: no console errors, nothing the page
needs was blocked, math is typeset, and a screenshot goes to
``_build/screenshots/<page>.png``. For every page with Bokeh output: each
figure drew a canvas of non-zero size, and pressing each slider's handle and an
arrow key (real UI, inside Bokeh's shadow DOM) changes the plotted
ColumnDataSource data. New chapters are covered as soon as they are built.

Needs ``scripts/build_book.sh`` first; skips (only) when ``_build/html`` is
missing. Browser: Debian's ``/usr/bin/chromium`` (no ``playwright install``).
A summary of each page (blocked requests, console messages, figure sizes) is
written to ``_build/browser-report/<page>[.bokeh].json``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
REPORT = ROOT / "_build" / "browser-report"
CHROMIUM = os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BOKEH_MARKER = "Bokeh.embed.embed_items"
# A blocked request of these kinds would have been needed to show the page.
NEEDED_TYPES = {"document", "script", "stylesheet", "font", "image", "xhr", "fetch"}
PLOT_TYPES = ["Figure", "Plot", "GMap", "GMapPlot"]
SKIP_PAGES = {"genindex.html", "search.html"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

NO_BUILD = f"{BUILD.relative_to(ROOT)} is missing: run scripts/build_book.sh first"
if not BUILD.is_dir():
    pytestmark = pytest.mark.skip(reason=NO_BUILD)


def _pages() -> list[str]:
    if not BUILD.is_dir():
        return []
    return sorted(
        p.relative_to(BUILD).as_posix()
        for p in BUILD.rglob("*.html")
        if not p.relative_to(BUILD).parts[0].startswith("_") and p.name not in SKIP_PAGES
    )


def _bokeh_pages() -> list[str]:
    return [p for p in _pages() if BOKEH_MARKER in (BUILD / p).read_text("utf8")]


def _params(pages: list[str]):
    # Without a build, one clearly skipped case instead of "empty parameter set".
    return pages if BUILD.is_dir() else [pytest.param("no-build", marks=pytest.mark.skip(reason=NO_BUILD))]


def _slug(page: str) -> str:
    return page.removesuffix(".html").replace("/", "__")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(BUILD))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visit:
    """One page load with outside requests blocked and console captured."""

    def __init__(self, browser, server: str, page_path: str, viewport: dict | None = None):
        self.server = server
        self.blocked: list[dict] = []
        self.console: list[dict] = []
        self.failed: list[dict] = []  # local requests that failed or answered >= 400
        self.context = browser.new_context(viewport=viewport or DESKTOP)
        self.page = self.context.new_page()
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: self.console.append({"type": m.type, "text": m.text}))
        self.page.on("pageerror", lambda e: self.console.append({"type": "pageerror", "text": str(e)}))
        self.page.on("response", self._response)
        self.page.goto(f"{server}/{page_path}", wait_until="load")

    def _route(self, route):
        url = route.request.url
        if urlsplit(url).netloc == urlsplit(self.server).netloc or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append({"url": url, "type": route.request.resource_type})
            route.abort()

    def _response(self, response):
        if response.status >= 400:
            self.failed.append({"url": response.url, "status": response.status})

    def errors(self) -> list[str]:
        return [m["text"] for m in self.console if m["type"] in ("error", "pageerror")]

    def needed_blocked(self) -> list[dict]:
        return [r for r in self.blocked if r["type"] in NEEDED_TYPES]

    def report(self, page_path: str, suffix: str = "", **extra) -> None:
        REPORT.mkdir(parents=True, exist_ok=True)
        data = {"page": page_path, "blocked": self.blocked, "failed": self.failed, "console": self.console, **extra}
        (REPORT / f"{_slug(page_path)}{suffix}.json").write_text(json.dumps(data, indent=1))
        for r in self.blocked:  # shown with -rA / on failure
            print(f"blocked outside request on {page_path}: {r['type']} {r['url']}")

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    visits = []

    def _open(page_path, viewport=None):
        v = Visit(browser, server, page_path, viewport)
        visits.append(v)
        return v

    yield _open
    for v in visits:
        v.close()


def test_every_figure_has_a_cite_and_data_line():
    """Under every labelled figure: a link to its CSV (present in the built site) and a BibTeX
    entry that names the figure's number, label and the book's version."""
    import re

    import llmviewer

    figures = 0
    for page in _pages():
        text = (BUILD / page).read_text("utf8")
        for label in re.findall(r'<figure[^>]*id="(fig-[^"]+)"', text):
            figures += 1
            block = text[text.index(f'id="{label}"') :]
            block = block[: block.index("</figure>")]
            link = re.search(r'<div class="figure-cite">Cite / data: <a [^>]*href="([^"]+\.csv)"', block)
            assert link, f"{page}#{label}: no cite / data line"
            assert (BUILD / Path(page).parent / link.group(1)).resolve().is_file(), f"{page}#{label}: {link.group(1)}"
            assert f"\\texttt{{{label}}}" in block and f"version {llmviewer.__version__}" in block, label
            assert re.search(r"title += \{Figure \d+\.\d+: ", block), label
    assert figures >= 30, figures


def test_build_has_pages():
    assert _pages(), f"no HTML pages in {BUILD}"
    assert _bokeh_pages(), "no built page holds Bokeh output (expected at least the roofline chapter)"


@pytest.mark.parametrize("page_path", _params(_pages()))
def test_page_renders_offline(visit, page_path):
    v = visit(page_path)
    page = v.page
    has_math = 'class="math' in (BUILD / page_path).read_text("utf8")
    if has_math:
        page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
    page.wait_for_timeout(300)  # let late console messages arrive
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{_slug(page_path)}.png"), full_page=True)
    v.report(page_path, math=page.locator("mjx-container").count() if has_math else None)
    assert not v.errors(), f"console errors on {page_path}: {v.errors()}"
    assert not v.needed_blocked(), f"{page_path} needs outside resources: {v.needed_blocked()}"
    assert not v.blocked, f"{page_path} asks for outside resources: {v.blocked}"
    assert not v.failed, f"failed requests on {page_path}: {v.failed}"


_JS_WAIT_IDLE = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0
    && Bokeh.documents.every((d) => d.is_idle === undefined || d.is_idle)"""

_JS_ROOTS = """(plotTypes) => Bokeh.documents.flatMap((d) => d.roots().map((r) => ({
    id: r.id,
    plots: [...new Set([r, ...r.references()])].filter((m) => plotTypes.includes(m.type)).length,
})))"""

_JS_SOURCES = """() => JSON.stringify(Bokeh.documents.flatMap((d) => [...d.all_models])
    .filter((m) => m.type === "ColumnDataSource")
    .map((m) => [m.id, Object.fromEntries(Object.entries(m.data).map(([k, v]) => [k, Array.from(v)]))]))"""

_JS_SLIDERS = """() => Bokeh.documents.flatMap((d) => [...d.all_models])
    .filter((m) => m.type === "Slider" || m.type === "RangeSlider")
    .map((m) => JSON.stringify([m.id, m.value]))"""


@pytest.mark.parametrize("page_path", _params(_bokeh_pages()))
def test_bokeh_figures_render_and_respond(visit, page_path):
    v = visit(page_path)
    page = v.page
    page.wait_for_function(_JS_WAIT_IDLE, timeout=15_000)
    n_docs = (BUILD / page_path).read_text("utf8").count(BOKEH_MARKER)
    assert page.evaluate("() => Bokeh.documents.length") == n_docs, "not every Bokeh document was embedded"

    sizes = {}
    for root in page.evaluate(_JS_ROOTS, PLOT_TYPES):
        if root["plots"] == 0:
            continue  # a widget-only root
        canvases = page.locator(f'[data-root-id="{root["id"]}"] .bk-Canvas')
        canvases.first.wait_for(state="visible", timeout=15_000)
        for _ in range(50):  # figures of one layout are drawn one after another
            if canvases.count() >= root["plots"]:
                break
            page.wait_for_timeout(100)
        drawn = canvases.count()
        assert drawn == root["plots"], f"root {root['id']}: {drawn} of {root['plots']} figures drew a canvas"
        for i in range(canvases.count()):
            box = canvases.nth(i).locator("canvas").first.bounding_box()
            assert box and box["width"] > 0 and box["height"] > 0, f"root {root['id']} figure {i}: empty canvas {box}"
            sizes[f"{root['id']}[{i}]"] = [box["width"], box["height"]]

    moves = []
    handles = page.locator(".noUi-handle")  # inside Bokeh's shadow DOM
    for i in range(handles.count()):
        handle = handles.nth(i)
        handle.scroll_into_view_if_needed()
        handle.click()  # focus the handle, as a reader would
        sliders0, data0 = page.evaluate(_JS_SLIDERS), page.evaluate(_JS_SOURCES)
        for key in ("ArrowRight", "ArrowLeft"):  # ArrowLeft if already at the end
            page.keyboard.press(key)
            page.wait_for_timeout(200)
            if page.evaluate(_JS_SLIDERS) != sliders0:
                break
        sliders1, data1 = page.evaluate(_JS_SLIDERS), page.evaluate(_JS_SOURCES)
        moves.append({"handle": i, "before": sliders0, "after": sliders1, "data_changed": data1 != data0})
        assert sliders1 != sliders0, f"slider handle {i} on {page_path} did not move with the keyboard"
        assert data1 != data0, f"moving slider handle {i} on {page_path} did not change any ColumnDataSource"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{_slug(page_path)}.after-slider.png"), full_page=True)
    v.report(page_path, ".bokeh", figures=sizes, slider_moves=moves)
    assert not v.errors(), f"console errors on {page_path}: {v.errors()}"
    assert not v.needed_blocked(), f"{page_path} needs outside resources: {v.needed_blocked()}"


_JS_SET_EXPLORER = """async (choice) => {
    const doc = Bokeh.documents.find((d) => d.get_model_by_name("explorer-points") !== null);
    for (const [key, [attr, value]] of Object.entries(choice)) {
        doc.get_model_by_name("explorer-" + key)[attr] = value;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));  // CustomJS callbacks run asynchronously
    const data = doc.get_model_by_name("explorer-points").data;
    const keys = ["name", "time_us", "bound", "intensity", "ops", "bytes", "share"];
    const out = Object.fromEntries(keys.map((k) => [k, Array.from(data[k])]));
    out.time_text = out.time_us.map((t) => String(Number(t.toPrecision(3))));  // the hover's printf %.3g
    return out;
}"""


@pytest.mark.skipif(not (BUILD / "chapters" / "roofline.html").is_file(), reason=NO_BUILD)
def test_roofline_explorer_shows_the_engines_numbers(visit):
    """Drive the explorer's widgets in the browser and compare every plotted layer with
    llmviewer.analyze for the same setting: the page's JS only selects and places data."""
    llmviewer = pytest.importorskip("llmviewer")
    page = visit("chapters/roofline.html").page
    page.wait_for_function(_JS_WAIT_IDLE, timeout=15_000)
    choice = {
        "model": ("value", "gpt-oss-20b"),  # sliding-window layers with sinks, MoE
        "device": ("value", "H100-SXM5-80GB"),
        "stage": ("active", 1),  # decode step
        "precision": ("active", 2),  # W4A16
        "batch": ("value", 1),  # 16
        "seqlen": ("value", 2),  # 32768
    }
    shown = page.evaluate(_JS_SET_EXPLORER, choice)
    from llmviewer.viz.lookup import js_precision
    from llmviewer.viz.plots import _share_text

    expected = llmviewer.analyze("gpt-oss-20b", "H100-SXM5-80GB", batch_size=16, seqlen=32768, w_bit=4).decode
    keep = [i for i, n in enumerate(shown["name"]) if n]  # slots past the model's last layer are empty
    shown = {k: [v[i] for i in keep] for k, v in shown.items()}
    assert shown["name"] == [r["name"] for r in expected.layers]
    for i, row in enumerate(expected.layers):
        assert shown["ops"][i] == row["OPs"] and shown["bytes"][i] == row["memory_access"]
        assert shown["time_text"][i] == js_precision(row["inference_time"] * 1e6)
        assert shown["bound"][i] == row["bound"]
        assert shown["share"][i] == _share_text(row["inference_time"] * row["count"] / expected.time)


_JS_SET_LOAD = """async ([variant, rate]) => {
    const doc = Bokeh.documents.find((d) => d.get_model_by_name("load-curve") !== null);
    doc.get_model_by_name("load-variant").active = variant;
    doc.get_model_by_name("load-rate").value = rate;
    await new Promise((resolve) => setTimeout(resolve, 500));  // CustomJS callbacks run asynchronously
    const curve = doc.get_model_by_name("load-curve").data;
    const chosen = doc.get_model_by_name("load-chosen").data;
    const keys = ["ttft_p50", "ttft_p99", "tpot_p50", "tpot_p99"];
    const out = {chosen: keys.map((k) => chosen[k][0]), chosen_rate: Array.from(chosen.rate)};
    for (const k of ["rate", ...keys]) out[k] = Array.from(curve[k]);
    return out;
}"""


@pytest.mark.skipif(not (BUILD / "chapters" / "systems.html").is_file(), reason=NO_BUILD)
def test_latency_load_explorer_shows_the_simulators_numbers(visit):
    """Pick "no chunking" and a rate in the latency-vs-load explorer of the systems chapter and compare the
    plotted p50/p99 TTFT and TPOT with loadsim.latency_vs_rate run here with the chapter's settings."""
    pytest.importorskip("llmviewer")
    from llmviewer.techniques import loadsim

    page = visit("chapters/systems.html").page
    page.wait_for_function(_JS_WAIT_IDLE, timeout=15_000)
    shown = page.evaluate(_JS_SET_LOAD, [1, 3])
    rates = [1, 2, 4, 6, 7, 8, 9, 10, 12, 16]
    w = loadsim.Workload(requests=500, rate=1, prompt=2048, output=256, seed=0)
    expected = loadsim.latency_vs_rate(
        "Llama-3.1-8B", "H100-SXM5-80GB", w, rates, {"no chunking": loadsim.SchedulerConfig()}, calibration="serving"
    )
    assert shown["rate"] == rates
    keys = ["ttft_p50", "ttft_p99", "tpot_p50", "tpot_p99"]
    for k in keys:
        assert shown[k] == pytest.approx((expected[k] * 1e3).tolist(), rel=1e-9), k
    assert shown["chosen_rate"] == [6]
    assert shown["chosen"] == pytest.approx([expected[k].iloc[3] * 1e3 for k in keys], rel=1e-9)


_JS_SET_LONGCTX = """async (choice) => {
    const doc = Bokeh.documents.find((d) => d.get_model_by_name("longctx-curve") !== null);
    for (const [key, [attr, value]] of Object.entries(choice)) {
        doc.get_model_by_name("longctx-" + key)[attr] = value;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));  // CustomJS callbacks run asynchronously
    const out = {};
    for (const name of ["curve", "selected"]) {
        const data = doc.get_model_by_name("longctx-" + name).data;
        out[name] = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Array.from(v)]));
    }
    out.summary = doc.get_model_by_name("longctx-summary").text;
    return out;
}"""


@pytest.mark.skipif(not (BUILD / "chapters" / "discussion.html").is_file(), reason=NO_BUILD)
def test_long_context_explorer_shows_the_engines_numbers(visit):
    """Pick a model, device, KV width, eviction budget and context in the long-context explorer of the
    discussion chapter and compare every plotted point with kv_eviction.decode_step run here."""
    pytest.importorskip("llmviewer")
    import numpy as np

    from llmviewer.techniques.kv_eviction import decode_step
    from llmviewer.viz.long_context_explorer import CONTEXTS

    page = visit("chapters/discussion.html").page
    page.wait_for_function(_JS_WAIT_IDLE, timeout=15_000)
    choice = {
        "model": ("value", "gemma-3-27b-it"),
        "device": ("value", "Jetson-AGX-Orin-64GB"),
        "kv": ("active", 1),  # 8-bit
        "budget": ("active", 2),  # keep 32768
        "context": ("value", 7),  # 524288 tokens
    }
    shown = page.evaluate(_JS_SET_LONGCTX, choice)
    ctx = np.asarray(CONTEXTS)
    step = decode_step("gemma-3-27b-it", "Jetson-AGX-Orin-64GB", ctx, kv_budget=32768, w_bit=4, kv_bit=8)
    curve = shown["curve"]
    assert curve["context"] == list(CONTEXTS)
    assert curve["cached"] == np.minimum(ctx, 32768).tolist()
    # the page carries 4 significant digits (the precision of the book's tables)
    assert curve["time_ms"] == pytest.approx((step.time * 1e3).tolist(), rel=1e-3)
    assert curve["attention_ms"] == pytest.approx((step.attention_time * 1e3).tolist(), rel=1e-3)
    assert curve["kv_gb"] == pytest.approx((step.kv_cache / 1e9).tolist(), rel=1e-3)
    assert curve["total_gb"] == pytest.approx((np.broadcast_to(step.total, ctx.shape) / 1e9).tolist(), rel=1e-3)
    assert shown["selected"]["context"] == [524288]
    assert shown["selected"]["time_ms"] == pytest.approx([float(step.time[7]) * 1e3], rel=1e-3)
    assert "after 524288 tokens (32768 cached)" in shown["summary"] and "KV 8-bit" in shown["summary"]
    assert f"takes {shown['selected']['time_ms'][0]:g} ms" in shown["summary"]


# Every figure canvas and every control (inputs, selects, slider tracks, button groups) of the
# Bokeh output, with its box in page coordinates; playwright's CSS locators pierce Bokeh's shadow DOM.
_PHONE_PARTS = {
    "figure": ".bk-Canvas canvas",
    "select": "select.bk-input",
    "slider": ".noUi-target",
    "buttons": ".bk-btn-group",
}


_JS_WIDE_ELEMENTS = """(width) => {
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 1) continue;
    let inside = false;  // inside a box that scrolls on its own: does not widen the page
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") { inside = true; break; }
    }
    if (inside || [...el.children].some((c) => c.getBoundingClientRect().right > width + 1)) continue;
    found.push(`${el.tagName.toLowerCase()}.${el.className}: "${(el.textContent || "").trim().slice(0, 40)}"`);
    if (found.length >= 5) break;
  }
  return found;
}"""


@pytest.mark.parametrize("page_path", _params(_bokeh_pages()))
def test_bokeh_pages_fit_a_phone(visit, page_path):
    """At 390x844 (a phone) no figure is wider than the screen and every control lies within
    it, so nothing is clipped and every control can be reached without scrolling sideways."""
    v = visit(page_path, PHONE)
    page = v.page
    page.wait_for_function(_JS_WAIT_IDLE, timeout=15_000)
    page.wait_for_timeout(500)  # let stretch_width layouts settle to the column
    width = PHONE["width"]
    outside, counts = [], {}
    for kind, selector in _PHONE_PARTS.items():
        parts = page.locator(selector)
        counts[kind] = parts.count()
        for i in range(parts.count()):
            box = parts.nth(i).bounding_box()
            if box is None or box["width"] == 0:
                continue  # hidden (e.g. a collapsed dropdown)
            if box["x"] < -1 or box["x"] + box["width"] > width + 1:
                outside.append(f"{kind} {i}: x={box['x']:.0f}, width={box['width']:.0f}")
    # the page itself must not scroll sideways: a long inline identifier, a wide equation or an
    # unwrapped table makes the whole page wider than the phone (tables and code may scroll inside
    # their own box, which does not widen the page)
    page_width = page.evaluate("document.documentElement.scrollWidth")
    if page_width > width + 1:
        outside.append(f"page is {page_width} px wide: " + ", ".join(page.evaluate(_JS_WIDE_ELEMENTS, width)))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{_slug(page_path)}.phone.png"), full_page=True)
    v.report(page_path, ".phone", parts=counts, outside=outside)
    assert counts["figure"] > 0, f"no figure canvas found on {page_path}"
    assert not outside, f"on a {width} px screen, parts of {page_path} are off-screen: {outside}"
    assert not v.errors(), f"console errors on {page_path} at phone size: {v.errors()}"
