"""Long context, multimodal encoders and the edge: KV eviction budgets, longest context, energy per
token and the vision encoder as its own workload, checked against hand-computed values."""

from __future__ import annotations

import json
import math

import pytest

import llmviewer
from llmviewer.cli import run
from llmviewer.engine.analysis import kv_cache_bytes
from llmviewer.engine.vision import encoder_time, image_tokens, vision_encoder_cost
from llmviewer.errors import LLMViewerError
from llmviewer.specs.hardware import hardware_library, load_hardware
from llmviewer.specs.models import load_model
from llmviewer.studies.energy import device_power, energy_per_token
from llmviewer.studies.long_context import longest_context
from llmviewer.studies.multimodal import multimodal_ttft
from llmviewer.techniques.kv_eviction import KVBudget, decode_step, decode_time_with_budget, streaming_llm

M, NX = "Llama-3.1-8B", "Jetson-Orin-NX-16GB"
KV_PER_TOKEN_16 = 32 * 8 * 128 * 2 * 2
"""Llama-3.1-8B: 32 layers x 8 KV heads x 128 dims x (K and V) x 2 bytes = 131072 bytes per token."""


def test_edge_devices_carry_power_with_a_source():
    lib = hardware_library()
    for name in ("Jetson-Orin-Nano-Super-8GB", "Jetson-Orin-NX-16GB"):
        assert lib[name].tdp_watts == 25.0  # the top of the 7-25 W / 10-25 W module power modes
    assert lib["Raspberry-Pi-5-8GB"].tdp_watts is None  # its 27 W is a supply rating, not device power
    for hw in lib.values():
        if hw.tdp_watts is not None:
            assert hw.sources.get("tdp", "").startswith("https://"), hw.name


def test_budget_caps_cache_and_attention_exactly():
    full = decode_step(M, NX, 32768, w_bit=4)
    assert full.kv_cache == 32768 * KV_PER_TOKEN_16
    capped = decode_step(M, NX, 32768, kv_budget=2048, w_bit=4)
    assert capped.cached == 2048 and capped.kv_cache == 2048 * KV_PER_TOKEN_16
    same = decode_step(M, NX, 2048, w_bit=4)
    assert capped.time == pytest.approx(same.time) and capped.attention_time == pytest.approx(same.attention_time)
    assert capped.other_time == pytest.approx(full.other_time)  # weights do not care
    assert full.attention_time > 10 * capped.attention_time
    # a budget above the context changes nothing
    assert decode_step(M, NX, 1000, kv_budget=4096).time == pytest.approx(decode_step(M, NX, 1000).time)


def test_streaming_llm_budget_counts_sinks():
    b = streaming_llm(1020, sinks=4)
    assert (b.tokens, b.sinks, b.method) == (1024, 4, "StreamingLLM")
    with pytest.raises(LLMViewerError, match="sinks"):
        KVBudget(4, 4)
    with pytest.raises(LLMViewerError, match="kv_budget"):
        decode_step(M, NX, 100, kv_budget=0)


def test_sliding_layers_keep_their_window_under_a_budget():
    m = load_model("gemma-3-27b-it")
    step = decode_step(m, "H100", 65536, kv_budget=8192)
    assert step.kv_cache == kv_cache_bytes(m, 1, 8192, 16)
    full_layers = m.num_layers - m.sliding_layers
    per = m.kv_cache_elements_per_token * 2
    assert step.kv_cache == per * (full_layers * 8192 + m.sliding_layers * min(8192, m.sliding_window))


def test_decode_time_with_budget():
    plain = llmviewer.generate(M, NX, prompt_len=1000, gen_len=300, w_bit=4)
    assert decode_time_with_budget(M, NX, 1000, 300, w_bit=4) == pytest.approx(plain.decode_time)
    assert decode_time_with_budget(M, NX, 1000, 300, kv_budget=10**6, w_bit=4) == pytest.approx(plain.decode_time)
    # budget below the prompt: every one of the 299 steps reads exactly the budget
    step = decode_step(M, NX, 512, w_bit=4).time
    assert decode_time_with_budget(M, NX, 1000, 300, kv_budget=512, w_bit=4) == pytest.approx(299 * step)
    # budget reached midway: growing part as generate, then flat
    mid = decode_time_with_budget(M, NX, 1000, 300, kv_budget=1100, w_bit=4)
    grow = llmviewer.generate(M, NX, prompt_len=1000, gen_len=101, w_bit=4).decode_time
    assert mid == pytest.approx(grow + 199 * decode_step(M, NX, 1100, w_bit=4).time)


