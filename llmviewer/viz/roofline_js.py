"""The roofline in JavaScript, for explorers that place Python's counts on a device chosen in the page.

One piece of JS, the twin of :func:`llmviewer.engine.roofline.roofline_time` and
:func:`llmviewer.specs.hardware.ridge_point`: the same operations in the same order on IEEE
doubles, so the page gives the same time and bound as Python, also exactly at the ridge
point (memory-bound there: compute-bound only when compute takes longer). The book's browser
test evaluates it in Chromium against the Python functions.
"""

ROOFLINE_JS = """
const ridgePoint = (peak, bw) => peak / bw;
const roofline = (ops, bytes, peak, bw) => {
  const compute = ops / peak, memory = bytes / bw, time = Math.max(compute, memory);
  return {time: time, bound: compute > memory ? "compute" : "memory", performance: time > 0 ? ops / time : 0};
};
"""
"""Defines ``ridgePoint(peak, bw)`` (OPs/byte) and ``roofline(ops, bytes, peak, bw)`` ->
``{time, bound, performance}`` (seconds, "compute"/"memory", OPs/s)."""
