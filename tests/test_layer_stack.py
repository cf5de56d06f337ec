"""Typed layer kinds, named architectures (arch=) with their ignored fields, and inconsistent configs."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import llmviewer
from llmviewer.errors import LLMViewerError
from llmviewer.specs.models import (
    Attention,
    DenseMLP,
    GatedDeltaNet,
    Layer,
    Mamba2,
    ModelSpec,
    MoEMLP,
    layer,
    layer_mix,
    shipped_models,
)


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


# ------------------------------------------------ m.layers[i] against the config's own per-layer pattern


def kinds(m) -> list[tuple[str | None, str | None]]:
    """(mixer kind, MLP kind) of each layer, e.g. ("sliding_attention", "dense")."""
    return [(None if x.mixer is None else x.mixer.kind, None if x.mlp is None else x.mlp.kind) for x in m.layers]


def test_gemma3_27b_five_sliding_then_one_full_repeating():
    text = raw("gemma-3-27b-it")["text_config"]
    # neither layer_types nor sliding_window_pattern in the file: transformers' documented default 6 applies
    assert "layer_types" not in text and "sliding_window_pattern" not in text
    n, window = text["num_hidden_layers"], text["sliding_window"]
    m = llmviewer.load_model("gemma-3-27b-it")
    assert len(m.layers) == m.num_layers == n == 62
    expected = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(n)]
    assert [k for k, _ in kinds(m)] == expected
    assert m.layers[0].mixer.window == window and m.layers[5].mixer.window is None
    assert m.layers[0] is m.layers[1] and m.layers[5] is m.layers[11]  # equal layers are one shared object


def test_gpt_oss_layers_follow_layer_types_with_sinks():
    cfg = raw("gpt-oss-20b")
    m = llmviewer.load_model("gpt-oss-20b")
    assert [k for k, _ in kinds(m)] == cfg["layer_types"]
    assert all(x.mixer.sinks for x in m.layers)
    assert {x.mixer.window for x in m.layers} == {None, cfg["sliding_window"]}
    assert all(
        x.mlp == MoEMLP(cfg["num_local_experts"], cfg["num_experts_per_tok"], cfg["intermediate_size"])
        for x in m.layers
    )


def test_qwen3_next_three_deltanet_then_one_attention():
    cfg = raw("Qwen3-Next-80B-A3B-Thinking")
    interval = cfg["full_attention_interval"]
    m = llmviewer.load_model("Qwen3-Next-80B-A3B-Thinking")
    expected = [
        "full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(cfg["num_hidden_layers"])
    ]
    assert [k for k, _ in kinds(m)] == expected
    assert kinds(m)[:4] == [("linear_attention", "moe")] * 3 + [("full_attention", "moe")]
    assert m.layers[0].mixer == GatedDeltaNet(
        cfg["linear_num_key_heads"], cfg["linear_num_value_heads"], cfg["linear_key_head_dim"],
        cfg["linear_value_head_dim"], cfg["linear_conv_kernel_dim"],
    )  # fmt: skip


def test_nemotron_h_one_sublayer_per_character_of_its_pattern():
    cfg = raw("Nemotron-H-56B-Base-8K")
    pattern = cfg["hybrid_override_pattern"]
    m = llmviewer.load_model("Nemotron-H-56B-Base-8K")
    assert len(pattern) == len(m.layers) == cfg["num_hidden_layers"]
    meaning = {"M": ("mamba2", None), "*": ("full_attention", None), "-": (None, "dense"), "E": (None, "moe")}
    assert kinds(m) == [meaning[ch] for ch in pattern]
    assert isinstance(m.layers[pattern.index("M")].mixer, Mamba2)
    assert m.layers[pattern.index("-")].mlp == DenseMLP(cfg["intermediate_size"], gated=False)


def test_deepseek_v3_first_three_dense_then_moe():
    cfg = raw("DeepSeek-V3")
    first, freq = cfg["first_k_dense_replace"], cfg["moe_layer_freq"]
    m = llmviewer.load_model("DeepSeek-V3")
    expected = ["moe" if i >= first and i % freq == 0 else "dense" for i in range(cfg["num_hidden_layers"])]
    assert [k for _, k in kinds(m)] == expected and expected[:4] == ["dense"] * 3 + ["moe"]
    assert {k for k, _ in kinds(m)} == {"mla"}
    assert m.layers[0].mlp == DenseMLP(cfg["intermediate_size"])
    assert m.layers[3].mlp.shared_intermediate_size == cfg["n_shared_experts"] * cfg["moe_intermediate_size"]


def test_llama4_maverick_interleaved_moe_and_nope_every_fourth_layer():
    text = raw("Llama-4-Maverick-17B-128E-Instruct")["text_config"]
    step, n = text["interleave_moe_layer_step"], text["num_hidden_layers"]
    assert "no_rope_layers" not in text or not text["no_rope_layers"]  # transformers' default: NoPE every 4th layer
    m = llmviewer.load_model("Llama-4-Maverick-17B-128E-Instruct")
    assert [k for _, k in kinds(m)] == ["moe" if (i + 1) % step == 0 else "dense" for i in range(n)]
    nope = [(i + 1) % 4 == 0 for i in range(n)]
    assert [x.mixer.nope for x in m.layers] == nope
    assert [x.mixer.chunk for x in m.layers] == [None if p else text["attention_chunk_size"] for p in nope]
    assert (
        m.layers[1].mlp.experts == text["num_local_experts"]
        and m.layers[0].mlp.intermediate_size == text["intermediate_size_mlp"]
    )


def test_counts_are_derived_from_the_stack():
    m = llmviewer.load_model("gemma-3-27b-it")
    assert m.sliding_layers == sum(1 for x in m.layers if x.mixer.window is not None) == 52
    nemo = llmviewer.load_model("Nemotron-H-56B-Base-8K")
    assert (nemo.attention_layer_count, nemo.linear_layers, nemo.mlp_layer_count) == (10, 54, 54)
    assert layer_mix(m) is layer_mix(m)  # grouped once per spec


def test_a_spec_built_by_hand_is_a_uniform_stack():
    m = ModelSpec("tiny", "llama", hidden_size=64, num_layers=3, num_heads=4, num_kv_heads=2, head_dim=16,
                  intermediate_size=128, vocab_size=100)  # fmt: skip
    assert m.layers == (Layer(Attention(4, 2, 16), DenseMLP(128)),) * 3
    assert llmviewer.analyze(m, "H100", seqlen=16).decode.time > 0
    mixed = replace(m, layers=(layer(Attention(4, 2, 16, window=8), DenseMLP(128)),) + m.layers[1:])
    assert (mixed.sliding_layers, mixed.sliding_window) == (1, 8)
    assert mixed.without_windows().layers == m.layers
    with pytest.raises(LLMViewerError, match="2 layers given for num_layers 3"):
        replace(m, layers=m.layers[:2])


def test_a_pattern_of_unknown_kinds_is_a_clear_error():
    with pytest.raises(LLMViewerError, match="layer_types"):
        llmviewer.load_model({**raw("gpt-oss-20b"), "layer_types": ["sliding_attention"] * 25})
    with pytest.raises(LLMViewerError, match="hybrid_override_pattern"):
        llmviewer.load_model({**raw("Nemotron-H-56B-Base-8K"), "hybrid_override_pattern": "M*"})


def test_a_spec_survives_pickling_with_its_stack():
    import pickle

    m = llmviewer.load_model("Qwen3-Next-80B-A3B-Thinking")
    back = pickle.loads(pickle.dumps(m))
    assert back == m and hash(back) == hash(m) and layer_mix(back) == layer_mix(m)


def test_pruned_layers_keep_the_pattern_from_the_start():
    """Pruning half the layers keeps the first half of the stack: Mistral's 16 layers all slide (the
    former per-kind counts kept 32 sliding layers of 16, and a KV cache of 0 bytes)."""
    from llmviewer.engine.analysis import kv_cache_bytes
    from llmviewer.techniques.compression import prune_structured

    cfg = raw("Mistral-7B-v0.1")
    p = prune_structured("Mistral-7B-v0.1", layers=0.5)
    assert (p.num_layers, p.sliding_layers) == (16, 16)
    per_token = cfg["num_key_value_heads"] * 2 * (cfg["hidden_size"] // cfg["num_attention_heads"]) * 2  # bytes
    assert kv_cache_bytes(p, 1, 8192, 16) == 16 * cfg["sliding_window"] * per_token
    g = prune_structured("gemma-3-1b-it", layers=0.5)  # 13 layers: 5 sliding, 1 full, 5 sliding, 1 full, 1 sliding
    assert (g.sliding_layers, g.num_layers - g.sliding_layers) == (11, 2)
