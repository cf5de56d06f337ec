"""analyze(): counting conventions, the defects of LLM-Viewer we fix, the roofline, sweeps."""

from __future__ import annotations

import numpy as np
import pytest

import llmviewer
from llmviewer.engine.analysis import kv_cache_bytes, layer_row, weight_bytes
from llmviewer.specs.workload import UNFUSED, make_pass

DEVICE = {"name": "toy", "memory_bandwidth": 1e12, "peak_ops": {"fp16": 1e14, "int8": 2e14, "int4": 4e14, "fp32": 2e13}}


@pytest.fixture(scope="module")
def llama7():
    return llmviewer.load_model("Llama-2-7b-hf")


def test_gated_activation_spans_the_intermediate_size(llama7):
    r = llmviewer.analyze(llama7, DEVICE, batch_size=3, seqlen=10, fusion="none").prefill.layer("act")
    tokens = 3 * 10
    # SiLU(gate) * up over intermediate_size (11008), not hidden_size
    assert r["store_act"] == tokens * llama7.intermediate_size * 2
    assert r["load_act"] == 2 * tokens * llama7.intermediate_size * 2


def test_lm_head_is_two_ops_per_weight_per_token(llama7):
    d = llmviewer.analyze(llama7, DEVICE, batch_size=5, seqlen=64).decode.layer("lm_head")
    assert d["OPs"] == 2 * 5 * llama7.hidden_size * llama7.vocab_size


def test_prefill_computes_last_token_logits_only(llama7):
    p = llmviewer.analyze(llama7, DEVICE, batch_size=2, seqlen=512).prefill.layer("lm_head")
    assert p["OPs"] == 2 * 2 * llama7.hidden_size * llama7.vocab_size


def test_flash_attention_writes_only_its_output(llama7):
    s, b = 1024, 2
    r = llmviewer.analyze(llama7, DEVICE, batch_size=b, seqlen=s, use_flashattention=True).prefill.layer(
        "fused_attention"
    )
    heads, d = llama7.num_heads, llama7.head_dim
    assert r["store_act"] == b * s * heads * d * 2  # s x d per head, not s x s
    assert r["load_kv_cache"] == b * llama7.num_kv_heads * s * 2 * d * 2


def test_residual_add_reads_both_inputs(llama7):
    r = llmviewer.analyze(llama7, DEVICE, batch_size=1, seqlen=8, fusion="none").prefill.layer("residual_add")
    assert r["load_act"] == 2 * r["store_act"] == 2 * 8 * llama7.hidden_size * 2


def test_fused_elementwise_work_moves_no_activations_but_keeps_its_ops(llama7):
    """By default (the bound) norms, residual adds, activation x up and rotary make no memory pass;
    their OPs still count, on the vector units."""
    fused = llmviewer.analyze(llama7, DEVICE, batch_size=2, seqlen=16).prefill
    plain = llmviewer.analyze(llama7, DEVICE, batch_size=2, seqlen=16, fusion="none").prefill
    for name in ("norm", "residual_add", "act", "rotary"):
        f, p = fused.layer(name), plain.layer(name)
        assert f["load_act"] == f["store_act"] == 0 and p["store_act"] > 0, name
        assert f["OPs"] == p["OPs"] > 0 and f["load_weight"] == p["load_weight"], name
        assert f["inference_time"] == pytest.approx(f["OPs"] / llmviewer.load_hardware(DEVICE).vector_peak), name
    assert fused.time < plain.time


def test_weight_footprint_includes_embeddings_and_lm_head(llama7):
    p = make_pass(1, 1, 0, 1)
    assert weight_bytes(llama7, p) == 2 * llmviewer.parameter_count(llama7)
    assert llmviewer.parameter_count(llama7) == 6_738_415_616


def test_decode_reads_every_weight_once(llama7):
    """One decode step reads each block weight and lm_head once, and one embedding row per token."""
    b = 4
    d = llmviewer.analyze(llama7, DEVICE, batch_size=b, seqlen=100).decode
    emb_table = llama7.vocab_size * llama7.hidden_size * 2
    expected = weight_bytes(llama7, make_pass(1, 1, 0, 1)) - emb_table + b * llama7.hidden_size * 2
    assert d.total["load_weight"] == pytest.approx(expected, rel=1e-12)


def test_decode_kv_traffic_is_the_cache(llama7):
    b, s = 3, 700
    d = llmviewer.analyze(llama7, DEVICE, batch_size=b, seqlen=s).decode
    # attention reads K (scores) and V (values) of all s + 1 tokens; projections write the new one
    assert d.total["load_kv_cache"] == kv_cache_bytes(llama7, b, s + 1, 16)
    assert d.total["store_kv_cache"] == kv_cache_bytes(llama7, b, 1, 16)


