"""Hybrid layer stacks: gated DeltaNet (Qwen3-Next, Qwen3.5) and Mamba2 (Nemotron-H) token mixers.

Expected values are derived here from the published configs by hand (see each comment); the exact
agreement with what transformers builds is in tests/test_against_torch.py."""

from __future__ import annotations

import json

import pytest

import llmviewer
from llmviewer.engine.analysis import kv_cache_bytes
from llmviewer.engine.generation import decode_steps_time
from llmviewer.engine.graph import build_ops, shard
from llmviewer.errors import LLMViewerError
from llmviewer.specs.models import Attention, DenseMLP, GatedDeltaNet, Mamba2, MoEMLP, layer_mix, shipped_models
from llmviewer.specs.workload import Pass, make_pass


def raw(name: str) -> dict:
    return json.loads(shipped_models()[name].read_text())


def test_qwen3_next_pattern_comes_from_full_attention_interval():
    m = llmviewer.load_model("Qwen3-Next-80B-A3B-Thinking")
    mix = layer_mix(m)
    # 48 layers, full_attention_interval 4: layers 3, 7, ..., 47 full (12), the rest gated DeltaNet (36)
    assert mix.mixers == ((Attention(16, 2, 256), 12), (GatedDeltaNet(16, 32, 128, 128, 4), 36))
    assert mix.mlps == ((MoEMLP(512, 10, 512, 512), 48),)
    assert m.attn_output_gate and m.rotary_dim == 64  # partial_rotary_factor 0.25 of head_dim 256
    # an explicit layer_types wins over the interval
    types = ["full_attention" if i % 2 else "linear_attention" for i in range(48)]
    alt = llmviewer.load_model({**raw("Qwen3-Next-80B-A3B-Thinking"), "layer_types": types})
    assert (alt.attention_layer_count, alt.linear_layers) == (24, 24)


def test_qwen3_5_text_models_read_layer_types():
    dense = layer_mix(llmviewer.load_model("Qwen3.5-27B"))
    assert dense.mixers == ((Attention(24, 4, 256), 16), (GatedDeltaNet(16, 48, 128, 128, 4), 48))
    assert dense.mlps == ((DenseMLP(17408), 64),)
    moe = layer_mix(llmviewer.load_model("Qwen3.5-35B-A3B"))
    assert moe.mixers == ((Attention(16, 2, 256), 10), (GatedDeltaNet(16, 32, 128, 128, 4), 30))
    assert moe.mlps == ((MoEMLP(256, 8, 512, 512), 40),)


def test_nemotron_h_blocks_come_from_the_hybrid_pattern():
    big = llmviewer.load_model("Nemotron-H-56B-Base-8K")
    # 118 blocks: 54 'M', 54 '-', 10 '*'; each block one norm and one residual
    assert layer_mix(big).mixers == ((Attention(64, 8, 128), 10), (Mamba2(256, 64, 256, 8, 4), 54))
    assert layer_mix(big).mlps == ((DenseMLP(32768, gated=False), 54),)
    ops = {op.name: op for op in build_ops(big)}
    assert ops["norm"].count == 118 and ops["residual_add"].count == 118
    nano = layer_mix(llmviewer.load_model("NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"))
    assert nano.mixers == ((Attention(32, 2, 128), 6), (Mamba2(64, 64, 128, 8, 4), 23))
    assert nano.mlps == ((MoEMLP(128, 6, 1856, 3712, gated=False), 23),)


@pytest.mark.parametrize(
    "name, per_layer, layers",
    [
        # conv window: (2*16*128 + 32*128) channels x 4 taps at 2 bytes; state: 32 x 128 x 128 at 4 bytes
        ("Qwen3-Next-80B-A3B-Thinking", 8192 * 4 * 2 + 32 * 128 * 128 * 4, 36),
        ("Qwen3.5-27B", (4096 + 6144) * 4 * 2 + 48 * 128 * 128 * 4, 48),
        # conv: (256*64 + 2*8*256) channels x 4 taps at 2 bytes; SSM state: 256 x 64 x 256 at 4 bytes
        ("Nemotron-H-56B-Base-8K", (16384 + 4096) * 4 * 2 + 256 * 64 * 256 * 4, 54),
        ("NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", (4096 + 2048) * 4 * 2 + 64 * 64 * 128 * 4, 23),
    ],
)
def test_state_bytes_are_constant_in_context(name, per_layer, layers):
    m = llmviewer.load_model(name)
    assert m.state_bytes_per_sequence == per_layer * layers
    kv_per_token = m.attention_layer_count * m.kv_cache_elements_per_token * 2
    for tokens in (1, 4096, 10**6):
        assert kv_cache_bytes(m, 3, tokens, 16) == 3 * (tokens * kv_per_token + per_layer * layers)
    footprint = llmviewer.memory_footprint(name, batch_size=3, seqlen=4096)
    assert footprint["kv_cache"] == 3 * (4096 * kv_per_token + per_layer * layers)


