"""The one piece of roofline JavaScript the explorers share, run in headless Chromium against Python.

Needs no book build: the functions of :data:`llmviewer.viz.roofline_js.ROOFLINE_JS` are evaluated
in a blank page and must give Python's time, bound and ridge point bit for bit, also for an
operator exactly at the ridge point (memory-bound on both sides).
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
