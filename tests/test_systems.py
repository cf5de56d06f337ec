"""System-level optimization models (llmviewer.serving): relations and closed forms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import llmviewer
from llmviewer.cli import run
from llmviewer.studies import compare
from llmviewer.techniques import serving
from llmviewer.viz.serving_explorer import serving_explorer, serving_table

M, HW = "Llama-2-7b-hf", "A100-SXM4-80GB"


def test_fusion_removes_score_matrix_traffic_and_grows_with_length():
    short = serving.fusion_comparison(M, HW, batch_size=1, seqlen=512)["prefill"]
    long = serving.fusion_comparison(M, HW, batch_size=1, seqlen=4096)["prefill"]
    assert short["attention_bytes_fused"] < short["attention_bytes_unfused"]
    # unfused traffic is dominated by the n^2 score matrices, fused by the n-linear Q, K, V, O
    assert long["attention_ratio"] > short["attention_ratio"] > 1
    assert long["time_fused"] <= long["time_unfused"]


def test_fusion_attention_bytes_closed_form_decode():
    m = llmviewer.load_model(M)
    n, b = 1000, 4
    d = serving.fusion_comparison(M, HW, batch_size=b, seqlen=n)["decode"]
    # fused decode: read q, K, V (n+1 keys), write output; 2 bytes each, every layer
    per_layer = b * m.num_heads * m.head_dim * 2 * (1 + 2 * (n + 1) + 1)
    assert d["attention_bytes_fused"] == pytest.approx(m.num_layers * per_layer)


def test_kv_bytes_per_token_mha():
    m = llmviewer.load_model(M)
    assert serving.kv_bytes_per_token(M) == 2 * m.num_layers * m.num_kv_heads * m.head_dim * 2
    assert serving.kv_bytes_per_token(M, kv_bit=4) == serving.kv_bytes_per_token(M) / 4


def test_paged_waste_below_one_block_per_sequence_and_contiguous_waste_closed_form():
    lengths = serving.uniform_lengths(100, 900)
    per_token = serving.kv_bytes_per_token(M)
    cont = serving.kv_reservation(M, lengths, 1000)
    paged = serving.kv_reservation(M, lengths, 1000, block_size=16)
    assert cont["used"] == paged["used"] == lengths.sum() * per_token
    assert cont["waste"] == pytest.approx((1000 - lengths).sum() * per_token)
    assert 0 <= paged["waste"] < lengths.size * 16 * per_token
    one = serving.kv_reservation(M, lengths, 1000, block_size=1)
    assert one["waste"] == 0


def test_paged_policy_fits_more_sequences():
    lengths = serving.uniform_lengths(512, 1536)
    cont = serving.max_batch_by_policy(M, HW, lengths, 2048)
    paged = serving.max_batch_by_policy(M, HW, lengths, 2048, block_size=16)
    assert paged > cont > 0
    # contiguous reservation of max_len tokens each = the engine's max batch at max_len (KV only + acts)
    w, per_seq = compare.memory_per_sequence(M, 2048, kv_only=True)
    assert cont <= math.floor((llmviewer.load_hardware(HW).memory_bytes - w) / per_seq)


def test_kv_budget_caps_cache_and_attention():
    budget = serving.kv_budget_model(M, 256)
    full = llmviewer.memory_footprint(M, 8, 4096)["kv_cache"]
    capped = llmviewer.memory_footprint(budget, 8, 4096)["kv_cache"]
    assert capped == pytest.approx(full * 256 / 4096)
    a = llmviewer.analyze(budget, HW, 8, 4096, stages=("decode",), use_flashattention=False).decode
    b = llmviewer.analyze(M, HW, 8, 256, stages=("decode",), use_flashattention=False).decode
    assert a.layer("qk_matmul")["OPs"] == pytest.approx(b.layer("qk_matmul")["OPs"] * 256 / 257, rel=1e-2)


def test_offload_everything_at_batch_one_is_link_bound():
    hw = llmviewer.load_hardware(HW)
    r = serving.offload_step(M, HW, 1, 512, weight_offload=1.0)
    assert r["bound"] == "host link"
    assert r["step_time"] == pytest.approx(r["link_bytes"] / hw.host_link_bandwidth)
    no = serving.offload_step(M, HW, 1, 512, weight_offload=0.0)
    assert no["step_time"] == pytest.approx(no["gpu_time"]) and no["link_time"] == 0
    serial = serving.offload_step(M, HW, 1, 512, weight_offload=0.5, overlap=False)
    assert serial["step_time"] == pytest.approx(serial["gpu_time"] + serial["link_time"])


def test_offload_break_even_batch_is_the_first_batch_where_gpu_time_covers_link():
    b = serving.offload_break_even_batch(M, HW, 512, max_batch=8192)
    assert b is not None and b > 1
    at = serving.offload_step(M, HW, b, 512)
    before = serving.offload_step(M, HW, b - 1, 512)
    assert at["gpu_time"] >= at["link_time"] and before["gpu_time"] < before["link_time"]


def test_expected_max_uniform():
    assert serving.expected_max_uniform(1, 10) == pytest.approx(5.5)
    rng = np.random.default_rng(0)
    sample = rng.integers(1, 101, size=(200000, 8)).max(axis=1).mean()
    assert serving.expected_max_uniform(8, 100) == pytest.approx(sample, rel=5e-3)


def test_continuous_batching_beats_static_when_lengths_vary():
    r = serving.batching_comparison(M, HW, 32, 512, 512)
    assert r["gain"] > 1
    # one request of one token: both schedules run exactly one prefill
    one = serving.batching_comparison(M, HW, 1, 512, 1)
    assert one["gain"] == pytest.approx(1)


def test_throughput_latency_monotone():
    t = serving.throughput_latency(M, HW, [1, 4, 16, 64])
    assert np.all(np.diff(t["throughput"]) > 0) and np.all(np.diff(t["tpot"]) > 0)
    assert list(t["fits"]) == [True] * 4


def test_bubble_fraction():
    assert serving.bubble_fraction(1, 7) == 0
    assert serving.bubble_fraction(4, 4) == pytest.approx(3 / 7)
    assert serving.bubble_fraction(4, 1) == pytest.approx(3 / 4)


def test_serve_single_device_matches_generate_and_pp_splits_memory():
    g = llmviewer.generate(M, HW, 8, 512, 64)
    r = serving.serve(M, HW, 1, 1, 8, 512, 64)
    assert r["ttft"] == pytest.approx(g.ttft) and r["throughput"] == pytest.approx(g.throughput)
    pp = serving.serve(M, HW, 1, 4, 8, 512, 64, micro_batches=1)
    assert pp["bubble"] == pytest.approx(0.75)
    assert pp["memory_per_device"] < r["memory_per_device"]
    # one micro-batch through 4 stages: same compute time as one device, plus the hops
    assert pp["ttft"] >= g.ttft


def test_disaggregation_removes_prefill_interference():
    d = serving.disaggregation(M, HW, 1, 3, batch_size=32)
    assert d["disaggregated"]["tpot"] < d["colocated"]["tpot"]
    assert d["disaggregated"]["ttft"] > d["colocated"]["ttft"]  # the KV transfer


@pytest.mark.parametrize(
    "call",
    [
        lambda: serving.serve(M, HW, 1, 3, 8),  # 32 layers not divisible by 3
        lambda: serving.serve(M, HW, 1, 2, 8, micro_batches=3),
        lambda: serving.offload_step(M, HW, weight_offload=1.5),
        lambda: serving.offload_step(M, "Apple-M2-Ultra-76C"),
        lambda: serving.kv_reservation(M, [10, 3000], 2048),
        lambda: serving.kv_budget_model(M, 0),
    ],
)
def test_bad_input(call):
    with pytest.raises(llmviewer.LLMViewerError):
        call()


def test_cli_serve(capsys):
    assert run(["serve", M, "A100", "--tp", "2", "--pp", "2", "--devices", "4", "--batchsize", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["devices"] == 4 and out["memory_per_device"] > 0
    assert run(["serve", M, "A100", "--batchsize", "4"]) == 0
    assert "throughput" in capsys.readouterr().out
    with pytest.raises(llmviewer.LLMViewerError):
        run(["serve", M, "A100", "--tp", "2", "--devices", "3"])


def test_serving_table_tensor_parallel_divides_memory_and_explorer_builds():
    t = serving_table([M], [HW], tensor_parallel=(1, 2), batches=(1, 8), prompt_lens=(512,), gen_len=16)
    one, two = (t[t["tensor_parallel"] == n].set_index("batch") for n in (1, 2))
    assert np.all(two["memory_per_device"] < one["memory_per_device"])
    g = llmviewer.generate(M, HW, 8, 512, 16)
    assert one.loc[8, "throughput"] == pytest.approx(g.throughput)
    layout, table = serving_explorer([M], [HW], tensor_parallel=(1, 2), batches=(1, 8), prompt_lens=(512,))
    assert len(table) == 4 and layout is not None


def test_chunked_prefill_without_decode_tokens_is_the_prefill_pass():
    from llmviewer.engine.analysis import evaluate_pass
    from llmviewer.specs.workload import make_pass

    r = serving.chunked_prefill_pass(M, HW, 512, 0)
    plain = evaluate_pass(llmviewer.load_model(M), llmviewer.load_hardware(HW), make_pass(1, 512, 0, 1))
    assert r["time_mixed"] == pytest.approx(plain.time)
    assert r["time_mixed"] == r["time_separate"]


@pytest.mark.parametrize("chunk", [16, 256, 2048])
@pytest.mark.parametrize("decode_batch", [1, 32])
def test_chunked_prefill_mixed_pass_beats_separate_passes_and_reads_weights_once(chunk, decode_batch):
    r = serving.chunked_prefill_pass(M, HW, chunk, decode_batch, prefill_past=128, use_flashattention=True)
    assert r["time_mixed"] <= r["time_separate"] * (1 + 1e-12)
    assert max(r["time_prefill"], r["time_decode"]) <= r["time_mixed"] * (1 + 1e-12)
    # weights once: the larger of the two passes' weight reads, not their sum
    assert r["weight_bytes_mixed"] == pytest.approx(max(r["weight_bytes_prefill"], r["weight_bytes_decode"]))
    assert r["weight_bytes_mixed"] < r["weight_bytes_prefill"] + r["weight_bytes_decode"]


def test_prefill_stall_chunked_bounds_time_per_output_token():
    s = serving.prefill_stall(M, HW, 4096, 512, 16, use_flashattention=True)
    assert s["chunks"] == 8
    assert s["tpot_plain"] < s["tpot_chunked"] <= s["tpot_chunked_max"] < s["tpot_whole"]


def test_split_k_equal_with_enough_parallelism():
    r = serving.split_k_attention(M, "H100-SXM5-80GB", batch_size=64, context=4096)
    assert r["fraction"] == 1 and r["splits"] == 1
    assert r["time_split"] == r["time_plain"]
    forced = serving.split_k_attention(M, "H100-SXM5-80GB", batch_size=64, context=4096, splits=4)
    assert forced["time_split"] == pytest.approx(forced["time_plain"] + forced["reduction_time"])


@pytest.mark.parametrize("splits", [None, 1, 2, 8, 64])
def test_split_k_never_slower_beyond_reduction(splits):
    ctx = np.array([512, 4096, 32768])
    for b in (1, 2, 8, 64):
        r = serving.split_k_attention(M, "H100-SXM5-80GB", b, ctx, splits=splits)
        assert np.all(r["time_split"] <= r["time_plain"] + r["reduction_time"] + 1e-15)
    one = serving.split_k_attention(M, "H100-SXM5-80GB", 1, 4096, sms=132)
    assert one["fraction"] == pytest.approx(llmviewer.load_model(M).num_kv_heads / 132)
