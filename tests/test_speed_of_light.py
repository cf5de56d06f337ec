"""The pure roofline is the speed of light by default: hand-computed cases.

Every expected number here is written from first principles (the shapes of the model, the
bytes each operator must move at least once, two OPs per multiply-accumulate), not taken from
the engine: fused causal attention, element-wise work fused into its neighbours (its
activations never make a memory pass; its OPs run on the vector units), ``lm_head`` on the
last position only, all-reduces in 16 bits. Time of an operator = max(OPs / peak, bytes /
bandwidth[, link bytes / link bandwidth]); the pass is the sum over operator instances.
"""

from __future__ import annotations

import numpy as np
import pytest

import llmviewer
from llmviewer.engine.efficiency import COLLECTIVE_LATENCY, Efficiency
from llmviewer.specs.workload import UNFUSED

# a small Llama-style GQA model: 2 layers, hidden 256, 4 query heads and 2 KV heads of 64
H, INTER, NH, NKV, D, L, V = 256, 512, 4, 2, 64, 2, 1000
GQA = {
    "model_type": "llama",
    "hidden_size": H,
    "intermediate_size": INTER,
    "num_attention_heads": NH,
    "num_key_value_heads": NKV,
    "num_hidden_layers": L,
    "vocab_size": V,
}
# four experts of the same size, two per token, in every layer
MOE = {**GQA, "model_type": "mixtral", "num_local_experts": 4, "num_experts_per_tok": 2}
PEAK, VECTOR, BW, LINK = 1e13, 1e12, 1e12, 1e11
DEVICE = {
    "name": "sol-toy",
    "memory_bandwidth": BW,
    "peak_ops": {"fp16": PEAK, "int8": 2 * PEAK, "fp32": VECTOR},
    "interconnect_bandwidth": LINK,
}


def roofline(ops: list[tuple[int, float, float, float]]) -> float:
    """Seconds of a pass: sum of count x max(OPs / peak, bytes / BW) over (count, OPs, bytes, peak)."""
    return sum(n * max(o / p, b / BW) for n, o, b, p in ops)


def dense_ops(batch: int, new: int, keys: int, pairs: int, e: float = 2) -> list[tuple[int, float, float, float]]:
    """The operators of one pass of the GQA model, by hand: ``batch`` sequences of ``new`` tokens,
    ``keys`` keys per sequence after the pass, ``pairs`` query-key pairs per head and sequence,
    ``e`` bytes per element (weights, activations and cache alike)."""
    t = batch * new

    def linear(i: int, o: int, rows: int = t) -> tuple[float, float]:
        return 2 * rows * i * o, (i * o + rows * i + rows * o) * e  # weights, input, output

    scores = batch * NH * pairs
    attention_ops = 2 * scores * (D + D) + 5 * scores  # Q K^T and P V, softmax (5 per score)
    attention_bytes = (t * NH * D + batch * NKV * keys * 2 * D + t * NH * D) * e  # Q, K and V once, output
    return [
        (1, 0, 2 * t * H * e, VECTOR),  # embedding rows read and written
        (2 * L, 4 * t * H, H * e, VECTOR),  # RMSNorm: 4 OPs per element; its scale read, activations fused
        (L, *linear(H, NH * D), PEAK),  # q_proj
        (L, *linear(H, NKV * D), PEAK),  # k_proj (output into the cache)
        (L, *linear(H, NKV * D), PEAK),  # v_proj
        (L, 3 * t * (NH + NKV) * D, 0, VECTOR),  # rotary on q and k, fused
        (L, attention_ops, attention_bytes, PEAK),  # fused causal attention
        (L, *linear(NH * D, H), PEAK),  # o_proj
        (L, *linear(H, INTER), PEAK),  # gate_proj
        (L, *linear(H, INTER), PEAK),  # up_proj
        (L, 5 * t * INTER, 0, VECTOR),  # SiLU(gate) * up: 4 + 1 OPs per element, fused
        (L, *linear(INTER, H), PEAK),  # down_proj
        (2 * L, t * H, 0, VECTOR),  # residual adds, fused
        (1, 4 * t * H, H * e, VECTOR),  # final norm
        (1, *linear(H, V, rows=batch), PEAK),  # lm_head on the last position of each sequence
    ]