@pytest.mark.parametrize("name", ["Qwen3-Next-80B-A3B-Thinking", "Nemotron-H-56B-Base-8K"])
def test_state_update_reads_state_only_when_something_is_cached(name):
    m = llmviewer.load_model(name)
    scan = next(op for op in build_ops(m) if op.kind == "fused" and op.role == "block")
    prefill, decode = make_pass(2, 512, 0, 1), make_pass(2, 1, 512, 1)
    state = 2 * scan.state * scan.state_bits / 8
    assert scan.traffic(prefill).load_kv_cache == 0 and scan.traffic(prefill).store_kv_cache == state
    assert scan.traffic(decode).load_kv_cache == state == scan.traffic(decode).store_kv_cache
    # a decode step of the linear layers costs the same at any context length
    far = make_pass(2, 1, 100_000, 1)
    for op in build_ops(m):
        if op.name.startswith(("linear_", "mamba_", "gated_delta", "ssm_")):
            assert op.traffic(decode) == op.traffic(far)


@pytest.mark.parametrize("flash", [False, True])
def test_generate_decode_sum_is_the_sum_of_its_steps(flash):
    """The closed-form decode sum of generate() equals the step-by-step sum for a hybrid stack."""
    m = llmviewer.load_model("Qwen3.5-35B-A3B")
    hw = llmviewer.load_hardware("H100")
    first = make_pass(4, 1, 300, 1, flash_attention=flash)
    total = decode_steps_time(m, hw, first, 6)
    steps = sum(
        decode_steps_time(m, hw, Pass(**{**first.__dict__, "past_tokens": first.past_tokens + j}), 1) for j in range(6)
    )
    assert total == pytest.approx(steps, rel=1e-12)


def test_tensor_parallel_splits_linear_heads_and_state():
    m = llmviewer.load_model("Qwen3-Next-80B-A3B-Thinking")
    half = shard(m, 2)
    assert half.linear_mixer == GatedDeltaNet(8, 16, 128, 128, 4)
    assert kv_cache_bytes(m, 1, 1000, 16, tensor_parallel=2) == kv_cache_bytes(m, 1, 1000, 16) / 2
    nemo = llmviewer.load_model("Nemotron-H-56B-Base-8K")
    assert shard(nemo, 8).linear_mixer == Mamba2(32, 64, 256, 1, 4)
    with pytest.raises(LLMViewerError, match="n_groups"):
        shard(nemo, 16)  # 8 groups cannot be split 16 ways
    ar = [op for op in build_ops(nemo, tensor_parallel=2) if op.kind == "communication"]
    assert sum(op.count for op in ar) == 118  # one all-reduce per single-sublayer block


def test_flash_attention_changes_only_the_attention_layers_of_a_hybrid():
    for name, core in (("Qwen3-Next-80B-A3B-Thinking", "gated_delta_rule"), ("Nemotron-H-56B-Base-8K", "ssm_scan")):
        on, off = (llmviewer.analyze(name, "H100", seqlen=2048, use_flashattention=f) for f in (True, False))
        for stage in ("prefill", "decode"):
            assert getattr(on, stage).layer(core) == getattr(off, stage).layer(core)
            assert getattr(on, stage).layer(
                "mamba_in_proj" if core == "ssm_scan" else "linear_in_proj_qkvz"
            ) == getattr(off, stage).layer("mamba_in_proj" if core == "ssm_scan" else "linear_in_proj_qkvz")
        assert "fused_attention" in {op.name for op in build_ops(llmviewer.load_model(name), True)}
        assert on.memory["kv_cache"] == off.memory["kv_cache"] > 0


@pytest.mark.parametrize(
    "name, patch, words",
    [
        ("Nemotron-H-56B-Base-8K", {"hybrid_override_pattern": "M-*"}, ["hybrid_override_pattern", "3", "118"]),
        ("Nemotron-H-56B-Base-8K", {"num_hidden_layers": 3, "hybrid_override_pattern": "M-X"}, ["'X'", "M, *, -, E"]),
        ("Qwen3.5-27B", {"layer_types": ["full_attention"] * 65}, ["layer_types", "65", "64"]),
        ("Qwen3-Next-80B-A3B-Thinking", {"full_attention_interval": 49}, ["full_attention_interval", "49", "1..48"]),
        ("Qwen3-Next-80B-A3B-Thinking", {"layer_types": ["sliding_attention"] * 48}, ["sliding_attention"]),
        ("Qwen3-Next-80B-A3B-Thinking", {"num_experts_per_tok": 513}, ["513", "1..512"]),
        ("Qwen3-Next-80B-A3B-Thinking", {"linear_num_value_heads": 24}, ["linear_num_value_heads", "24"]),
        ("NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", {"ssm_state_size": 0}, ["ssm_state_size", "0"]),
    ],
)
def test_inconsistent_hybrid_configs_are_clear_errors(name, patch, words):
    cfg = raw(name)
    if "text_config" in cfg:
        cfg = {**cfg, "text_config": {**cfg["text_config"], **patch}}
    else:
        cfg = {**cfg, **patch}
    with pytest.raises(LLMViewerError) as e:
        llmviewer.load_model(cfg)
    for w in words:
        assert w in str(e.value)