def test_longest_context_is_the_last_fitting_length():
    r = longest_context(M, NX, w_bit=4, kv_bit=8)
    assert r.kv_bytes_per_token == KV_PER_TOKEN_16 / 2
    # the KV cache of the answer fills what the weights leave, to within a decode step's working set
    spare = 16e9 - r.weights
    assert spare / r.kv_bytes_per_token * 0.99 < r.tokens < spare / r.kv_bytes_per_token
    one_more = decode_step(M, NX, r.tokens + 1, w_bit=4, kv_bit=8)
    assert one_more.kv_cache > spare - 0.01 * spare
    assert longest_context(M, NX, w_bit=4, kv_bit=4).tokens == pytest.approx(2 * r.tokens, rel=0.01)
    assert longest_context(M, NX, w_bit=4, kv_budget=4096).tokens is None  # eviction: no limit
    assert longest_context("Llama-3.1-70B", NX).tokens == 0  # 140 GB of weights
    with pytest.raises(LLMViewerError, match="batch_size"):
        longest_context(M, NX, batch_size=0)


def test_energy_is_power_times_roofline_time():
    e = energy_per_token(M, "Jetson-Orin-Nano-Super-8GB", prompt_len=512, gen_len=2, w_bit=4)
    g = llmviewer.generate(M, "Jetson-Orin-Nano-Super-8GB", prompt_len=512, gen_len=2, w_bit=4)
    assert e.power_w == 25.0 and e.decode_j_per_token == pytest.approx(25.0 * g.tpot_mean)
    assert e.prefill_j_per_token == pytest.approx(25.0 * g.ttft / 512)
    # decode at batch 1 is memory-bound: about the weight bytes a step reads / bandwidth x power (the
    # 16-bit embedding table, 128256 x 4096 x 2 bytes, is held but only one row of it is read)
    w = llmviewer.memory_footprint(M, seqlen=512, w_bit=4)["weights"] - 128256 * 4096 * 2
    assert e.decode_j_per_token == pytest.approx(25.0 * w / 102e9, rel=0.05)
    assert energy_per_token(M, "H100", power_w=350, gen_len=3).power_source == "given"
    assert device_power("Jetson-Orin-NX-16GB")[1].startswith("https://")
    with pytest.raises(LLMViewerError, match="no power figure"):
        energy_per_token(M, "Raspberry-Pi-5-8GB")
    with pytest.raises(LLMViewerError, match="power_w"):
        energy_per_token(M, "H100", power_w=float("nan"))
    with pytest.raises(LLMViewerError, match="gen_len"):
        energy_per_token(M, "H100", gen_len=1)


def test_image_tokens_and_encoder_workload():
    v = load_model("gemma-3-27b-it").vision
    assert (v.patches, image_tokens(v)) == (4096, 256)  # 896 px / 14 = 64 patches a side, pooled 4x4
    assert image_tokens(v, 448) == 64 and image_tokens(v, keep=0.25) == 64
    hw = load_hardware("H100")
    enc = encoder_time(v, hw, images=2)
    assert enc["OPs"] == vision_encoder_cost(v, 2)["matmul_OPs"]
    assert enc["time"] == pytest.approx(max(enc["OPs"] / hw.peak("bf16"), enc["bytes"] / hw.memory_bandwidth))
    # one layer by hand: 2 x patches x (4 h^2 + 2 h inter) + 4 x patches^2 x h
    h, i, n = 1152, 4304, 4096
    layer = 2 * n * (4 * h * h + 2 * h * i) + 4 * n * n * h
    assert vision_encoder_cost(v)["matmul_OPs"] == pytest.approx(27 * layer, rel=0.01)
    for bad in (dict(image_size=3), dict(keep=0), dict(keep=1.5)):
        with pytest.raises(LLMViewerError):
            multimodal_ttft("gemma-3-27b-it", hw, **bad)