def test_dense_gqa_prefill_is_the_hand_computed_bound():
    b, s = 2, 300
    expected = roofline(dense_ops(b, s, s, s * (s + 1) // 2))
    r = llmviewer.analyze(GQA, DEVICE, batch_size=b, seqlen=s).prefill
    assert r.time == pytest.approx(expected, rel=1e-12)
    # by hand: 2 * (2*300) * 256 * 256 OPs of q_proj at 1e13 OPs/s: 7.86432e-06 s, compute-bound
    assert r.layer("q_proj")["inference_time"] == pytest.approx(2 * 600 * 256 * 256 / 1e13, rel=1e-12)
    assert r.layer("q_proj")["bound"] == "compute"
    # the causal triangle: 300 * 301 / 2 = 45150 pairs per head, not 300 * 300
    assert r.layer("fused_attention")["OPs"] == 2 * 4 * 45150 * (128 * 2 + 5)
    # the unfused, non-causal accounting is only slower
    assert llmviewer.analyze(GQA, DEVICE, batch_size=b, seqlen=s, **UNFUSED).prefill.time > 1.05 * r.time


def test_dense_gqa_decode_is_the_hand_computed_bound():
    b, cached = 3, 499
    expected = roofline(dense_ops(b, 1, cached + 1, cached + 1))
    r = llmviewer.analyze(GQA, DEVICE, batch_size=b, seqlen=cached).decode
    assert r.time == pytest.approx(expected, rel=1e-12)
    # the KV cache read: 3 sequences x 2 KV heads x 500 keys x (64 + 64) x 2 bytes
    assert r.layer("fused_attention")["load_kv_cache"] == 3 * 2 * 500 * 128 * 2


def test_moe_decode_is_the_hand_computed_bound():
    b, cached = 3, 99
    t, experts, k = b, 4, 2
    touched = experts * (1 - (1 - k / experts) ** t)  # distinct experts 3 tokens route to: 3.5
    assert touched == 3.5
    dense = dense_ops(b, 1, cached + 1, cached + 1)
    # replace the dense MLP (gate, up, act, down: entries 8 to 11) by the routed experts
    ops = dense[:8] + dense[12:]
    e = 2
    for i, o in ((H, INTER), (H, INTER), (INTER, H)):  # gate, up, down of each expert
        ops.append((L, 2 * t * k * i * o, (touched * i * o + t * k * i + t * k * o) * e, PEAK))
    ops.append((L, 5 * t * k * INTER, 0, VECTOR))  # SiLU(gate) * up of the two experts, fused
    ops.append((L, 2 * t * H * experts, (H * experts + t * H + t * experts) * e, PEAK))  # router
    ops.append((L, 2 * k * t * H, 0, VECTOR))  # weighted sum of the experts' outputs, fused
    r = llmviewer.analyze(MOE, DEVICE, batch_size=b, seqlen=cached).decode
    assert r.time == pytest.approx(roofline(ops), rel=1e-12)


def test_tensor_parallel_all_reduces_are_16_bit_under_fp8():
    """Two devices, FP8 weights and activations: each layer's two all-reduces send
    2 (n-1)/n x tokens x hidden partial sums of 2 bytes, not 1."""
    b, s, tp = 2, 64, 2
    r = llmviewer.analyze(GQA, DEVICE, batch_size=b, seqlen=s, w_bit=8, a_bit=8, tensor_parallel=tp).prefill
    ar = r.layer("all_reduce")
    elems = b * s * H
    assert ar["count"] == 2 * L
    assert ar["link_bytes"] == 2 * (1 / 2) * elems * 2
    assert ar["memory_access"] == 2 * elems * 2  # read the partial sum, write the result
    assert ar["inference_time"] == pytest.approx(max(elems * 2 / LINK, 2 * elems * 2 / BW, elems / 2 / VECTOR))
    # each device holds half the heads: q_proj is 256 x 128 weights at 1 byte
    assert r.layer("q_proj")["load_weight"] == H * (NH // tp) * D * 1
    # the calibrated estimate adds a fixed latency per all-reduce; the bound adds none
    no_latency = Efficiency(bandwidth=0.8, compute=0.7)
    with_latency = Efficiency(bandwidth=0.8, compute=0.7, collective_latency=COLLECTIVE_LATENCY)
    kw = dict(batch_size=b, seqlen=s, w_bit=8, a_bit=8, tensor_parallel=tp)
    slow = llmviewer.analyze(GQA, DEVICE, calibration=with_latency, **kw).decode.time
    fast = llmviewer.analyze(GQA, DEVICE, calibration=no_latency, **kw).decode.time
    assert slow - fast == pytest.approx(2 * L * COLLECTIVE_LATENCY, rel=1e-9)
    assert 1e-6 <= COLLECTIVE_LATENCY <= 3e-5  # a few microseconds, as measured on NVLink


@pytest.mark.parametrize(
    "model,device",
    [("Llama-2-7b-hf", "A100-SXM4-80GB"), ("Llama-3.2-1B", "RTX-3090-24GB"), ("Llama-3.2-1B", "Apple-M2-Ultra-76C")],
)
def test_calibrated_time_to_first_token_never_drops_as_the_prompt_grows(model, device):
    """lm_head's efficiency follows its own rows (one per sequence), not the prompt's tokens."""
    prompts = np.arange(1, 65)
    ttft = llmviewer.generate(model, device, prompt_len=prompts, gen_len=1, calibration="serving").ttft
    assert np.all(np.diff(ttft) >= 0), prompts[1:][np.diff(ttft) < 0]
    pure = llmviewer.generate(model, device, prompt_len=prompts, gen_len=1).ttft
    assert np.all(np.diff(pure) >= 0) and np.all(ttft > pure)


def test_lm_head_efficiency_uses_its_own_rows():
    eff = Efficiency(compute=0.5, compute_half_tokens=64)
    r = llmviewer.analyze(GQA, DEVICE, batch_size=1, seqlen=512, calibration=eff).prefill.layer("lm_head")
    # 1 row: attained peak 1e13 * 0.5 * 1 / (1 + 64); OPs 2 * 256 * 1000
    compute = 2 * 256 * 1000 / (1e13 * 0.5 / 65)
    assert r["inference_time"] == pytest.approx(max(compute, (256 * 1000 + 256 + 1000) * 2 / BW))


def test_defaults_are_the_speed_of_light_and_the_unfused_accounting_stays_available():
    a = llmviewer.analyze("Llama-2-7b-hf", "A100-SXM4-80GB", seqlen=1024)
    assert a.settings["use_flashattention"] and a.settings["causal_attention"] and a.settings["fusion"] == "ideal"
    u = llmviewer.analyze("Llama-2-7b-hf", "A100-SXM4-80GB", seqlen=1024, **UNFUSED)
    assert {"qk_matmul", "softmax", "sv_matmul"} <= {row["name"] for row in u.prefill.layers}
    assert a.prefill.time < u.prefill.time and a.decode.time <= u.decode.time
    with pytest.raises(llmviewer.LLMViewerError, match="unknown fusion"):
        llmviewer.analyze("Llama-2-7b-hf", "A100-SXM4-80GB", fusion="some")


def test_matrix_products_pad_their_rows_to_a_tile():
    """tile_rows: a product of T rows costs the OPs of max(T, tile_rows) rows (lm_head: 1 row)."""
    eff = Efficiency(compute=0.5, tile_rows=16)
    r = llmviewer.analyze(GQA, DEVICE, batch_size=1, seqlen=512, calibration=eff).prefill.layer("lm_head")
    compute = 2 * 256 * 1000 * 16 / (1e13 * 0.5)
    assert r["inference_time"] == pytest.approx(max(compute, (256 * 1000 + 256 + 1000) * 2 / BW))
    big = llmviewer.analyze(GQA, DEVICE, batch_size=64, seqlen=512, calibration=eff).prefill.layer("lm_head")
    assert big["inference_time"] == pytest.approx(
        max(2 * 64 * 256 * 1000 / (1e13 * 0.5), (256 * 1000 + 64 * 256 + 64 * 1000) * 2 / BW)
    )


def test_device_families_and_dequantising_kernels_have_their_own_fractions():
    from llmviewer.specs.hardware import load_hardware

    eff = Efficiency(bandwidth=0.5, compute=0.5, families=(("nvidia-gddr", 0.9, 0.4), ("nvidia-geforce", 0.8, 0.7)))
    assert eff.on(load_hardware("L40S")).bandwidth == 0.9 and eff.on(load_hardware("RTX-A6000")).compute == 0.4
    # GeForce cards apart: their recorded FP16 peak is the FP32-accumulate rate
    assert eff.on(load_hardware("RTX-4090")).bandwidth == 0.8 and eff.on(load_hardware("RTX-3090")).compute == 0.7
    assert eff.on(load_hardware("H100")).bandwidth == 0.5
    # a weight-only pass: matrix products at 0.8 x the bandwidth fraction; 16-bit weights: not
    plain, dequant = Efficiency(bandwidth=0.5), Efficiency(bandwidth=0.5, dequant_bandwidth=0.8)

    def q_proj(e, w_bit):
        a = llmviewer.analyze(GQA, DEVICE, batch_size=1, seqlen=64, stages=("decode",), calibration=e, w_bit=w_bit)
        return a.decode.layer("q_proj")["inference_time"]

    assert q_proj(dequant, 4) == pytest.approx(q_proj(plain, 4) / 0.8)
    assert q_proj(dequant, 16) == q_proj(plain, 16)
    with pytest.raises(llmviewer.LLMViewerError, match="efficiency families"):
        Efficiency(families=(("nvidia-xyz", 0.5, 0.5),))
