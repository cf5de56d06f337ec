"""Gemma-4 (26B-A4B) text model: sliding layers and full layers of another shape (global head size,
global KV heads, V = K), a dense MLP beside the MoE block in every layer. Expected values are derived
here from the published config by hand; exact agreement with transformers is in tests/test_against_torch.py."""

from __future__ import annotations

import json

import pytest

import llmviewer
from llmviewer.engine.analysis import kv_cache_bytes
from llmviewer.engine.graph import build_ops, shard
from llmviewer.errors import LLMViewerError
from llmviewer.specs.models import Attention, DenseMLP, MoEMLP, layer_mix, shipped_models

NAME = "gemma-4-26B-A4B"


def with_text(**patch) -> dict:
    cfg = json.loads(shipped_models()[NAME].read_text())
    return {**cfg, "text_config": {**cfg["text_config"], **patch}}


def test_layer_mix_has_two_attention_shapes_and_dense_plus_moe():
    mix = layer_mix(llmviewer.load_model(NAME))
    # 30 layers, 5 sliding : 1 full; full layers: 16 heads x 512, 2 KV heads, V = K, rotary 0.25 x 512
    assert mix.mixers == (
        (Attention(16, 2, 512, k_eq_v=True, rotary_dim=128), 5),
        (Attention(16, 8, 256, window=1024), 25),
    )
    assert mix.mlps == ((DenseMLP(2112), 30), (MoEMLP(128, 8, 704), 30))


def test_operators_follow_each_shape():
    ops = {op.name: op for op in build_ops(llmviewer.load_model(NAME))}
    assert "v_proj_full" not in ops and ops["v_proj_sliding"].out_f == 8 * 256
    assert (ops["q_proj_full"].out_f, ops["k_proj_full"].out_f, ops["o_proj_full"].in_f) == (8192, 1024, 8192)
    assert ops["rotary_full"].width == (16 + 2) * 128 and ops["rotary_sliding"].width == (16 + 8) * 256
    assert ops["norm"].count == 7 * 30 and ops["router_scale"].params == 2816 + 128


@pytest.mark.parametrize("tokens", [1, 1000, 1024, 100_000])
def test_kv_cache_counts_each_shape(tokens):
    m = llmviewer.load_model(NAME)
    # sliding: 25 layers x min(T, 1024) x K,V x 8 heads x 256 x 2 bytes; full: 5 x T x K,V x 2 x 512 x 2 bytes
    expected = 25 * min(tokens, 1024) * 2 * 8 * 256 * 2 + 5 * tokens * 2 * 2 * 512 * 2
    assert kv_cache_bytes(m, 1, tokens, 16) == expected
    assert kv_cache_bytes(m, 3, tokens, 8) == 3 * expected / 2


def test_tensor_parallel_shards_the_full_layers_too():
    m = llmviewer.load_model(NAME)
    assert shard(m, 2).full_attention_kind == Attention(8, 1, 512, k_eq_v=True, rotary_dim=128)
    assert shard(m, 4).full_attention_kind.kv_heads == 1  # 2 KV heads replicated over 4 devices
    assert llmviewer.analyze(NAME, "H100", tensor_parallel=2).to_dict()["memory"]["kv_cache"] > 0


@pytest.mark.parametrize(
    "patch, words",
    [
        ({"hidden_size_per_layer_input": 256}, ["hidden_size_per_layer_input", "256"]),
        ({"num_kv_shared_layers": 10}, ["num_kv_shared_layers", "10"]),
        ({"num_global_key_value_heads": 3}, ["num_global_key_value_heads", "3"]),
        ({"layer_types": ["full_attention"] * 31}, ["layer_types", "31", "30"]),
        ({"top_k_experts": 129}, ["129", "1..128"]),
    ],
)
def test_inconsistent_gemma4_configs_are_clear_errors(patch, words):
    with pytest.raises(LLMViewerError) as e:
        llmviewer.load_model(with_text(**patch))
    for w in words:
        assert w in str(e.value)


def test_per_token_kv_keeps_each_layer_shape():
    from llmviewer.techniques.serving import kv_budget_model, kv_bytes_per_token

    # while the sliding window is not full: 25 sliding layers (8 x 256) and 5 full layers (2 x 512), K and V
    assert kv_bytes_per_token(NAME) == (25 * 8 * 256 + 5 * 2 * 512) * 2 * 2
    with pytest.raises(LLMViewerError, match="two attention shapes"):
        kv_budget_model(NAME, 512)


def test_vision_tower_by_hand():
    from llmviewer.engine.vision import vision_encoder_cost

    v = llmviewer.load_model(NAME).vision
    # at most 280 tokens of 3 x 3 patches: the largest square is 16 x 16 tokens, 48 x 48 patches of 16 px
    assert (v.style, v.image_size, v.patches, v.tokens_per_image) == ("gemma4", 768, 2304, 256)
    h, i, n, t, layers = 1152, 4304, 2304, 256, 27
    # per layer: q, k, v, o (16 heads x 72 = 1152), gated MLP, q/k norm scales (72 each), four RMSNorms
    layer = 4 * h * h + 3 * h * i + 2 * 72 + 4 * h
    embed = 3 * 16 * 16 * h + 2 * 10240 * h  # patch projection; x and y position tables
    cost = vision_encoder_cost(v)
    assert cost["parameters"] == layers * layer + embed + h * 2816  # + embedder into the 2816-wide text model
    ops = 2 * n * 768 * h + layers * (2 * n * (4 * h * h + 3 * h * i) + 4 * n * n * h) + 2 * t * h * 2816
    assert cost["matmul_OPs"] == ops and cost["tokens"] == 256


def test_vision_token_budget_and_bad_heads():
    cfg = json.loads(shipped_models()[NAME].read_text())
    v = llmviewer.load_model({**cfg, "vision_soft_tokens_per_image": 70}).vision
    assert (v.image_size, v.tokens_per_image) == (8 * 3 * 16, 64)  # isqrt(70) = 8 tokens a side
    bad = {**cfg, "vision_config": {**cfg["vision_config"], "num_key_value_heads": 5}}
    with pytest.raises(LLMViewerError, match="num_attention_heads .16. is not a multiple of num_key_value_heads .5."):
        llmviewer.load_model(bad)
