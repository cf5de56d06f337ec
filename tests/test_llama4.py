"""Llama-4 text models: chunked attention with NoPE full-attention layers, dense/MoE interleave, shared
expert. Expected values are derived here from the published configs by hand; the agreement with what
transformers builds (both expert-counting conventions) is in tests/test_against_torch.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

import llmviewer
from llmviewer.engine.analysis import kv_cache_bytes
from llmviewer.engine.generation import decode_steps_time
from llmviewer.engine.graph import build_ops
from llmviewer.errors import LLMViewerError
from llmviewer.specs.models import Attention, DenseMLP, MoEMLP, layer_mix, shipped_models
from llmviewer.specs.workload import Pass, make_pass

SCOUT, MAVERICK = "Llama-4-Scout-17B-16E-Instruct", "Llama-4-Maverick-17B-128E-Instruct"


def raw(name: str) -> dict:
    return json.loads(shipped_models()[name].read_text())


def with_text(name: str, **patch) -> dict:
    cfg = raw(name)
    return {**cfg, "text_config": {**cfg["text_config"], **patch}}


def test_layer_mix_from_no_rope_interval_and_moe_interleave():
    # 48 layers, a NoPE layer every 4th (3, 7, ..., 47): 12 full NoPE + 36 chunked(8192)
    scout = layer_mix(llmviewer.load_model(SCOUT))
    assert scout.mixers == ((Attention(40, 8, 128, nope=True), 12), (Attention(40, 8, 128, chunk=8192), 36))
    assert scout.mlps == ((MoEMLP(16, 1, 8192, 8192), 48),)  # interleave_moe_layer_step 1
    mav = layer_mix(llmviewer.load_model(MAVERICK))
    assert mav.mlps == ((DenseMLP(16384), 24), (MoEMLP(128, 1, 8192, 8192), 24))  # step 2: odd layers MoE


def test_rotary_and_qk_norm_only_on_chunked_layers_temperature_on_nope():
    ops = {op.name: op for op in build_ops(llmviewer.load_model(SCOUT))}
    assert ops["rotary_chunked"].count == 36 and "rotary" not in ops
    assert ops["qk_norm_chunked"].count == 36 and ops["qk_norm_chunked"].params == 0  # weightless L2 norm
    assert ops["attn_temperature"].count == 12
    mav = {op.name for op in build_ops(llmviewer.load_model(MAVERICK))}
    assert "qk_norm_chunked" not in mav  # use_qk_norm false


def test_chunked_scores_match_a_brute_force_count():
    m = llmviewer.load_model(SCOUT)
    qk = next(op for op in build_ops(m) if op.name == "qk_matmul_chunked")
    for past, new in ((0, 20000), (5000, 7000), (8191, 1), (8192, 1), (30000, 3)):
        q = np.arange(past, past + new)
        pairs = int(((q % 8192) + 1).sum())
        p = make_pass(1, new, past, 1, flash_attention=False)
        assert qk.traffic(p).OPs == 2 * 40 * 128 * pairs
    # a decode step at position 10000 reads the 10000 mod 8192 + 1 keys of its chunk
    fused = next(op for op in build_ops(m, True) if op.name == "fused_attention_chunked")
    step = make_pass(1, 1, 10000, 1)
    assert fused.traffic(step).load_kv_cache == 1809 * 8 * 2 * 128 * 2


def test_kv_cache_keeps_one_chunk_in_chunked_layers():
    m = llmviewer.load_model(SCOUT)
    per_layer_token = 8 * 2 * 128 * 2  # K and V, 8 heads x 128, 2 bytes
    assert kv_cache_bytes(m, 1, 100_000, 16) == (12 * 100_000 + 36 * 8192) * per_layer_token
    assert kv_cache_bytes(m, 2, 1000, 16) == 2 * 48 * 1000 * per_layer_token


@pytest.mark.parametrize("flash", [False, True])
@pytest.mark.parametrize("past, steps", [(8190, 5), (3, 40), (17, 1), (0, 0)])
def test_generate_decode_sum_over_the_chunk_sawtooth_is_exact(flash, past, steps):
    # a 16-token chunk so that steps cross block boundaries and whole blocks
    m = llmviewer.load_model(with_text(SCOUT, attention_chunk_size=16) if past < 8000 else raw(SCOUT))
    hw = llmviewer.load_hardware("H100")
    first = make_pass(4, 1, past, 1, flash_attention=flash)
    total = decode_steps_time(m, hw, first, steps)
    stepwise = sum(
        decode_steps_time(m, hw, Pass(**{**first.__dict__, "past_tokens": past + j}), 1) for j in range(steps)
    )
    assert total == pytest.approx(stepwise, rel=1e-12, abs=1e-15)


def test_generate_decode_sum_with_arrays_of_prompt_lengths():
    m = llmviewer.load_model(with_text(SCOUT, attention_chunk_size=16))
    hw = llmviewer.load_hardware("H100")
    lens = np.array([5, 16, 31])
    first = make_pass(1, 1, lens, 1)
    total = decode_steps_time(m, hw, first, 20)
    for i, n in enumerate(lens):
        one = decode_steps_time(m, hw, make_pass(1, 1, int(n), 1), 20)
        assert total[i] == pytest.approx(one, rel=1e-12)


@pytest.mark.parametrize(
    "patch, words",
    [
        ({"no_rope_layers": [1, 0]}, ["no_rope_layers", "2 entries", "48"]),
        ({"layer_types": ["full_attention"] * 48}, ["layer_types", "no_rope_layers", "disagree"]),
        ({"moe_layers": [48]}, ["moe_layers", "0..47"]),
        ({"attention_chunk_size": -8192}, ["attention_chunk_size", "-8192"]),
        ({"num_experts_per_tok": 17}, ["17", "1..16"]),
    ],
)
def test_inconsistent_llama4_configs_are_clear_errors(patch, words):
    with pytest.raises(LLMViewerError) as e:
        llmviewer.load_model(with_text(SCOUT, **patch))
    for w in words:
        assert w in str(e.value)


def test_kv_budget_and_load_simulator_on_new_layer_kinds():
    from llmviewer.techniques.loadsim.steptime import StepCost
    from llmviewer.techniques.serving import kv_budget_model, kv_bytes_per_token

    budget = kv_budget_model(SCOUT, 1000)
    assert kv_cache_bytes(budget, 1, 100_000, 16) == 48 * 1000 * 8 * 2 * 128 * 2
    assert kv_bytes_per_token(SCOUT) == 48 * 8 * 2 * 128 * 2
    # a hybrid's per-token KV leaves out its fixed state: 12 attention layers x K,V x 2 heads x 256 x 2 bytes
    assert kv_bytes_per_token("Qwen3-Next-80B-A3B-Thinking") == 12 * 2 * 2 * 256 * 2
    for name in (SCOUT, "Qwen3-Next-80B-A3B-Thinking"):
        with pytest.raises(LLMViewerError, match="load simulator does not model"):
            StepCost(name, "H100")


def test_vision_tower_is_reported_per_tile():
    v = llmviewer.load_model(SCOUT).vision
    # 336-pixel tiles of 14-pixel patches: 24 x 24 = 576 patches, pixel shuffle 0.5 -> 144 tokens
    assert (v.style, v.layers, v.patches, v.tokens_per_image, v.adapter_dim) == ("llama4", 34, 576, 144, 4096)
    out = llmviewer.analyze(SCOUT, "H100").to_dict()["vision_encoder_per_image"]
    assert out["tokens"] == 144
    cfg = raw(SCOUT)
    bad = {**cfg, "vision_config": {**cfg["vision_config"], "pixel_shuffle_ratio": 0.3}}
    with pytest.raises(LLMViewerError, match="not a supported Llama-4 tower"):
        llmviewer.load_model(bad)
