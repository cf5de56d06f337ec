"""A model as a list of operators: the layer stack of a :class:`~llmviewer.specs.models.ModelSpec`
(token mixer and MLP per layer, embeddings, head) turned into the operators of
:mod:`llmviewer.engine.operators`, each with its instance count, and its tensor-parallel slice."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from ..errors import LLMViewerError
from ..specs.models import Attention, DenseMLP, GatedDeltaNet, LatentAttention, Mamba2, ModelSpec, MoEMLP, layer_mix
from .operators import (
    INF,
    SOFTCAP_OPS,
    AllReduce,
    AttentionMatmul,
    AttentionOperands,
    Elementwise,
    Embedding,
    ExpertLinear,
    FusedAttention,
    Linear,
    Op,
    Softmax,
    StateUpdate,
)

ACTIVATION_OPS = {
    "relu": 1,
    "relu2": 2,
    "silu": 4,
    "swish": 4,
    "gelu": 8,
    "gelu_new": 8,
    "gelu_pytorch_tanh": 8,
    "gelu_fast": 8,
}
"""OPs per element of each activation function."""
NORM_OPS = {"rms": 4, "layer": 7}
"""OPs per element of the normalised vector: RMSNorm and LayerNorm."""


def _norm(name: str, count: int, width: int, kind: str) -> Elementwise:
    return Elementwise(
        name,
        "elementwise",
        count,
        width=width,
        ops_per_element=NORM_OPS[kind],
        weights=width * (2 if kind == "layer" else 1),
    )


def _activation_ops(m: ModelSpec) -> int:
    try:
        return ACTIVATION_OPS[m.activation]
    except KeyError:
        return ACTIVATION_OPS["gelu"] if "gelu" in m.activation else ACTIVATION_OPS["silu"]


def _mlp(m: ModelSpec, prefix: str, count: int, inter: int, experts: int = 0, top_k: int = 0) -> list[Op]:
    """Gated (gate, up, act*up, down) or plain (up, act, down) MLP; routed experts if ``experts``."""
    h = m.hidden_size
    if experts:

        def lin(name: str, i: int, o: int) -> Op:
            return ExpertLinear(
                prefix + name, "matmul", count, in_f=i, out_f=o, bias=m.mlp_bias, num_experts=experts, top_k=top_k
            )

        act_width = inter * top_k
    else:

        def lin(name: str, i: int, o: int) -> Op:
            return Linear(prefix + name, "matmul", count, in_f=i, out_f=o, bias=m.mlp_bias)

        act_width = inter
    ops: list[Op] = []
    if m.mlp_gated:
        ops.append(lin("gate_proj", h, inter))
    ops.append(lin("up_proj", h, inter))
    ops.append(
        Elementwise(
            prefix + "act",
            "elementwise",
            count,
            width=act_width,
            ops_per_element=_activation_ops(m) + (1 if m.mlp_gated else 0),
            inputs=2 if m.mlp_gated else 1,
        )
    )
    ops.append(lin("down_proj", inter, h))
    return ops


def _moe_block(m: ModelSpec, moe: MoEMLP, count: int) -> list[Op]:
    h = m.hidden_size
    ops: list[Op] = []
    if m.router_scales:  # Gemma-4: a weightless RMSNorm (4 OPs/element) and a learned scale (1) before the router
        ops.append(
            Elementwise("router_scale", "elementwise", count, width=h, ops_per_element=5, weights=h + moe.experts)
        )
    ops.append(Linear("router", "matmul", count, in_f=h, out_f=moe.experts, bias=m.router_bias))
    ops += _mlp(m, "expert_", count, moe.intermediate_size, moe.experts, moe.top_k)
    if moe.shared_intermediate_size:
        ops += _mlp(m, "shared_", count, moe.shared_intermediate_size)
        if m.shared_expert_gate:
            ops.append(Linear("shared_expert_gate", "matmul", count, in_f=h, out_f=1))
    combine_inputs = moe.top_k + (1 if moe.shared_intermediate_size else 0)
    ops.append(
        Elementwise(
            "expert_combine", "elementwise", count, width=h, ops_per_element=2 * combine_inputs, inputs=combine_inputs
        )
    )
    return ops


def _attention_core(
    name_suffix: str,
    count: int,
    shape: AttentionOperands,
    window: float,
    flash: bool,
    chunk: float = INF,
    softcap: bool = False,
) -> list[Op]:
    if flash:
        return [
            FusedAttention(
                "fused_attention" + name_suffix,
                "fused",
                count,
                shape=shape,
                window=window,
                chunk=chunk,
                role="attention",
                softcap=softcap,
            )
        ]
    return [
        AttentionMatmul(
            "qk_matmul" + name_suffix,
            "matmul",
            count,
            shape=shape,
            values=False,
            window=window,
            chunk=chunk,
            role="attention",
        ),
        Softmax(
            "softmax" + name_suffix,
            "elementwise",
            count,
            heads=shape.heads,
            window=window,
            chunk=chunk,
            role="attention",
            softcap=softcap,
        ),
        AttentionMatmul(
            "sv_matmul" + name_suffix,
            "matmul",
            count,
            shape=shape,
            values=True,
            window=window,
            chunk=chunk,
            role="attention",
        ),
    ]


def _layer_groups(m: ModelSpec) -> list[tuple[str, int, Attention]]:
    """(name suffix, layer count, kind) of each distinct attention kind in the stack (full first)."""
    mixers = [(k, n) for k, n in layer_mix(m).mixers if isinstance(k, Attention)]
    several = len(mixers) > 1

    def suffix(k: Attention) -> str:
        if not several or (k.window is None and k.chunk is None):
            return ""
        return "_chunked" if k.chunk is not None else "_sliding"

    return [(suffix(k), n, k) for k, n in mixers]


def _gqa_attention(m: ModelSpec, flash: bool) -> list[Op]:
    groups = _layer_groups(m)
    L, h = sum(n for _, n, _ in groups), m.hidden_size
    gate = 2 if m.attn_output_gate else 1  # gated output: q_proj also yields the gate's logits
    ops: list[Op] = []
    o_proj: list[Op] = []
    several_shapes = m.full_attention_kind is not None
    for suffix, count, kind in groups:
        window = INF if kind.window is None else float(kind.window)
        chunk = INF if kind.chunk is None else float(kind.chunk)
        nh, nkv, d = kind.heads, kind.kv_heads, kind.head_dim  # per kind (Gemma-4's full layers differ)
        rotary_dim = m.rotary_dim if kind.rotary_dim is None else kind.rotary_dim
        if several_shapes and not suffix:
            suffix = "_full"
        ops += [
            Linear("q_proj" + suffix, "matmul", count, in_f=h, out_f=gate * nh * d, bias=m.qkv_bias),
            Linear("k_proj" + suffix, "matmul", count, in_f=h, out_f=nkv * d, bias=m.qkv_bias, to_kv_cache=True),
        ]
        if not kind.k_eq_v:  # V = K (Gemma-4 global layers): no v_proj; V's cache write is not counted apart
            ops.append(
                Linear("v_proj" + suffix, "matmul", count, in_f=h, out_f=nkv * d, bias=m.qkv_bias, to_kv_cache=True)
            )
        if m.v_norm:  # weightless RMSNorm of v (Gemma-4)
            ops.append(Elementwise("v_norm" + suffix, "elementwise", count, width=nkv * d, ops_per_element=4))
        if m.qk_l2_norm and not kind.nope:  # weightless L2 norm of q and k (Llama-4, rotary layers only)
            ops.append(Elementwise("qk_norm" + suffix, "elementwise", count, width=(nh + nkv) * d, ops_per_element=4))
        if m.qk_norm:
            ops.append(
                Elementwise(
                    "qk_norm" + suffix,
                    "elementwise",
                    count,
                    width=(nh + nkv) * d,
                    ops_per_element=4,
                    weights=2 * d if m.qk_norm_per_head else (nh + nkv) * d,
                )
            )
        if rotary_dim and not kind.nope:
            ops.append(
                Elementwise("rotary" + suffix, "elementwise", count, width=(nh + nkv) * rotary_dim, ops_per_element=3)
            )
        if kind.nope:
            # attention-temperature tuning on NoPE layers: q scaled by a per-position factor (1 OP per element)
            ops.append(Elementwise("attn_temperature" + suffix, "elementwise", count, width=nh * d, ops_per_element=1))
        if kind.sinks:
            # one learned logit per head joins every softmax: weights nh, ~2 OPs (exp, add) per head and query
            ops.append(
                Elementwise("attention_sinks" + suffix, "elementwise", count, width=nh, ops_per_element=2, weights=nh)
            )
        softcap = m.attn_logit_softcap is not None
        ops += _attention_core(suffix, count, AttentionOperands(nh, nkv, d, d), window, flash, chunk, softcap)
        if several_shapes:
            o_proj.append(Linear("o_proj" + suffix, "matmul", count, in_f=nh * d, out_f=h, bias=m.o_bias))
    nh, d = m.num_heads, m.head_dim
    if m.attn_output_gate:  # output * sigmoid(gate): sigmoid ~4 OPs, multiply 1
        ops.append(Elementwise("attn_output_gate", "elementwise", L, width=nh * d, ops_per_element=5, inputs=2))
    ops += o_proj or [Linear("o_proj", "matmul", L, in_f=nh * d, out_f=h, bias=m.o_bias)]
    return ops


GATED_NORM_OPS = 9
"""OPs per element of a gated RMSNorm, ``rmsnorm(x) * silu(z)``: norm 4, silu 4, multiply 1."""
DELTA_RULE_OPS = 7
"""OPs per state element and token of the gated delta rule (recurrent form), per value head:
decay the state (1), ``S^T k`` (2), ``S += k (beta (v - S^T k))^T`` (2), output ``S^T q`` (2)."""
SSM_SCAN_OPS = 5
"""OPs per state element and token of the Mamba2 selective scan, per head: decay the state (1),
add ``dt x B^T`` (2), output ``S C`` (2)."""


def _conv(prefix: str, count: int, channels: int, kernel: int, bias: bool) -> StateUpdate:
    """Depthwise causal conv of ``kernel`` taps over ``channels`` (its window is per-sequence state)."""
    return StateUpdate(
        prefix + "conv1d",
        "elementwise",
        count,
        ops_per_token=2 * channels * kernel + (channels if bias else 0),
        inputs=channels,
        outputs=channels,
        weights=channels * kernel + (channels if bias else 0),
        state=channels * kernel,
    )


def _linear_mixer(m: ModelSpec, mx: GatedDeltaNet | Mamba2, n: int) -> list[Op]:
    """Operators of the ``n`` linear-attention (gated DeltaNet) or Mamba2 layers ``mx`` of a hybrid stack."""
    h = m.hidden_size
    if isinstance(mx, GatedDeltaNet):
        hv, dk, dv = mx.value_heads, mx.key_head_dim, mx.value_head_dim
        return [
            Linear("linear_in_proj_qkvz", "matmul", n, in_f=h, out_f=2 * mx.key_dim + 2 * mx.value_dim),
            Linear("linear_in_proj_ba", "matmul", n, in_f=h, out_f=2 * hv),
            _conv("linear_", n, mx.conv_dim, mx.conv_kernel, False),
            StateUpdate(
                "gated_delta_rule",
                "fused",
                n,
                ops_per_token=DELTA_RULE_OPS * hv * dk * dv,
                inputs=mx.conv_dim + 2 * hv,
                outputs=mx.value_dim,
                weights=2 * hv,  # A_log, dt_bias
                state=mx.state_elements,
                state_bits=mx.state_bits,
            ),
            Elementwise(
                "linear_gated_norm",
                "elementwise",
                n,
                width=mx.value_dim,
                ops_per_element=GATED_NORM_OPS,
                inputs=2,
                weights=dv,
            ),
            Linear("linear_out_proj", "matmul", n, in_f=mx.value_dim, out_f=h),
        ]
    if isinstance(mx, Mamba2):
        return [
            Linear("mamba_in_proj", "matmul", n, in_f=h, out_f=mx.in_proj_size, bias=mx.proj_bias),
            _conv("mamba_", n, mx.conv_dim, mx.conv_kernel, mx.conv_bias),
            StateUpdate(
                "ssm_scan",
                "fused",
                n,
                ops_per_token=SSM_SCAN_OPS * mx.state_elements + 2 * mx.inner,  # + D x skip
                inputs=mx.conv_dim + mx.heads,
                outputs=mx.inner,
                weights=3 * mx.heads,  # A_log, D, dt_bias
                state=mx.state_elements,
                state_bits=mx.state_bits,
            ),
            Elementwise(
                "mamba_gated_norm",
                "elementwise",
                n,
                width=mx.inner,
                ops_per_element=GATED_NORM_OPS,
                inputs=2,
                weights=mx.inner,
            ),
            Linear("mamba_out_proj", "matmul", n, in_f=mx.inner, out_f=h, bias=mx.proj_bias),
        ]
    raise LLMViewerError(f"{m.name}: unknown linear mixer {type(mx).__name__}")


def _latent_attention(m: ModelSpec, kind: LatentAttention, L: int, flash: bool, absorb: bool) -> list[Op]:
    """DeepSeek multi-head latent attention on ``L`` layers."""
    h, nh = m.hidden_size, kind.heads
    nope, rope, vd, r = kind.qk_nope_head_dim, kind.qk_rope_head_dim, kind.v_head_dim, kind.kv_lora_rank
    ops: list[Op] = []
    if kind.q_lora_rank:
        ops += [
            Linear("q_a_proj", "matmul", L, in_f=h, out_f=kind.q_lora_rank),
            _norm("q_a_norm", L, kind.q_lora_rank, "rms"),
            Linear("q_b_proj", "matmul", L, in_f=kind.q_lora_rank, out_f=nh * (nope + rope)),
        ]
    else:
        ops.append(Linear("q_proj", "matmul", L, in_f=h, out_f=nh * (nope + rope)))
    ops += [
        Linear("kv_a_proj", "matmul", L, in_f=h, out_f=r + rope, to_kv_cache=True),
        _norm("kv_a_norm", L, r, "rms"),
        Elementwise("rotary", "elementwise", L, width=(nh + 1) * rope, ops_per_element=3),
    ]
    if absorb:
        # per head: q_nope (nope) -> latent (r); attention on the latent; latent -> v (vd)
        ops.append(Linear("q_absorb", "matmul", L, in_f=nope, out_f=r, groups=nh, holds_params=False))
        ops += _attention_core("", L, AttentionOperands(nh, 1, r + rope, r, values_in_keys=True), INF, flash)
        ops.append(Linear("v_absorb", "matmul", L, in_f=r, out_f=vd, groups=nh, holds_params=False))
    else:
        ops.append(Linear("kv_b_proj", "matmul", L, in_f=r, out_f=nh * (nope + vd), tokens="keys", from_kv_cache=True))
        ops += _attention_core("", L, AttentionOperands(nh, nh, nope + rope, vd, kv_in_cache=False), INF, flash)
    ops.append(Linear("o_proj", "matmul", L, in_f=nh * vd, out_f=h, bias=m.o_bias))
    return ops


def _shard_kind(kind: object, devices: int) -> object:
    """One device's slice of a layer kind: heads (KV heads replicated when fewer than devices), state
    heads and groups, MLP and expert columns split ``devices`` ways."""
    if isinstance(kind, Attention):
        return replace(kind, heads=kind.heads // devices, kv_heads=max(kind.kv_heads // devices, 1))
    if isinstance(kind, LatentAttention):
        return replace(kind, heads=kind.heads // devices)
    if isinstance(kind, GatedDeltaNet):  # heads split; each device keeps its heads' state
        return replace(kind, key_heads=kind.key_heads // devices, value_heads=kind.value_heads // devices)
    if isinstance(kind, Mamba2):
        return replace(kind, heads=kind.heads // devices, groups=kind.groups // devices)
    if isinstance(kind, DenseMLP):
        return replace(kind, intermediate_size=kind.intermediate_size // devices)
    if isinstance(kind, MoEMLP):
        beside = None if kind.beside is None else _shard_kind(kind.beside, devices)
        return replace(
            kind,
            intermediate_size=kind.intermediate_size // devices,
            shared_intermediate_size=kind.shared_intermediate_size // devices,
            beside=beside,
        )
    raise LLMViewerError(f"unknown layer kind {type(kind).__name__}")


@lru_cache(maxsize=256)
def shard(m: ModelSpec, devices: int) -> ModelSpec:
    """The slice of ``m`` one of ``devices`` tensor-parallel devices holds (Megatron-style):
    attention heads, MLP and expert columns and the vocabulary split ``devices`` ways; KV heads
    split too, or replicated when there are fewer than devices; norms replicated."""
    if devices == 1:
        return m
    splits = {"num_attention_heads": m.num_heads, "intermediate_size": m.intermediate_size, "vocab_size": m.vocab_size}
    if m.num_kv_heads >= devices:
        splits["num_key_value_heads"] = m.num_kv_heads
    if m.is_moe:
        splits["moe_intermediate_size"] = m.moe_intermediate_size
        if m.shared_expert_intermediate_size:
            splits["shared_expert_intermediate_size"] = m.shared_expert_intermediate_size
    mx = m.linear_mixer
    if isinstance(mx, GatedDeltaNet):
        splits |= {"linear_num_key_heads": mx.key_heads, "linear_num_value_heads": mx.value_heads}
    elif isinstance(mx, Mamba2):
        splits |= {"mamba_num_heads": mx.heads, "n_groups": mx.groups}
    full_kind = m.full_attention_kind
    if full_kind is not None and full_kind.kv_heads >= devices:
        splits["num_global_key_value_heads"] = full_kind.kv_heads
    uneven = [f"{k} ({v})" for k, v in splits.items() if v % devices]
    if uneven:
        raise LLMViewerError(f"{m.name}: tensor_parallel={devices} does not divide {', '.join(uneven)}")
    return m.map_layers(
        mixer=lambda k: _shard_kind(k, devices),
        mlp=lambda k: _shard_kind(k, devices),
        num_heads=m.num_heads // devices,
        num_kv_heads=max(m.num_kv_heads // devices, 1),
        intermediate_size=m.intermediate_size // devices,
        vocab_size=m.vocab_size // devices,
    )


@lru_cache(maxsize=256)
def build_ops(
    m: ModelSpec, flash_attention: bool = False, absorb_mla: bool = False, tensor_parallel: int = 1
) -> tuple[Op, ...]:
    """The operators ONE device runs, in execution order, each with its instance count. With
    ``tensor_parallel`` n > 1 each device runs its slice (:func:`shard`) plus the all-reduces that
    combine the slices: after attention and after the MLP (once per layer for parallel blocks)."""
    if tensor_parallel > 1:
        ops = list(build_ops(shard(m, tensor_parallel), flash_attention, absorb_mla))
        per_layer = 1 if m.parallel_block else 2
        reduce = AllReduce(
            "all_reduce", "communication", per_layer * m.num_layers, width=m.hidden_size, devices=tensor_parallel
        )
        head = next(i for i, op in enumerate(ops) if op.name == "final_norm")
        return tuple(ops[:head] + [reduce] + ops[head:])
    L, h = m.num_layers, m.hidden_size
    ops: list[Op] = [
        Embedding(
            "embed_tokens", "elementwise", 1, rows=m.vocab_size, width=h, scale=m.embedding_scale, role="embedding"
        )
    ]
    if m.learned_positions:
        ops.append(Embedding("embed_positions", "elementwise", 1, rows=m.learned_positions, width=h, role="embedding"))
        ops.append(Elementwise("add_positions", "elementwise", 1, width=h, inputs=2, role="embedding"))
    ops.append(_norm("norm", m.norms_per_layer * L, h, m.norm))
    mix = layer_mix(m)  # each distinct mixer and MLP kind once, with its layer count
    if any(isinstance(k, Attention) for k, _ in mix.mixers):
        ops += _gqa_attention(m, flash_attention)
    for kind, count in mix.mixers:
        if isinstance(kind, LatentAttention):
            ops += _latent_attention(m, kind, count, flash_attention, absorb_mla)
        elif isinstance(kind, GatedDeltaNet | Mamba2):
            ops += _linear_mixer(m, kind, count)
    for mlp, count in mix.mlps:
        ops += _mlp(m, "", count, mlp.intermediate_size) if isinstance(mlp, DenseMLP) else _moe_block(m, mlp, count)
    ops.append(Elementwise("residual_add", "elementwise", m.residuals_per_layer * L, width=h, inputs=2))
    ops.append(replace(_norm("final_norm", 1, h, m.norm), role="head"))
    ops.append(
        Linear(
            "lm_head",
            "matmul",
            1,
            in_f=h,
            out_f=m.vocab_size,
            bias=m.lm_head_bias,
            tokens="logits",
            quantized=False,
            holds_params=not m.tie_word_embeddings,
            role="head",
        )
    )
    if m.final_logit_softcap is not None:  # cap * tanh(logits / cap) on the rows lm_head computes
        ops.append(
            Elementwise(
                "logit_softcap",
                "elementwise",
                1,
                width=m.vocab_size,
                ops_per_element=SOFTCAP_OPS,
                tokens="logits",
                role="head",
            )
        )
    return tuple(ops)


def parameter_count(m: ModelSpec) -> int:
    """Parameters the model holds (tied embeddings counted once)."""
    return sum(op.params * op.count for op in build_ops(m))


def parameter_breakdown(m: ModelSpec) -> dict[str, int]:
    """Parameters held by each operator across the whole model (name -> count), in execution order."""
    return {op.name: op.params * op.count for op in build_ops(m) if op.params}
