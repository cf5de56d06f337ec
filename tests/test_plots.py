"""Figures and the live explorer read the engine's numbers; nothing is re-derived."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

import llmviewer
from llmviewer.studies import compare
from llmviewer.viz import plots

pytest.importorskip("bokeh")


def test_layer_table_is_the_engines_count():
    table = plots.layer_table(["Llama-3.1-8B"], batches=[1, 32], seqlens=[256, 4096])
    for (stage, batch, seqlen, precision), rows in table.groupby(["stage", "batch", "seqlen", "precision"], sort=False):
        q = next(p for p in plots.DEFAULT_PRECISIONS if p.label == precision)
        res = getattr(llmviewer.analyze("Llama-3.1-8B", "H100", batch_size=batch, seqlen=seqlen, w_bit=q.w_bit,
                                        a_bit=q.a_bit, kv_bit=q.kv_bit), stage)  # fmt: skip
        assert rows["layer"].tolist() == [r["name"] for r in res.layers]
        assert np.allclose(rows["OPs"], [r["OPs"] for r in res.layers], rtol=1e-12)
        assert np.allclose(rows["memory_access"], [r["memory_access"] for r in res.layers], rtol=1e-12)


def _shown_points(lookup, index):
    """The explorer's layer points for a grid index, as the page's lookup fills them (empty slots past
    the model's last layer dropped)."""
    lookup.apply(index)
    data = lookup.curves[0].source.data
    keep = [i for i, name in enumerate(data["name"]) if name]
    return {k: [v[i] for i in keep] for k, v in data.items()}


MODERN_MIXERS = [
    "gpt-oss-20b",  # sliding window with attention sinks, MoE
    "Llama-4-Scout-17B-16E-Instruct",  # chunked attention and NoPE layers
    "gemma-3-1b-it",  # five sliding layers per full one
    "Qwen3-Next-80B-A3B-Thinking",  # gated DeltaNet (linear attention) + attention
    "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",  # Mamba2 + attention + MoE
    "DeepSeek-V2-Lite",  # MLA, dense and MoE MLPs mixed
]
"""One model per token-mixer family the explorers must show (the classic pair covers full attention)."""


@pytest.mark.parametrize(
    "models", [["Llama-2-7b-hf", "Mixtral-8x7B-v0.1"], MODERN_MIXERS], ids=["classic", "hybrid-sliding-mla"]
)
def test_roofline_explorer_shows_the_engines_numbers_for_every_setting(models):
    """For every setting of a small grid, the points and readout the page shows (decoded as its
    JavaScript decodes them) are llmviewer.analyze's: names, OPs and bytes exactly, bound, time
    and share as the hover writes them, the attainable performance within one Log16 step, and the
    whole-model time of the readout. Hybrid, sliding-window, MLA and state-space models too: a
    point for every layer the engine reports, none empty, every time finite and positive."""
    from llmviewer.viz.lookup import LOG16_STEP, js_precision

    devices, batches, seqlens = ["A100-SXM4-80GB", "L4-24GB"], (1, 64), (512, 32768)
    layout, lookup, _, _ = plots.roofline_lookup(models, devices, batches=batches, seqlens=seqlens)
    summary = next(m for m in layout.references() if getattr(m, "name", None) == "explorer-summary")
    for m, d, b, s, q in itertools.product(range(len(models)), range(2), range(2), range(2), range(4)):
        p = plots.DEFAULT_PRECISIONS[q]
        a = llmviewer.analyze(models[m], devices[d], batch_size=batches[b], seqlen=seqlens[s], w_bit=p.w_bit,
                              a_bit=p.a_bit, kv_bit=p.kv_bit)  # fmt: skip
        for stage, res in enumerate((a.prefill, a.decode)):
            shown = _shown_points(lookup, [m, d, stage, b, s, q, 0, 0])
            rows = res.layers
            assert shown["name"] == [r["name"] for r in rows] and len(rows) > 5
            assert shown["ops"] == [r["OPs"] for r in rows] and shown["bytes"] == [r["memory_access"] for r in rows]
            assert all(np.isfinite(t) and t > 0 for t in shown["time_us"])
            assert not re.search(r"\bnan\b|\binf", summary.text, re.I)
            assert shown["bound"] == [r["bound"] for r in rows]
            assert [js_precision(t) for t in shown["time_us"]] == [
                js_precision(r["inference_time"] * 1e6) for r in rows
            ]
            perf = [max(r["performance"], 1e6) for r in rows]
            assert np.allclose(shown["perf"], perf, rtol=LOG16_STEP, atol=0)
            assert shown["share"] == [plots._share_text(r["inference_time"] * r["count"] / res.time) for r in rows]
            assert f"whole model {plots.time_text(res.time)}." in summary.text
    # the roofs: the memory roof to each ridge, then flat at each unit width's peak, for the chosen device
    lookup.apply([0, 1, 1, 0, 0, 0, 0, 0])  # Llama-2-7b-hf on L4, decode, W16A16
    roofs = lookup.curves[1].source.data
    hw = llmviewer.load_hardware("L4-24GB")
    peak16 = hw.peak(hw.compute_dtype(16))
    assert max(roofs["y1"]) == max(peak16, hw.vector_peak)
    assert peak16 / hw.memory_bandwidth in roofs["x1"]


def test_roofline_explorer_sends_no_formula_to_the_page():
    """The explorer's JavaScript is the generic lookup and nothing else."""
    from bokeh.models import CustomJS

    from llmviewer.viz.lookup import LOOKUP_JS

    layout, _, _ = plots.roofline_explorer(["Llama-2-7b-hf"], ["RTX-A6000-48GB"], batches=(1,), seqlens=(512,))
    codes = {m.code for m in layout.references() if isinstance(m, CustomJS)}
    assert codes == {LOOKUP_JS}


def test_roofline_explorer_legend_covers_no_point():
    """The roof labels sit below the plot frame, where no layer point can be; the plot grows by one
    row for every roof label a setting can show, so the frame keeps its height."""
    from bokeh.models import Legend, Plot

    args = (["Llama-3.1-8B"], ["H100-SXM5-80GB"], (1,), (512,))
    layout, _, layers, devs = plots.roofline_lookup(*args)
    table, _, n_roofs = plots.explorer_table(layers, devs, args[0], *args[2:], plots.DEFAULT_PRECISIONS, True)
    labels = np.asarray(table["roof_label"]).reshape(-1, n_roofs)
    most = max(len(set(row)) for row in labels)
    assert most >= 2  # 16-bit tensor and vector roofs, 8-bit too under W8A8
    fig = next(iter(layout.select({"type": Plot})))
    assert not [r for r in fig.center if isinstance(r, Legend)]
    (legend,) = [r for r in fig.below if isinstance(r, Legend)]
    assert fig.height >= 420 + 21 * most


def test_figure_data_is_written(tmp_path):
    path = plots.save_figure_data("fig-x", pd.DataFrame({"a": [1.0, 2.5]}), folder=tmp_path)
    assert path.read_text() == "a\n1\n2.5\n"


def test_live_explorer_redraws_and_reports_bad_input():
    pytest.importorskip("ipywidgets")
    pytest.importorskip("jupyter_bokeh")
    from llmviewer.viz.widgets import explorer

    panel = explorer("Llama-2-7b-hf", "A100-SXM4-80GB")
    model_box, message = panel.children[0].children[0], panel.children[4]
    before = message.value
    # it opens on the engine's defaults (the speed of light: fused, causal attention), as the book does
    default = llmviewer.analyze("Llama-2-7b-hf", "A100-SXM4-80GB", batch_size=1, seqlen=2048)
    assert before.startswith(f"decode: {default.decode.time * 1e3:.4g} ms, ")
    panel.children[2].children[0].value = 64  # batch
    assert message.value != before and "decode" in message.value
    model_box.value = "Llama-2-7b"
    assert "unknown model 'Llama-2-7b'" in message.value
    mine = explorer("Llama-2-7b-hf", {"name": "my-npu", "memory_bandwidth": 5e11, "peak_ops": {"fp16": 5e13}})
    assert mine.children[0].children[1].value == "my-npu" and "memory-bound" in mine.children[4].value


def test_compare_devices_ranks_by_throughput_and_checks_fit():
    table = compare.compare_devices("Llama-2-70b-hf", ["RTX-4090-24GB", "H200-SXM-141GB"], batch_size=1)
    assert table["device"].tolist() == ["H200-SXM-141GB", "RTX-4090-24GB"]
    assert table["fits"].tolist() == [True, False]


def test_max_batch_size_is_exact():
    b = compare.max_batch_size("Llama-2-7b-hf", "A100-SXM4-80GB", 4096, use_flashattention=True)
    fp = llmviewer.memory_footprint
    assert fp("Llama-2-7b-hf", batch_size=b, seqlen=4096, use_flashattention=True)["total"] <= 80e9
    assert fp("Llama-2-7b-hf", batch_size=b + 1, seqlen=4096, use_flashattention=True)["total"] > 80e9


def test_compute_bound_batch_is_the_first_compute_bound_batch():
    b = compare.compute_bound_batch("Llama-2-7b-hf", "H100", 2048, layer="q_proj")
    at = llmviewer.analyze("Llama-2-7b-hf", "H100", batch_size=b, seqlen=2048).decode.layer("q_proj")["bound"]
    below = llmviewer.analyze("Llama-2-7b-hf", "H100", batch_size=b - 1, seqlen=2048).decode.layer("q_proj")["bound"]
    assert (at, below) == ("compute", "memory")


def test_time_metrics_are_seconds_and_rates_are_not():
    metrics = pd.Series(["ttft_s", "tpot_s", "e2e_latency_s", "output_throughput_tok_s", "decode_throughput_tok_s"])
    assert plots.is_time_metric(metrics).tolist() == [True, True, True, False, False]


def test_responsive_layout_for_phones():
    from bokeh.layouts import column
    from bokeh.models import Div, Legend, LogAxis, Plot, Slider

    table = pd.DataFrame({"batch": [1, 2, 4, 1, 2, 4], "ms": [1.0, 2, 3, 1, 2, 9], "series": list("aaabbb")})
    table["fits"] = table["ms"] < 5
    fig = plots.line_figure(table, "batch", "ms", by="series", fits="fits")
    slider = Slider(start=0, end=2, value=0, step=1, show_value=False, title="batch size: 1")
    layout = plots.responsive(column(slider, fig))
    for model in layout.select({"type": Plot}):
        assert model.sizing_mode == "stretch_width" and model.max_width == plots.MAX_WIDTH
        assert not [r for r in model.right if isinstance(r, Legend)]  # legends go below the plot
        for axis in model.select({"type": LogAxis}):
            assert axis.ticker.major_code == plots._LOG_TICKS  # evenly spaced in log, see below
    labels = [d.text for d in layout.select({"type": Div})]
    assert slider.title == "" and "batch size: 1" in labels  # no "batch size: 1:" from Bokeh
    legend = next(iter(fig.select({"type": Legend})))
    assert "does not fit in memory" in [item.label["value"] for item in legend.items]


def test_explorer_readouts_are_filled_at_build_time():
    layout, _, _ = plots.roofline_explorer(["Llama-3.1-70B"], ["H100-SXM5-80GB"], batches=(1, 1024), seqlens=(2048,),
                                           initial={"stage": 1, "batch": 1, "seqlen": 0})  # fmt: skip
    from bokeh.models import Div

    text = " ".join(d.text for d in layout.select({"type": Div}))
    assert "does not fit" in text and "FlashAttention on" in text and "e+" not in text


def test_log_axes_get_ticks_evenly_spaced_in_log():
    """Below two decades Bokeh's LogTicker falls back to linear ticks that crowd at the top
    (5k 10k 15k20k); the book's ticker keeps 1-2-5 steps. Run the ticker's JS under node."""
    import json
    import shutil
    import subprocess

    import pandas as pd
    import pytest
    from bokeh.models import CustomJSTicker, LogAxis

    from llmviewer.viz import plots

    fig = plots.responsive(plots.line_figure(pd.DataFrame({"x": [256, 16384], "y": [1, 2], "s": "a"}), "x", "y", "s"))
    axes = [a for a in fig.select({"type": LogAxis})]
    assert axes and all(isinstance(a.ticker, CustomJSTicker) for a in axes)
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    cases = [(256, 16384), (0.1, 1e4), (3, 8), (10, 11)]
    script = f"const f = new Function('cb_data', {json.dumps(plots._LOG_TICKS)});\n" + "".join(
        f"console.log(JSON.stringify(f({{start: {lo}, end: {hi}}})));\n" for lo, hi in cases
    )
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout
    ticks = [json.loads(line) for line in out.splitlines()]
    assert ticks[0] == [500, 1000, 2000, 5000, 10000]
    assert ticks[1] == [0.1, 1, 10, 100, 1000, 10000]
    assert ticks[2] == [3, 5, 7]
    assert ticks[3] == sorted(set(ticks[3])) and len(ticks[3]) >= 2


def test_year_axes_read_as_years():
    """The compact formatter would print 2020 as "2.02k"; an axis labelled with years keeps integers."""
    import pandas as pd
    from bokeh.models import NumeralTickFormatter

    from llmviewer.viz import plots

    table = pd.DataFrame({"year": [2018, 2024], "ridge": [139.0, 292.0], "device": ["V100", "B200"]})
    fig = plots.responsive(plots.scatter_figure(table, "year", "ridge", "device", x_label="year"))
    assert isinstance(fig.xaxis[0].formatter, NumeralTickFormatter) and fig.xaxis[0].formatter.format == "0"
    assert not isinstance(fig.yaxis[0].formatter, NumeralTickFormatter)


CHAPTER_GRIDS = {
    "hardware": dict(models=["Llama-3.1-8B", "Llama-3.1-70B", "Mixtral-8x7B-v0.1"], devices=None,
                     batches=(1, 4, 16, 64, 256), seqlens=(512, 2048, 8192)),
    "roofline": dict(models=["Llama-2-7b-hf", "gpt-oss-20b", "Llama-4-Scout-17B-16E-Instruct", "gemma-3-27b-it",
                             "Qwen3-Next-80B-A3B-Thinking", "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "DeepSeek-V3"],
                     devices=["RTX-A6000-48GB", "A100-SXM4-80GB", "H100-SXM5-80GB", "H200-SXM-141GB", "MI300X-192GB",
                              "RTX-4090-24GB", "L4-24GB", "Apple-M2-Ultra-76C"],
                     batches=(1, 16, 512), seqlens=(512, 2048, 32768)),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("chapter", sorted(CHAPTER_GRIDS))
def test_chapter_explorers_show_pythons_digits_in_every_cell(chapter):
    """The book's two roofline explorers, on their chapters' grids: every cell the page can show,
    decoded in Python as the page decodes it, writes the same text as Python's exact values (time
    to 3 significant digits, shares, bounds, readouts) and holds the same OPs and bytes; the
    attainable performance is within one Log16 step."""
    from llmviewer.viz.lookup import LOG16_STEP, js_precision

    grid = dict(CHAPTER_GRIDS[chapter])
    grid["devices"] = grid["devices"] or list(llmviewer.hardware_library())
    _, lookup, layers, devs = plots.roofline_lookup(**grid)
    exact, _, _ = plots.explorer_table(layers, devs, grid["models"], grid["batches"], grid["seqlens"],
                                       plots.DEFAULT_PRECISIONS, True)  # fmt: skip
    dims = lookup.dims
    for name in ("name", "count", "ops", "bytes", "intensity", "bound", "share", "size", "total", "total_unit", "fit",
                 "roof_x0", "roof_y1", "roof_label"):  # fmt: skip
        want = np.broadcast_to(np.asarray(exact[name]).reshape(-1) if np.ndim(exact[name]) == 1 else exact[name], dims)
        got = lookup.grid_values(name)
        same = (got == want) | (pd.isna(got) & pd.isna(want)) if want.dtype.kind == "f" else got == want
        assert np.all(same), name
    t_exact, t_shown = np.broadcast_to(exact["time_us"], dims), lookup.grid_values("time_us")
    pairs = np.unique(np.stack([t_exact.ravel(), t_shown.ravel()], axis=1), axis=0)
    pairs = pairs[~np.isnan(pairs[:, 0])]
    assert np.isnan(t_shown[np.isnan(t_exact)]).all()
    assert [js_precision(x) for x in pairs[:, 1]] == [js_precision(x) for x in pairs[:, 0]]
    p_exact, p_shown = np.broadcast_to(exact["perf"], dims), lookup.grid_values("perf")
    ok = np.isnan(p_exact) | (np.abs(p_shown / p_exact - 1) <= LOG16_STEP)
    assert ok.all()