def test_roofline_time_and_bound(llama7):
    hw = llmviewer.load_hardware(DEVICE)
    for stage in ("prefill", "decode"):
        res = getattr(llmviewer.analyze(llama7, hw, batch_size=8, seqlen=256), stage)
        for r in res.layers:
            peak = hw.vector_peak if r["compute_dtype"] == "vector" else hw.peak(r["compute_dtype"])
            t = max(r["OPs"] / peak, r["memory_access"] / hw.memory_bandwidth)
            assert r["inference_time"] == pytest.approx(t)
            assert r["bound"] == ("compute" if r["OPs"] / peak > r["memory_access"] / hw.memory_bandwidth else "memory")
            if r["memory_access"]:  # fused element-wise operators move no bytes of their own
                assert r["performance"] <= min(peak, r["arithmetic_intensity"] * hw.memory_bandwidth) * (1 + 1e-12)
        assert res.total["inference_time"] == pytest.approx(sum(r["inference_time"] * r["count"] for r in res.layers))


def test_decode_is_memory_bound_at_batch_one_and_prefill_compute_bound(llama7):
    r = llmviewer.analyze(llama7, DEVICE, batch_size=1, seqlen=2048)
    assert r.decode.total["bound"] == "memory"
    assert r.prefill.total["bound"] == "compute"


@pytest.mark.parametrize(
    "w,a,dtype",
    [(16, 16, "fp16"), (4, 16, "fp16"), (8, 8, "int8"), (4, 4, "int4"), (4, 8, "int8")],
)
def test_compute_peak_follows_the_data_types_used(llama7, w, a, dtype):
    r = llmviewer.analyze(llama7, DEVICE, batch_size=64, seqlen=512, w_bit=w, a_bit=a, **UNFUSED).prefill
    assert r.layer("q_proj")["compute_dtype"] == dtype
    assert r.layer("lm_head")["compute_dtype"] == "fp16"  # lm_head stays unquantized
    assert r.layer("softmax")["compute_dtype"] == "vector"


def test_weight_only_quantization_shrinks_weight_traffic(llama7):
    w16 = llmviewer.analyze(llama7, DEVICE, seqlen=128).decode.layer("q_proj")["load_weight"]
    w4 = llmviewer.analyze(llama7, DEVICE, seqlen=128, w_bit=4).decode.layer("q_proj")["load_weight"]
    assert w4 * 4 == w16


def test_causal_masking_halves_square_attention(llama7):
    s = 1000
    full = llmviewer.analyze(llama7, DEVICE, seqlen=s, **UNFUSED).prefill.layer("qk_matmul")["OPs"]
    causal = llmviewer.analyze(llama7, DEVICE, seqlen=s, use_flashattention=False).prefill.layer("qk_matmul")["OPs"]
    assert causal / full == pytest.approx((s + 1) / (2 * s))


def test_sweeps_broadcast_and_match_scalars(llama7):
    batch = np.array([1, 8, 64])[:, None, None]
    seq = np.array([128, 4096])[None, :, None]
    wbit = np.array([16, 4])[None, None, :]
    r = llmviewer.analyze(llama7, DEVICE, batch_size=batch, seqlen=seq, w_bit=wbit)
    assert r.decode.time.shape == (3, 2, 2)
    assert r.memory["total"].shape == (3, 2, 2)
    for i, j, k in np.ndindex(3, 2, 2):
        one = llmviewer.analyze(
            llama7, DEVICE, batch_size=int(batch[i, 0, 0]), seqlen=int(seq[0, j, 0]), w_bit=int(wbit[0, 0, k])
        )
        assert r.decode.time[i, j, k] == pytest.approx(one.decode.time, rel=1e-12)
        assert r.prefill.time[i, j, k] == pytest.approx(one.prefill.time, rel=1e-12)
        assert r.memory["total"][i, j, k] == pytest.approx(one.memory["total"], rel=1e-12)
        assert r.decode.total["bound"][i, j, k] == one.decode.total["bound"]


def test_gqa_shrinks_kv_cache():
    l70 = llmviewer.load_model("Llama-2-70b-hf")
    assert l70.num_kv_heads == 8
    assert kv_cache_bytes(l70, 1, 1, 16) == l70.num_layers * 2 * 8 * l70.head_dim * 2


def test_mla_caches_the_latent():
    ds = llmviewer.load_model("DeepSeek-V3")
    assert kv_cache_bytes(ds, 1, 1, 16) == ds.num_layers * (512 + 64) * 2


def test_moe_reads_only_touched_experts():
    mx = llmviewer.load_model("Mixtral-8x7B-v0.1")
    one = llmviewer.analyze(mx, DEVICE, batch_size=1, seqlen=100).decode.layer("expert_up_proj")
    many = llmviewer.analyze(mx, DEVICE, batch_size=4096, seqlen=100).decode.layer("expert_up_proj")
    per_expert = mx.hidden_size * mx.moe_intermediate_size * 2
    assert one["load_weight"] == pytest.approx(2 * per_expert)  # top-2 of 8 for one token
    assert many["load_weight"] == pytest.approx(8 * per_expert)  # a large batch touches all
    assert one["OPs"] == 2 * 2 * mx.hidden_size * mx.moe_intermediate_size


