"""Typed layer kinds, named architectures (arch=) with their ignored fields, and inconsistent configs."""

from __future__ import annotations

import json

import pytest

import llmviewer
from llmviewer.errors import LLMViewerError
from llmviewer.specs.models import Attention, DenseMLP, MoEMLP, layer_mix, shipped_models


def raw(name: str) -> dict:
    return json.loads(shipped_models()[name].read_text())


def test_gemma3_is_five_in_six_sliding_from_the_pattern():
    mix = layer_mix(llmviewer.load_model("gemma-3-1b-it"))
    assert mix.mixers == ((Attention(4, 1, 256, None), 4), (Attention(4, 1, 256, 512), 22))
    assert mix.mlps == ((DenseMLP(6912), 26),)


def test_gpt_oss_alternates_sliding_with_sinks_and_every_layer_moe():
    mix = layer_mix(llmviewer.load_model("gpt-oss-20b"))
    kinds = [(k.kind, k.sinks, n) for k, n in mix.mixers]
    assert kinds == [("full_attention", True, 12), ("sliding_attention", True, 12)]
    assert mix.mlps == ((MoEMLP(32, 4, 2880), 24),)


def test_a_trillion_layers_is_one_clear_error_not_a_loop():
    """The stack holds one entry per layer: a config beyond MAX_LAYERS is refused before any loop."""
    cfg = {**raw("Qwen3-30B-A3B"), "num_hidden_layers": 10**12, "decoder_sparse_step": 2, "mlp_only_layers": [1, 3]}
    with pytest.raises(LLMViewerError, match=r"'num_hidden_layers' is 1000000000000; valid: 1\.\.100000"):
        llmviewer.load_model(cfg)


def test_sparse_step_and_first_dense_on_many_layers():
    m = llmviewer.load_model(
        {**raw("Qwen3-30B-A3B"), "num_hidden_layers": 10**4, "decoder_sparse_step": 2, "mlp_only_layers": [1, 3]}
    )
    assert m.num_moe_layers == 10**4 // 2 - 2  # layers 1, 3, 5, ... except 1 and 3
    assert [x.mlp.kind for x in m.layers[:6]] == ["dense"] * 5 + ["moe"]
    ds = llmviewer.load_model({**raw("DeepSeek-V3"), "num_hidden_layers": 10**4, "moe_layer_freq": 3})
    assert ds.num_moe_layers == (10**4 - 1) // 3  # layers 3, 6, ... (first_k_dense_replace 3)
    assert len({id(x) for x in ds.layers}) == 2  # 10^4 layers, two shared layer objects


def test_kimi_k2_is_the_deepseek_v3_layout():
    kimi = llmviewer.load_model("Kimi-K2-Instruct")
    assert kimi.uses_mla and kimi.num_experts == 384 and kimi.num_moe_layers == 60


def test_named_arch_lists_every_field_it_did_not_read(capsys):
    m = llmviewer.load_model(raw("gemma-3-1b-it"), arch="llama")
    assert m.model_type == "llama"
    assert "sliding_window_pattern" in m.ignored_fields and "hidden_size" not in m.ignored_fields
    assert llmviewer.load_model("gemma-3-1b-it").ignored_fields is None
    out = llmviewer.analyze(shipped_models()["Llama-3.1-8B"], "H100", arch="llama").to_dict()
    assert "rope_theta" in out["ignored_fields"]
    from llmviewer.cli import run

    assert run(["analyze", str(shipped_models()["Llama-3.1-8B"]), "H100", "--arch", "llama"]) == 0
    assert "config fields not interpreted: " in capsys.readouterr().out


@pytest.mark.parametrize(
    "name, patch, words",
    [
        ("Qwen3-30B-A3B", {"num_experts_per_tok": 129}, ["num_experts_per_tok", "129", "1..128"]),
        ("gemma-3-1b-it", {"sliding_window": -1}, ["sliding_window", "-1"]),
        ("gemma-3-1b-it", {"layer_types": ["full_attention"] * 27}, ["layer_types", "27", "26"]),
        ("Qwen3-30B-A3B", {"mlp_only_layers": [48]}, ["mlp_only_layers", "48", "0..47"]),
        ("DeepSeek-V3", {"first_k_dense_replace": 62}, ["first_k_dense_replace", "62", "0..61"]),
        ("Llama-3.1-8B", {"model_type": "no_such"}, ["no_such", "llama", "olmo2", "--arch"]),
    ],
)
def test_inconsistent_configs_are_clear_errors(name, patch, words):
    with pytest.raises(LLMViewerError) as e:
        llmviewer.load_model({**raw(name), **patch})
    for w in words:
        assert w in str(e.value)


def test_unknown_arch_lists_the_supported():
    with pytest.raises(LLMViewerError, match="unknown arch 'lama'.*llama"):
        llmviewer.load_model(raw("Llama-3.1-8B"), arch="lama")


def test_mistral3_vision_tower_is_a_pixtral_encoder():
    v = llmviewer.load_model("Mistral-Small-3.1-24B-Instruct-2503").vision
    # 1540-pixel images, 14-pixel patches, 2x2 merge: 55 x 55 merged patches plus one break/end token per row
    assert (v.style, v.layers, v.hidden_size, v.patches, v.tokens_per_image) == ("pixtral", 24, 1024, 110**2, 3080)
    out = llmviewer.analyze("Mistral-Small-3.1-24B-Instruct-2503", "H100").to_dict()["vision_encoder_per_image"]
    assert out["tokens"] == 3080 and out["parameters"] > 0
    bad = {**raw("Mistral-Small-3.1-24B-Instruct-2503")}
    bad["vision_config"] = {**bad["vision_config"], "image_size": 1541}
    with pytest.raises(LLMViewerError, match="image_size .1541. is not a multiple"):
        llmviewer.load_model(bad)


def test_qwen3_vl_vision_tower_at_its_position_grid():
    v = llmviewer.load_model("Qwen3-VL-8B-Instruct").vision
    # 2304 learned positions: a 48 x 48 patch grid (768 pixels at 16 per patch), 2 x 2 merge -> 576 tokens
    assert (v.style, v.layers, v.patches, v.tokens_per_image, v.deepstack) == ("qwen3_vl", 27, 2304, 576, 3)
    assert llmviewer.analyze("Qwen3-VL-8B-Instruct", "H100").to_dict()["vision_encoder_per_image"]["tokens"] == 576