@pytest.mark.parametrize("name, text_width", [("Qwen3.5-27B", 5120), ("Qwen3.5-35B-A3B", 2048)])
def test_qwen3_5_vision_tower_by_hand(name, text_width):
    v = load_model(name).vision
    # 2304 learned positions: 48 x 48 patches of 16 px (768 px), 2 x 2 merge -> 576 tokens; no deepstack
    assert (v.style, v.patches, v.tokens_per_image, v.deepstack) == ("qwen3_vl", 2304, 576, 0)
    h, i, n, t, wide = 1152, 4304, 2304, 576, 4 * 1152
    layer = 2 * n * (4 * h * h + 2 * h * i) + 4 * n * n * h
    merger = 2 * t * (wide * wide + wide * text_width)
    assert vision_encoder_cost(v)["matmul_OPs"] == 2 * n * 3 * 2 * 16 * 16 * h + 27 * layer + merger


def test_vision_towers_side_by_side():
    from llmviewer.studies.multimodal import vision_towers

    t = vision_towers(["gemma-4-26B-A4B", "Qwen3.5-27B"], "H100").set_index("model")
    assert t.loc["gemma-4-26B-A4B", ["style", "tower_parameters", "patches", "image_tokens"]].tolist() == [
        "gemma4", 572792112, 2304, 256,
    ]  # fmt: skip
    r = multimodal_ttft("Qwen3.5-27B", "H100")
    assert t.loc["Qwen3.5-27B", "encoder_share"] == r.encoder_share and t.loc["Qwen3.5-27B", "image_tokens"] == 576
    with pytest.raises(LLMViewerError, match="no vision tower"):
        vision_towers([M], "H100")


def test_multimodal_ttft_adds_encoder_and_prefill():
    r1 = multimodal_ttft("gemma-3-27b-it", "H100", images=1)
    r8 = multimodal_ttft("gemma-3-27b-it", "H100", images=8)
    assert r8.encoder_time == pytest.approx(8 * r1.encoder_time, rel=0.02)  # weights are read once
    assert r8.image_tokens == 8 * 256 and r8.ttft == pytest.approx(r8.encoder_time + r8.prefill_time)
    pruned = multimodal_ttft("gemma-3-27b-it", "H100", images=8, keep=0.25)
    assert pruned.encoder_time == r8.encoder_time and pruned.prefill_time < r8.prefill_time / 2
    with pytest.raises(LLMViewerError, match="no vision tower"):
        multimodal_ttft(M, "H100")