def test_tensor_parallel_splits_weights_and_kv_and_adds_all_reduces(llama7):
    one = llmviewer.analyze(llama7, "H100", batch_size=4, seqlen=1024)
    two = llmviewer.analyze(llama7, "H100", batch_size=4, seqlen=1024, tensor_parallel=2)
    norms = llama7.hidden_size * (2 * llama7.num_layers + 1) * 2  # replicated on every device
    assert two.memory["weights"] == pytest.approx((one.memory["weights"] - norms) / 2 + norms)
    assert two.memory["kv_cache"] == pytest.approx(one.memory["kv_cache"] / 2)
    reduce = two.decode.layer("all_reduce")
    assert reduce["count"] == 2 * llama7.num_layers and reduce["kind"] == "communication"
    assert reduce["link_bytes"] == 2 * (1 / 2) * 4 * llama7.hidden_size * 2
    assert two.decode.layer("q_proj")["OPs"] * 2 == one.decode.layer("q_proj")["OPs"]
    assert 0.5 * one.decode.time < two.decode.time < one.decode.time


def test_tensor_parallel_replicates_a_single_kv_head():
    falcon = llmviewer.load_model("falcon-7b")  # multi-query: one KV head, 71 query heads
    with pytest.raises(ValueError, match=r"tensor_parallel=2 does not divide num_attention_heads \(71\)"):
        llmviewer.analyze(falcon, "H100", tensor_parallel=2)
    l70 = llmviewer.load_model("Llama-2-70b-hf")  # 8 KV heads
    kv8 = llmviewer.memory_footprint(l70, seqlen=100, tensor_parallel=8)["kv_cache"]
    kv16 = llmviewer.memory_footprint(l70, seqlen=100, tensor_parallel=16)["kv_cache"]
    assert kv8 == kv16  # beyond 8 devices each holds (a copy of) one KV head


def test_all_reduce_is_bound_by_the_link_on_pcie():
    r = llmviewer.analyze("Llama-3.1-8B", "L40S", batch_size=64, seqlen=1024, tensor_parallel=4).prefill
    assert r.layer("all_reduce")["bound"] == "communication"


def test_group_scales_add_to_weight_bytes(llama7):
    plain = llmviewer.memory_footprint(llama7, w_bit=4)["weights"]
    grouped = llmviewer.memory_footprint(llama7, w_bit=4, w_group_size=128, w_group_bits=32)["weights"]
    block_params = sum(
        op.params * op.count
        for op in llmviewer.build_ops(llama7)
        if getattr(op, "quantized", False) and op.holds_params
    )
    assert grouped - plain == pytest.approx(block_params * 32 / 8 / 128)


def test_unknown_option_is_rejected(llama7):
    with pytest.raises(ValueError, match=r"unknown option\(s\) wbit; valid: w_bit"):
        llmviewer.analyze(llama7, "H100", wbit=4)


@pytest.mark.parametrize(
    "model, device, kw",
    [
        ("Llama-2-7b-hf", "A100-SXM4-80GB", dict(batch_size=1, seqlen=1024)),
        ("Mixtral-8x7B-v0.1", "RTX-4090-24GB", dict(batch_size=64, seqlen=8192, w_bit=4, kv_bit=4)),
        ("Llama-3.1-8B", "Apple-M2-Ultra-76C", dict(batch_size=8, seqlen=300, w_bit=8, a_bit=8)),
        ("Llama-3.1-70B", "H100-SXM5-80GB", dict(batch_size=4, seqlen=2048, tensor_parallel=4)),
    ],
)
def test_kept_scalar_path_gives_the_general_paths_floats(monkeypatch, model, device, kw):
    """evaluate_pass's shortcut for a scalar pass at the pure roofline (device-independent part kept
    per model and pass) gives exactly the entries and totals of layer_row + totals, and fresh dicts."""
    from llmviewer.engine import analysis

    llmviewer.analyze(model, device, **kw)
    llmviewer.analyze(model, device, **kw)  # a pass met before: its entries are prepared now
    general = []
    monkeypatch.setattr(analysis, "layer_row", lambda *a, **k: general.append(1) or layer_row(*a, **k))
    fast = llmviewer.analyze(model, device, **kw)
    assert not general or kw.get("tensor_parallel", 1) > 1  # the shortcut ran (not for a collective)
    monkeypatch.setattr(analysis, "_pure_scalar_pass", lambda *a: None)
    slow = llmviewer.analyze(model, device, **kw)
    assert repr(fast.to_dict()) == repr(slow.to_dict())
    assert [op.name for op in fast.decode.ops] == [op.name for op in slow.decode.ops]
    monkeypatch.undo()
    fast.decode.layers[0]["inference_time"] = -1.0  # a caller's edit does not reach the next result
    again = llmviewer.analyze(model, device, **kw)
    assert again.decode.layers[0]["inference_time"] == slow.decode.layers[0]["inference_time"]
