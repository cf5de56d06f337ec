"""Compression: relations and closed forms, not values copied from the code."""

from __future__ import annotations

import math

import numpy as np
import pytest

import llmviewer
from llmviewer.specs.workload import stage_passes
from llmviewer.techniques import compression as c
from llmviewer.viz.quantization_explorer import quantization_explorer

H100 = "H100-SXM5-80GB"


@pytest.mark.parametrize("model", ["Llama-2-7b-hf", "Mixtral-8x7B-v0.1", "opt-6.7b"])
def test_defaults_are_the_plain_analysis(model):
    b = np.array([1, 8, 256])
    r = llmviewer.analyze(model, H100, batch_size=b, seqlen=2048, w_bit=4, w_group_size=128)
    pre, dec = c.compressed_analyze(model, H100, batch_size=b, seqlen=2048, w_bit=4, w_group_size=128)
    for mine, ref in ((pre, r.prefill), (dec, r.decode)):
        assert np.allclose(mine.time, ref.time, rtol=1e-12)
        assert np.allclose(mine.total["memory_access"], ref.total["memory_access"], rtol=1e-12)
        assert np.all(mine.total["dequant_OPs"] == 0)


def test_weight_bits_sets_the_projection_bytes():
    m = llmviewer.load_model("Llama-3.1-8B")
    h = m.hidden_size
    for bits in (16, 9, 3.5):
        _, dec = c.compressed_analyze(m, H100, batch_size=1, seqlen=512, weight_bits=bits)
        assert dec.layer("q_proj")["load_weight"] == pytest.approx(h * h * bits / 8)
        # embeddings and lm_head keep 16 bits
        assert dec.layer("lm_head")["load_weight"] == pytest.approx(h * m.vocab_size * 2)
    p, _ = stage_passes(1, 1, w_bit=4, w_group_size=64)
    assert c.compressed_weight_bytes(m, p.w_bytes * 8, w_bit=4, w_group_size=64) == pytest.approx(
        llmviewer.memory_footprint(m, w_bit=4, w_group_size=64)["weights"]
    )
    assert c.compressed_weight_bytes(m, 8) < c.compressed_weight_bytes(m, 16)


def test_dequantization_cost_closed_form():
    m = llmviewer.load_model("Llama-2-7b-hf")
    h, tokens, tile, k = m.hidden_size, 4096, 64, 3.0
    hw = llmviewer.load_hardware(H100)
    pre, _ = c.compressed_analyze(m, H100, batch_size=1, seqlen=tokens, w_bit=4, dequant_ops=k, dequant_tile=tile)
    q = pre.layer("q_proj")
    assert q["dequant_OPs"] == pytest.approx(k * h * h * math.ceil(tokens / tile))
    # compute-bound: the MMA at the 16-bit peak plus dequantization on the vector units
    expected = 2 * tokens * h * h / hw.peak("fp16") + k * h * h * math.ceil(tokens / tile) / hw.vector_peak
    assert q["bound"] == "compute"
    assert q["inference_time"] == pytest.approx(expected, rel=1e-9)
    # the relative slow-down of a compute-bound weight-only GEMM
    plain, _ = c.compressed_analyze(m, H100, batch_size=1, seqlen=tokens, w_bit=4)
    ratio = q["inference_time"] / plain.layer("q_proj")["inference_time"] - 1
    assert ratio == pytest.approx(c.dequant_slowdown(H100, k, tile), rel=1e-9)
    # once per pass by default: a decode step at batch 1 stays memory-bound, the same time
    _, d0 = c.compressed_analyze(m, H100, batch_size=1, seqlen=tokens, w_bit=4)
    _, d1 = c.compressed_analyze(m, H100, batch_size=1, seqlen=tokens, w_bit=4, dequant_ops=k)
    assert d1.time == pytest.approx(d0.time)


def test_sparse_formats():
    d = np.linspace(0.013, 0.997, 37)
    for fmt in ("csr", "bitmap"):
        edge = c.break_even_density(16, fmt)
        assert c.sparse_weight_bits(edge, 16, fmt) == pytest.approx(16)
        bits = c.sparse_weight_bits(d, 16, fmt)
        assert np.all((bits < 16) == (d < edge - 1e-12))
        assert np.all(np.diff(bits) > 0)
    # 2:4: half the values and a 2-bit index per kept value
    assert c.sparse_weight_bits(0.5, 16, "2:4") == 9
    assert c.sparse_weight_bits(0.5, 8, "2:4") == 5
    with pytest.raises(llmviewer.LLMViewerError):
        c.sparse_weight_bits(0.3, 16, "2:4")
    with pytest.raises(llmviewer.LLMViewerError):
        c.sparse_weight_bits(1.5, 16, "csr")


def test_semi_structured_doubles_the_peak_of_projections():
    m = "Llama-2-7b-hf"
    dense, _ = c.compressed_analyze(m, H100, batch_size=4, seqlen=4096)
    sparse, sdec = c.compressed_analyze(m, H100, batch_size=4, seqlen=4096, weight_bits=9, peak_multiplier=2)
    assert sparse.layer("gate_proj")["bound"] == "compute"
    assert sparse.layer("gate_proj")["inference_time"] == pytest.approx(dense.layer("gate_proj")["inference_time"] / 2)
    assert sparse.layer("gate_proj")["OPs"] == dense.layer("gate_proj")["OPs"]  # dense OPs, twice the rate
    assert sparse.layer("lm_head")["inference_time"] == dense.layer("lm_head")["inference_time"]
    _, ddec = c.compressed_analyze(m, H100, batch_size=1, seqlen=128)
    _, sdec = c.compressed_analyze(m, H100, batch_size=1, seqlen=128, weight_bits=9, peak_multiplier=2)
    assert sdec.layer("q_proj")["load_weight"] / ddec.layer("q_proj")["load_weight"] == pytest.approx(9 / 16)