def test_cli_commands(capsys):
    assert run(["longctx", M, NX, "--w_bit", "4", "--context", "32768", "--kv-budget", "2048", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["decode_step"]["cached"] == 2048 and doc["longest_context"]["tokens"] is None
    assert run(["energy", M, "Orin-Nano-Super", "--w_bit", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["power_w"] == 25 and math.isfinite(doc["decode_j_per_token"])
    assert run(["encode", "gemma-3-27b-it", "H100", "--images", "4"]) == 0
    assert "encoder share" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["longctx", M, NX, "--kv-budget", "0"],
        ["energy", M, "TPU-v5e"],
        ["energy", M, "H100", "--power", "-3"],
        ["encode", M, "H100"],
        ["encode", "gemma-3-27b-it", "H100", "--images", "0"],
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(argv):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "llmviewer", *argv], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_attention_crossover_is_the_first_context_where_attention_dominates():
    from llmviewer.studies.long_context import attention_crossover, attention_split

    for stage in ("decode", "prefill"):
        ctx = attention_crossover(M, "H100", stage)
        a, o = attention_split(M, "H100", ctx, stage)
        a1, o1 = attention_split(M, "H100", ctx - 1, stage)
        assert a >= o and a1 < o1
    # decode by hand: attention reads ctx x 131072 KV bytes, the rest about the weight bytes
    ctx = attention_crossover(M, "H100", "decode")
    assert ctx * KV_PER_TOKEN_16 == pytest.approx(decode_step(M, "H100", ctx).weights - 128256 * 4096 * 2, rel=0.05)
    # gpt-oss with a 128-token window on half its layers crosses later than Llama-3.1-8B does
    assert attention_crossover("gpt-oss-120b", "H100", "decode") > ctx
    with pytest.raises(LLMViewerError, match="stage"):
        attention_split(M, "H100", 10, "verify")


def test_kv_table_and_guard():
    from llmviewer.studies.guard import guarded_generation
    from llmviewer.studies.long_context import kv_table

    t = kv_table([M, "gemma-3-27b-it"], [4096, 1048576]).set_index("model")
    assert t.loc[M, "kv_1048576"] == 1048576 * KV_PER_TOKEN_16
    g = load_model("gemma-3-27b-it")  # 62 layers: 52 sliding (1024), 10 full; 16 KV heads x 128 dims
    assert t.loc["gemma-3-27b-it", "kv_1048576"] == (10 * 1048576 + 52 * 1024) * g.kv_cache_elements_per_token * 2
    c = guarded_generation(M, "Llama-3.2-1B", NX, prompt_len=512, gen_len=64, w_bit=4)
    check = llmviewer.analyze("Llama-3.2-1B", NX, seqlen=512, w_bit=4)
    assert c.input_check == pytest.approx(check.prefill.time + check.decode.time)
    both = [llmviewer.memory_footprint(x, seqlen=576, w_bit=4)["total"] for x in (M, "Llama-3.2-1B")]
    assert c.memory_both == pytest.approx(sum(both)) and c.fits
    # the watermark pass is memory-bound: 128256 logits read and written in 16 bits
    assert c.watermark_per_token == pytest.approx(2 * 128256 * 2 / 102.4e9)


def test_long_context_explorer_table_and_lookup():
    import numpy as np

    from llmviewer.viz.long_context_explorer import long_context_explorer

    layout, table = long_context_explorer(
        [M, "gpt-oss-120b"], ["H100", NX], contexts=(4096, 65536), budgets=(None, 8192)
    )
    assert len(table) == 2 * 2 * 3 * 2 * 2  # models x devices x KV widths x budgets x contexts
    row = table[(table["model"] == "gpt-oss-120b") & (table["device"] == NX) & (table["kv_bit"] == 8)]
    row = row[(row["budget"] == 8192) & (row["context"] == 65536)].iloc[0]
    step = decode_step("gpt-oss-120b", NX, 65536, kv_budget=8192, w_bit=4, kv_bit=8)
    assert row["time_ms"] == pytest.approx(step.time * 1e3) and row["kv_gb"] == pytest.approx(step.kv_cache / 1e9)
    assert not row["fits"]  # 60 GB of 4-bit weights on a 16 GB module
    # the readout is filled in Python before any interaction: the first model and device
    summary = next(m for m in layout.references() if getattr(m, "name", None) == "longctx-summary")
    assert "Llama-3.1-8B" in summary.text and "H100-SXM5-80GB" in summary.text
    curve = next(m for m in layout.references() if getattr(m, "name", None) == "longctx-curve")
    assert np.asarray(curve.data["context"]).tolist() == [4096, 65536]


def test_hybrid_state_does_not_grow_and_a_budget_caps_only_attention():
    nh = "Nemotron-H-56B-Base-8K"  # 10 attention layers, 54 Mamba-2 layers with a fixed state
    m = load_model(nh)
    growth = kv_cache_bytes(m, 1, 2 * 65536, 16) - kv_cache_bytes(m, 1, 65536, 16)
    attention_layers = 10
    assert growth == 65536 * attention_layers * m.num_kv_heads * m.head_dim * 2 * 2
    assert kv_cache_bytes(m, 1, 1, 16) > 54 * 1e6  # the states: megabytes per layer, held from the first token
    capped = decode_step(nh, "H100", 10**6, kv_budget=4096, w_bit=4)
    assert capped.kv_cache == kv_cache_bytes(m, 1, 4096, 16)