def test_structured_pruning_is_a_smaller_dense_model():
    base = llmviewer.load_model("Llama-3.1-8B")
    same = c.prune_structured(base)
    assert llmviewer.parameter_count(same) == llmviewer.parameter_count(base)
    p = c.prune_structured(base, heads=0.5, intermediate=0.5)
    assert p.num_heads % p.num_kv_heads == 0 and p.num_heads == base.num_heads // 2
    assert p.intermediate_size == base.intermediate_size // 2
    assert llmviewer.parameter_count(p) < llmviewer.parameter_count(base)
    half = c.prune_structured(base, layers=0.5)
    embed = 2 * base.vocab_size * base.hidden_size + base.hidden_size  # embeddings, lm_head, final norm
    assert llmviewer.parameter_count(half) - embed == (llmviewer.parameter_count(base) - embed) // 2
    mha = c.prune_structured("Llama-2-7b-hf", heads=0.75)
    assert mha.num_heads == mha.num_kv_heads == 24
    with pytest.raises(llmviewer.LLMViewerError):
        c.prune_structured("Mixtral-8x7B-v0.1", heads=0.5)
    with pytest.raises(llmviewer.LLMViewerError):
        c.prune_structured(base, layers=0)


def test_low_rank_break_even_and_time():
    i, o = 4096, 11008
    r_star = c.low_rank_break_even(i, o)
    at = c.low_rank_linear(i, o, r_star, tokens=7)
    assert at["low_rank_OPs"] == pytest.approx(at["dense_OPs"])
    below = c.low_rank_linear(i, o, 256, tokens=7)
    assert below["low_rank_OPs"] / below["dense_OPs"] == pytest.approx(256 * (i + o) / (i * o))
    # in decode (memory-bound) time follows weight bytes: a small rank wins
    dense_t, lr_t = c.low_rank_time(H100, i, o, 256, tokens=1)
    assert lr_t < dense_t
    # a rank above break-even loses in both regimes
    for tokens in (1, 8192):
        dense_t, lr_t = c.low_rank_time(H100, i, o, 4000, tokens=tokens)
        assert lr_t > dense_t


def test_explorer_reads_the_engine():
    pytest.importorskip("bokeh")
    layout, table = quantization_explorer(
        ["Llama-3.1-8B"], ["A100-SXM4-80GB", H100], batches=(1, 4, 16), seqlens=(512, 2048)
    )
    row = table.query(
        "device == @H100 and w_bit == 4 and a_bit == 8 and kv_bit == 4 and group_size == 128"
        " and batch == 4 and seqlen == 2048"
    )
    r = llmviewer.analyze("Llama-3.1-8B", H100, batch_size=4, seqlen=2048, w_bit=4, a_bit=8, kv_bit=4, w_group_size=128,
                          use_flashattention=True)  # fmt: skip
    assert len(row) == 1
    assert row["prefill_s"].iloc[0] == pytest.approx(r.prefill.time)
    assert row["decode_s"].iloc[0] == pytest.approx(r.decode.time)
    assert row["kv_cache_B"].iloc[0] == pytest.approx(r.memory["kv_cache"])
    # the initial bars: speed-up over W16A16 at the initial widgets (H100, W4A16 KV16 g128, batch 4, 2048 tokens)
    times = next(m for m in layout.references() if getattr(m, "data", {}).get("stage") == ["prefill", "decode step"])
    base = llmviewer.analyze("Llama-3.1-8B", H100, batch_size=4, seqlen=2048, use_flashattention=True)
    w4 = llmviewer.analyze(
        "Llama-3.1-8B", H100, batch_size=4, seqlen=2048, w_bit=4, w_group_size=128, use_flashattention=True
    )
    assert times.data["speedup"][1] == pytest.approx(base.decode.time / w4.decode.time)
    assert times.data["speedup"][0] == pytest.approx(base.prefill.time / w4.prefill.time)


def test_cli_compress_matches_the_python_api(capsys):
    import json

    from llmviewer import cli

    argv = ["compress", "Llama-3.1-8B", H100, "--batchsize", "8", "--seqlen", "2048", "--sparsity", "2:4", "--json"]
    assert cli.run(argv) == 0
    out = json.loads(capsys.readouterr().out)
    pre, dec = c.compressed_analyze("Llama-3.1-8B", H100, batch_size=8, seqlen=2048, weight_bits=9, peak_multiplier=2)
    assert out["compressed"]["prefill_s"] == pytest.approx(pre.time)
    assert out["compressed"]["decode_step_s"] == pytest.approx(dec.time)
    base = llmviewer.analyze("Llama-3.1-8B", H100, batch_size=8, seqlen=2048)
    assert out["baseline"]["decode_step_s"] == pytest.approx(base.decode.time)
    assert out["compressed"]["weight_bytes"] < out["baseline"]["weight_bytes"]
    with pytest.raises(llmviewer.LLMViewerError):
        cli.run(["compress", "Llama-3.1-8B", H100, "--sparsity", "2:4", "--density", "0.3"])
