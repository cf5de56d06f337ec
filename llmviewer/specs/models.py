"""Hugging Face ``config.json`` -> one normalised description of a decoder-only transformer.

A model is a stack of typed layers: :class:`ModelSpec` holds the global sizes and options and
``layers``, one :class:`Layer` (token mixer + MLP) per decoder layer. Each supported ``model_type``
has a small adapter that reads its own field names and conventions (GPT-J's ``n_embd``, Falcon's
``multi_query``, OPT's learned positions...) and the config's per-layer pattern (``layer_types``,
``sliding_window_pattern``, ``mlp_only_layers``, ``first_k_dense_replace``,
``hybrid_override_pattern``...); :func:`_build_layers` turns the pattern into the stack. Nothing in a
config is executed: it is parsed as JSON and read field by field; ``auto_map`` and other remote-code
hooks are ignored.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import LLMViewerError, unknown_name_error
from ..paths import DATA_ENV, data_dir, read_json

MODELS_DIR = "models"


@dataclass(frozen=True)
class ModelSpec:
    """Shape of a decoder-only transformer, as the roofline analysis needs it: global sizes and
    options (hidden size, vocabulary, norms, biases, embeddings) plus ``layers``, the ordered stack
    of typed decoder layers (:class:`Layer`: a token mixer and an MLP each).

    Sizes are element counts (not bytes). ``num_layers`` counts decoder blocks (``len(layers)``).
    ``num_heads``, ``num_kv_heads``, ``head_dim`` and ``intermediate_size`` are the config's
    model-wide values; each layer's own shapes are in its mixer and MLP. Built by hand without
    ``layers``, the stack is uniform: ``num_layers`` layers of full attention of that shape and a
    dense MLP of ``intermediate_size`` (gated as ``mlp_gated``). Per-layer counts and kinds
    (``sliding_layers``, ``num_moe_layers``, ``linear_mixer``...) are read-only properties derived
    from the stack, grouped once per spec (:func:`layer_mix`). Every spec is checked when built
    (hand-built ones too): sizes positive integers up to :data:`MAX_SIZE`, KV heads dividing heads,
    top-k within the experts, windows and chunks positive, soft caps positive and finite; a violation
    is one :class:`LLMViewerError` line naming the kind, the field, its value and what is valid.
    """

    name: str
    model_type: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool = False
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    lm_head_bias: bool = False
    mlp_gated: bool = True
    activation: str = "silu"
    norm: str = "rms"  # "rms" (weight only) or "layer" (weight and bias)
    norms_per_layer: int = 2
    parallel_block: bool = False
    qk_norm: bool = False
    qk_norm_per_head: bool = True  # True: one weight of head_dim shared by heads; False: over all heads (OLMo-2)
    rotary_dim: int = 0
    learned_positions: int = 0
    embedding_scale: bool = False
    # MoE blocks (model-wide options of every MoE layer; the experts themselves are in the layers' MoEMLP)
    shared_expert_gate: bool = False
    router_bias: bool = False
    router_scales: bool = False  # Gemma-4: a router with a learned input scale (hidden) and per-expert scale
    attn_output_gate: bool = False  # q_proj also yields a sigmoid gate on the attention output (Qwen3-Next)
    qk_l2_norm: bool = False  # weightless L2 q/k norm on the rotary layers (Llama-4 Scout's use_qk_norm)
    v_norm: bool = False  # a weightless RMSNorm of v (Gemma-4)
    residuals_per_layer: int = 2
    # Gemma-2/3/4: logits soft-capped as cap * tanh(logits / cap); Gemma-2: attention scores too (None: no cap)
    final_logit_softcap: float | None = None
    attn_logit_softcap: float | None = None
    layers: tuple[Layer, ...] = field(default=(), repr=False)  # one per decoder layer, in order; () = uniform
    source: str = field(default="", compare=False)
    vision: VisionEncoder | None = field(default=None, compare=False)  # multimodal: the vision tower, apart
    # set when the user named the architecture (``arch=``): config fields the adapter never read
    ignored_fields: tuple[str, ...] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_spec(self)
        layers = self.layers
        if not layers:
            layers = (
                layer(
                    Attention(self.num_heads, self.num_kv_heads, self.head_dim),
                    DenseMLP(self.intermediate_size, self.mlp_gated),
                ),
            ) * self.num_layers
            object.__setattr__(self, "layers", layers)
        elif not isinstance(layers, tuple) or not all(isinstance(x, Layer) for x in layers):
            got = (
                f"holds {type(next(x for x in layers if not isinstance(x, Layer))).__name__}"
                if isinstance(layers, tuple)
                else f"is a {type(layers).__name__}"
            )
            raise LLMViewerError(f"{self.name}: ModelSpec.layers {got}; valid: a tuple of Layer objects")
        if len(layers) != self.num_layers:
            raise LLMViewerError(f"{self.name}: {len(layers)} layers given for num_layers {self.num_layers}")
        mix = _group(layers)
        for kind, _ in (*mix.mixers, *mix.mlps):
            _check_kind(kind, self.name)
        object.__setattr__(self, "_mix", mix)
        object.__setattr__(self, "_hash", hash(tuple(getattr(self, f.name) for f in fields(self) if f.compare)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]  # computed once: specs key the engine's caches

    def __getstate__(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # not the grouping nor the hash

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.__post_init__()  # string hashes differ between processes: recompute

    def map_layers(
        self, mixer: Callable[[Mixer], Mixer] | None = None, mlp: Callable[[MLP], MLP] | None = None, **changes: Any
    ) -> ModelSpec:
        """A copy whose stack has every mixer replaced by ``mixer(kind)`` and every MLP by ``mlp(kind)``
        (each distinct layer mapped once; absent sublayers stay absent), and the fields in ``changes``."""
        mapped: dict[Layer, Layer] = {}
        for x in self.layers:
            if x not in mapped:
                mapped[x] = layer(
                    x.mixer if mixer is None or x.mixer is None else mixer(x.mixer),
                    x.mlp if mlp is None or x.mlp is None else mlp(x.mlp),
                )
        return replace(self, layers=tuple(mapped[x] for x in self.layers), **changes)

    def resized(
        self,
        num_heads: int | None = None,
        num_kv_heads: int | None = None,
        intermediate_size: int | None = None,
        num_layers: int | None = None,
        **changes: Any,
    ) -> ModelSpec:
        """A copy with the model-wide heads, KV heads, dense MLP width or layer count changed (pruning,
        contextual sparsity) and the stack rebuilt to match: attention layers of the model-wide shape get
        the new heads, dense MLPs of the model-wide width the new width; a smaller ``num_layers`` keeps the
        first layers of the stack (its pattern from the start). Other ``changes``: global fields."""
        nh, nkv = num_heads or self.num_heads, num_kv_heads or self.num_kv_heads
        inter = intermediate_size or self.intermediate_size
        old = (self.num_heads, self.num_kv_heads)

        def mixer(k: Mixer) -> Mixer:
            if not (isinstance(k, Attention) and (k.heads, k.kv_heads) == old):
                return k
            new = replace(k, heads=nh, kv_heads=nkv)
            if 1 <= nkv <= nh and nh % nkv:  # an expected count of kept heads (contextual sparsity): allowed here
                _allow_uneven(new)
            return new

        def mlp(k: MLP) -> MLP:
            return (
                replace(k, intermediate_size=inter)
                if isinstance(k, DenseMLP) and k.intermediate_size == self.intermediate_size
                else k
            )

        n = self.num_layers if num_layers is None else num_layers
        if not 1 <= n <= self.num_layers:
            raise LLMViewerError(f"{self.name}: num_layers {n}; valid: 1..{self.num_layers}")
        short = replace(self, num_layers=n, layers=self.layers[:n])
        return short.map_layers(mixer, mlp, num_heads=nh, num_kv_heads=nkv, intermediate_size=inter, **changes)

    def without_windows(self) -> ModelSpec:
        """The same model with every sliding-window attention layer attending to all its tokens
        (chunked layers unchanged): what one more token costs while no window is full yet."""
        return self.map_layers(mixer=lambda k: replace(k, window=None) if isinstance(k, Attention) else k)

    def _kinds(self, types: type | tuple[type, ...]) -> list[tuple[Any, int]]:
        mix: LayerMix = self._mix  # type: ignore[attr-defined]
        return [(k, n) for k, n in (*mix.mixers, *mix.mlps) if isinstance(k, types)]

    def _first(self, types: type | tuple[type, ...]) -> Any:
        kinds = self._kinds(types)
        return kinds[0][0] if kinds else None

    @property
    def is_moe(self) -> bool:
        """True when some layers route tokens to experts."""
        return self.num_moe_layers > 0

    @property
    def attention_layer_count(self) -> int:
        """Layers whose token mixer is softmax attention (full, sliding, chunked or MLA)."""
        return sum(n for _, n in self._kinds((Attention, LatentAttention)))

    @property
    def mlp_layer_count(self) -> int:
        """Layers with an MLP (dense or MoE)."""
        return self._mix._with_mlp  # type: ignore[attr-defined]

    @property
    def sliding_layers(self) -> int:
        """Layers of sliding-window attention."""
        return sum(n for k, n in self._kinds(Attention) if k.window is not None)

    @property
    def sliding_window(self) -> int | None:
        """Window of the sliding-window layers (tokens); None without such layers."""
        return next((k.window for k, _ in self._kinds(Attention) if k.window is not None), None)

    @property
    def chunked_layers(self) -> int:
        """Layers of chunked attention (Llama-4)."""
        return sum(n for k, n in self._kinds(Attention) if k.chunk is not None)

    @property
    def attention_chunk(self) -> int | None:
        """Chunk of the chunked-attention layers (tokens); None without such layers."""
        return next((k.chunk for k, _ in self._kinds(Attention) if k.chunk is not None), None)

    @property
    def attention_sinks(self) -> bool:
        """True when some attention layers have per-head sinks (gpt-oss)."""
        return any(k.sinks for k, _ in self._kinds(Attention))

    @property
    def full_attention_kind(self) -> Attention | None:
        """The full-attention layers' kind when their shape differs from the model-wide heads, KV heads
        and head size (Gemma-4's global layers); None otherwise."""
        for k, _ in self._kinds(Attention):
            if k.window is None and k.chunk is None:
                if (k.heads, k.kv_heads, k.head_dim, k.k_eq_v, k.rotary_dim) != (
                    self.num_heads, self.num_kv_heads, self.head_dim, False, None
                ):  # fmt: skip
                    return k
        return None

    @property
    def linear_mixer(self) -> GatedDeltaNet | Mamba2 | None:
        """The linear-attention or state-space mixer of a hybrid stack; None for other models."""
        return self._first((GatedDeltaNet, Mamba2))

    @property
    def linear_layers(self) -> int:
        """Layers whose token mixer is a linear-attention or state-space layer."""
        return sum(n for _, n in self._kinds((GatedDeltaNet, Mamba2)))

    @property
    def num_moe_layers(self) -> int:
        """Layers with an MoE MLP."""
        return sum(n for _, n in self._kinds(MoEMLP))

    @property
    def _moe(self) -> MoEMLP:
        return self._first(MoEMLP) or _NO_MOE

    @property
    def num_experts(self) -> int:
        """Routed experts of the MoE layers (0 = dense)."""
        return self._moe.experts

    @property
    def experts_per_token(self) -> int:
        """Routed experts each token uses (top-k; 0 = dense)."""
        return self._moe.top_k

    @property
    def moe_intermediate_size(self) -> int:
        """Width of one routed expert (elements; 0 = dense)."""
        return self._moe.intermediate_size

    @property
    def shared_expert_intermediate_size(self) -> int:
        """Width of the always-on shared expert(s) of the MoE layers (elements; 0 = none)."""
        return self._moe.shared_intermediate_size

    @property
    def moe_with_dense(self) -> bool:
        """True when the MoE layers also have a dense MLP beside the experts (Gemma-4)."""
        return self._mix._beside  # type: ignore[attr-defined]

    @property
    def state_bytes_per_sequence(self) -> float:
        """Bytes of recurrent and convolution state ONE sequence holds in the linear-attention or SSM
        layers (constant in context length), with the conv window at 16 bits and the recurrent state at
        the mixer's ``state_bits``; 0 for models without such layers. See :meth:`state_bytes`."""
        return self.state_bytes(16)

    def state_bytes(self, conv_bits: float) -> float:
        """Bytes of per-sequence state of all linear-attention/SSM layers: the causal-conv window at
        ``conv_bits`` plus the recurrent state at the mixer's ``state_bits`` (constant in context)."""
        return sum(
            n * (mx.conv_state_elements * conv_bits / 8 + mx.state_elements * mx.state_bits / 8)
            for mx, n in self._kinds((GatedDeltaNet, Mamba2))
        )

    @property
    def _mla(self) -> LatentAttention:
        return self._first(LatentAttention) or _NO_MLA

    @property
    def uses_mla(self) -> bool:
        """True for DeepSeek-style multi-head latent attention."""
        return self.kv_lora_rank > 0

    @property
    def q_lora_rank(self) -> int:
        """MLA: rank of the query compression (0 = a plain query projection)."""
        return self._mla.q_lora_rank

    @property
    def kv_lora_rank(self) -> int:
        """MLA: rank of the key/value latent (0 = ordinary attention)."""
        return self._mla.kv_lora_rank

    @property
    def qk_nope_head_dim(self) -> int:
        """MLA: per-head query/key elements without rotary embedding."""
        return self._mla.qk_nope_head_dim

    @property
    def qk_rope_head_dim(self) -> int:
        """MLA: per-head query/key elements with rotary embedding."""
        return self._mla.qk_rope_head_dim

    @property
    def v_head_dim(self) -> int:
        """MLA: per-head value elements."""
        return self._mla.v_head_dim

    @property
    def qk_head_dim(self) -> int:
        """Per-head size of queries and keys (elements)."""
        return self.qk_nope_head_dim + self.qk_rope_head_dim if self.uses_mla else self.head_dim

    @property
    def v_dim(self) -> int:
        """Per-head size of values (elements)."""
        return self.v_head_dim if self.uses_mla else self.head_dim

    @property
    def kv_cache_elements_per_token(self) -> int:
        """Elements one token adds to the KV cache of ONE layer (MLA: the compressed latent)."""
        if self.uses_mla:
            return self.kv_lora_rank + self.qk_rope_head_dim
        return self.num_kv_heads * 2 * self.head_dim


@dataclass(frozen=True)
class VisionEncoder:
    """A multimodal model's ViT vision tower (SigLIP-style), analysed apart from the decoder.
    Sizes are element counts; ``tokens_per_image`` is what the text model receives per image."""

    layers: int
    hidden_size: int
    intermediate_size: int
    heads: int
    patch_size: int
    image_size: int
    tokens_per_image: int
    text_hidden_size: int
    channels: int = 3
    # "siglip" (Gemma-3), "pixtral" (Mistral-3.1), "llama4", "qwen3_vl" (Qwen3-VL, Qwen3.5), "gemma4"
    # (see llmviewer.engine.vision)
    style: str = "siglip"
    merge: int = 1  # merge x merge patches become one image token (pixtral: 2; llama4: 1/ratio; gemma4: pooling)
    adapter_dim: int = 0  # llama4: width of the vision adapter MLP and of the projector's input
    temporal_patch: int = 1  # qwen3_vl: frames per patch (an image is repeated over them)
    deepstack: int = 0  # qwen3_vl: extra mergers whose features join the first text layers
    positions: int = 0  # qwen3_vl: rows of the learned position table; gemma4: rows of each of its x and y tables
    head_dim: int = 0  # gemma4: attention head size (0: hidden_size / heads)
    kv_heads: int = 0  # gemma4: key/value heads (0: heads)

    @property
    def patches(self) -> int:
        """Patches per image: (image_size / patch_size)²."""
        return (self.image_size // self.patch_size) ** 2


@dataclass(frozen=True)
class Attention:
    """Softmax attention over cached keys: full (``window`` None) or a sliding window of
    ``window`` tokens; ``sinks``: a learned per-head logit joins every softmax (gpt-oss)."""

    heads: int
    kv_heads: int
    head_dim: int
    window: int | None = None
    sinks: bool = False
    chunk: int | None = None  # chunked attention (Llama-4): each query sees only its own chunk of keys
    nope: bool = False  # no rotary embedding on these layers (Llama-4's full-attention layers)
    k_eq_v: bool = False  # no v_proj: values come from the key projection (Gemma-4's global layers)
    rotary_dim: int | None = None  # rotated elements per head when they differ from the model's (Gemma-4)

    @property
    def kv_elements_per_token(self) -> int:
        """Elements one token adds to this layer's KV cache (K and V; V is cached even when V = K)."""
        return self.kv_heads * 2 * self.head_dim

    @property
    def kind(self) -> str:
        """ "full_attention", "sliding_attention" or "chunked_attention"."""
        if self.chunk is not None:
            return "chunked_attention"
        return "full_attention" if self.window is None else "sliding_attention"

    def describe(self) -> str:
        """Short label, e.g. ``sliding(512)``."""
        if self.chunk is not None:
            label = f"chunked({self.chunk})"
        else:
            label = "full" if self.window is None else f"sliding({self.window})"
        if self.k_eq_v:
            label += f"[{self.heads}/{self.kv_heads}x{self.head_dim},K=V]"
        return label + ("+sinks" if self.sinks else "") + ("+NoPE" if self.nope else "")


@dataclass(frozen=True)
class LatentAttention:
    """DeepSeek multi-head latent attention; ``q_lora_rank`` 0 = a plain query projection.
    The cache holds ``kv_lora_rank + qk_rope_head_dim`` elements per token and layer."""

    heads: int
    q_lora_rank: int
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    kind = "mla"

    def describe(self) -> str:
        """Short label with the ranks."""
        q = f"q{self.q_lora_rank}" if self.q_lora_rank else "q-full"
        return f"MLA({q},kv{self.kv_lora_rank})"


@dataclass(frozen=True)
class DenseMLP:
    """A dense MLP of ``intermediate_size`` elements: gated (gate, up, down) or plain (up, down)."""

    intermediate_size: int
    gated: bool = True
    kind = "dense"

    def describe(self) -> str:
        """Short label."""
        return f"dense({self.intermediate_size})"


@dataclass(frozen=True)
class MoEMLP:
    """Routed experts (each token uses ``top_k`` of ``experts``, each ``intermediate_size`` wide)
    plus an always-on shared MLP of ``shared_intermediate_size`` (0 = none)."""

    experts: int
    top_k: int
    intermediate_size: int
    shared_intermediate_size: int = 0
    gated: bool = True
    beside: DenseMLP | None = None  # a dense MLP run beside the experts in the same layer (Gemma-4)
    kind = "moe"

    def describe(self) -> str:
        """Short label, e.g. ``MoE(128x1408,top8,+shared1408)``."""
        shared = f",+shared{self.shared_intermediate_size}" if self.shared_intermediate_size else ""
        return f"MoE({self.experts}x{self.intermediate_size},top{self.top_k}{shared})"


@dataclass(frozen=True)
class GatedDeltaNet:
    """Gated DeltaNet linear attention (Qwen3-Next, Qwen3.5): a projection to q, k, v (``key_heads``
    query/key heads of ``key_head_dim``, ``value_heads`` value heads of ``value_head_dim``), an output
    gate z and per-value-head decay/step inputs (a, b); a depthwise causal conv of ``conv_kernel`` taps
    over q, k, v; a recurrent state of ``value_heads x key_head_dim x value_head_dim`` per sequence,
    independent of the context length; a gated RMSNorm and an output projection."""

    key_heads: int
    value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int
    state_bits: int = 32  # the recurrent state is kept in FP32 (transformers, flash-linear-attention)
    kind = "linear_attention"

    @property
    def key_dim(self) -> int:
        """Elements of all query (or key) heads of one token."""
        return self.key_heads * self.key_head_dim

    @property
    def value_dim(self) -> int:
        """Elements of all value heads of one token."""
        return self.value_heads * self.value_head_dim

    @property
    def conv_dim(self) -> int:
        """Channels of the causal conv: q, k and v."""
        return 2 * self.key_dim + self.value_dim

    @property
    def state_elements(self) -> int:
        """Recurrent-state elements of one layer and sequence."""
        return self.value_heads * self.key_head_dim * self.value_head_dim

    @property
    def conv_state_elements(self) -> int:
        """Conv-window elements of one layer and sequence (transformers keeps ``conv_kernel`` tokens)."""
        return self.conv_dim * self.conv_kernel

    def describe(self) -> str:
        """Short label, e.g. ``GatedDeltaNet(16qk,32v,d128)``."""
        return f"GatedDeltaNet({self.key_heads}qk,{self.value_heads}v,d{self.key_head_dim})"


@dataclass(frozen=True)
class Mamba2:
    """Mamba2 state-space mixer (Nemotron-H): ``in_proj`` to x, gate z, B and C (``groups`` groups of
    ``state_size``) and a step size per head; a depthwise causal conv of ``conv_kernel`` taps over x, B,
    C; the selective scan with a state of ``heads x head_dim x state_size`` per sequence, independent of
    the context length; a gated RMSNorm and ``out_proj``."""

    heads: int
    head_dim: int
    state_size: int
    groups: int
    conv_kernel: int
    conv_bias: bool = True
    proj_bias: bool = False
    state_bits: int = 32  # ``mamba_ssm_cache_dtype`` (float32)
    kind = "mamba2"

    @property
    def inner(self) -> int:
        """Elements of x (and of the gate z) per token: heads x head_dim."""
        return self.heads * self.head_dim

    @property
    def conv_dim(self) -> int:
        """Channels of the causal conv: x, B and C."""
        return self.inner + 2 * self.groups * self.state_size

    @property
    def in_proj_size(self) -> int:
        """Outputs of ``in_proj``: z, x, B, C and one step size per head."""
        return 2 * self.inner + 2 * self.groups * self.state_size + self.heads

    @property
    def state_elements(self) -> int:
        """SSM-state elements of one layer and sequence."""
        return self.heads * self.head_dim * self.state_size

    @property
    def conv_state_elements(self) -> int:
        """Conv-window elements of one layer and sequence (transformers keeps ``conv_kernel`` tokens)."""
        return self.conv_dim * self.conv_kernel

    def describe(self) -> str:
        """Short label, e.g. ``Mamba2(128x64,N128)``."""
        return f"Mamba2({self.heads}x{self.head_dim},N{self.state_size})"


Mixer = Attention | LatentAttention | GatedDeltaNet | Mamba2
MLP = DenseMLP | MoEMLP


@dataclass(frozen=True)
class LayerMix:
    """The distinct token mixers and MLPs of a layer stack, each with its layer count (O(kinds),
    never O(layers)). Mixers and MLPs are independent in the cost model, so their counts are
    kept apart: a layer's mixer and MLP can be paired in any order without changing a number."""

    mixers: tuple[tuple[Mixer, int], ...]
    mlps: tuple[tuple[MLP, int], ...]

    def describe(self) -> str:
        """e.g. ``22 sliding(512) + 4 full; 26 dense(6912)``."""
        mix = " + ".join(f"{n} {k.describe()}" for k, n in self.mixers)
        mlp = " + ".join(f"{n} {k.describe()}" for k, n in self.mlps)
        return f"{mix}; {mlp}"


@dataclass(frozen=True)
class Layer:
    """One decoder layer of the stack: its token mixer and its MLP. Nemotron-H-style hybrids, whose
    blocks hold ONE sublayer each (a Mamba2 or attention mixer, or an MLP), have ``mlp`` None or
    ``mixer`` None. Build layers with :func:`layer`, which shares equal layers (a 100-layer model
    holds a handful of objects)."""

    mixer: Mixer | None
    mlp: MLP | None

    def __post_init__(self) -> None:
        if not isinstance(self.mixer, Mixer | None) or not isinstance(self.mlp, MLP | None):
            raise LLMViewerError(
                f"Layer({type(self.mixer).__name__}, {type(self.mlp).__name__}): valid: a token mixer (Attention,"
                " LatentAttention, GatedDeltaNet, Mamba2 or None) and an MLP (DenseMLP, MoEMLP or None)"
            )
        object.__setattr__(self, "_hash", hash((self.mixer, self.mlp)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, Any]:
        return {"mixer": self.mixer, "mlp": self.mlp}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.__post_init__()  # hash(None) differs between processes before Python 3.12: recompute

    def describe(self) -> str:
        """Short label, e.g. ``sliding(512) / dense(6912)``; ``-`` for an absent sublayer."""
        return " / ".join("-" if k is None else k.describe() for k in (self.mixer, self.mlp))


_LAYERS: dict[Layer, Layer] = {}
_LAYERS_MAX = 4096


def layer(mixer: Mixer | None, mlp: MLP | None) -> Layer:
    """The :class:`Layer` of ``mixer`` and ``mlp``, one shared object per distinct pair."""
    if mixer is None and mlp is None:
        raise LLMViewerError("a layer needs a token mixer, an MLP or both")
    new = Layer(mixer, mlp)
    found = _LAYERS.get(new)
    if found is None:
        if len(_LAYERS) >= _LAYERS_MAX:
            _LAYERS.clear()
        found = _LAYERS[new] = new
    return found


_SPEC_SIZES = ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim", "intermediate_size", "vocab_size")


def _check_spec(m: ModelSpec) -> None:
    """Refuse a hand-built spec whose global sizes or soft caps no model can have (one clear line)."""
    for key in _SPEC_SIZES:
        _check_int(m.name, "ModelSpec", key, getattr(m, key), 1)
    for key in ("final_logit_softcap", "attn_logit_softcap"):
        v = getattr(m, key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < math.inf):
            raise LLMViewerError(f"{m.name}: ModelSpec.{key} is {v!r:.60}; valid: a positive finite number or None")


def _check_int(owner: str, kind: str, key: str, v: Any, low: int, none: bool = False) -> None:
    if none and v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= MAX_SIZE:
        valid = f"an integer in {low}..{MAX_SIZE}" + (" or None" if none else "")
        raise LLMViewerError(f"{owner}: {kind}.{key} is {v!r:.60}; valid: {valid}")


_CHECKED: set[Any] = set()  # kinds already checked (specs are rebuilt often: check each kind once)
_UNEVEN: set[Any] = set()  # attention kinds built by ModelSpec.resized whose KV heads need not divide the heads


def _allow_uneven(k: Attention) -> None:
    """Let ``k`` have KV heads that do not divide its heads: only :meth:`ModelSpec.resized` does, for
    the expected numbers of heads and KV heads that contextual sparsity keeps."""
    if len(_UNEVEN) >= _LAYERS_MAX:
        _UNEVEN.clear()
    _UNEVEN.add(k)


def _check_kind(k: Any, owner: str) -> None:
    """Refuse a token mixer or MLP whose sizes no model can have: sizes positive integers, KV heads
    dividing heads, top-k within the experts, windows and chunks positive (one clear line)."""
    if k in _CHECKED:
        return
    name = type(k).__name__
    if name not in ("Attention", "LatentAttention", "GatedDeltaNet", "Mamba2", "DenseMLP", "MoEMLP"):
        raise LLMViewerError(f"{owner}: a layer holds {name} {k!r:.60}; valid: Attention, LatentAttention,"
                             " GatedDeltaNet or Mamba2 as mixer, DenseMLP or MoEMLP as MLP")  # fmt: skip
    for f in fields(k):
        v = getattr(k, f.name)
        if f.name in ("window", "chunk"):
            _check_int(owner, name, f.name, v, 1, none=True)
        elif f.name == "rotary_dim":
            _check_int(owner, name, f.name, v, 0, none=True)
        elif f.name in ("q_lora_rank", "qk_nope_head_dim", "shared_intermediate_size"):
            _check_int(owner, name, f.name, v, 0)
        elif f.type in ("int", int):
            _check_int(owner, name, f.name, v, 1)
        elif f.type in ("bool", bool) and not isinstance(v, bool):
            raise LLMViewerError(f"{owner}: {name}.{f.name} is {v!r:.60}; valid: True or False")
    pairs = {"Attention": ("heads", "kv_heads"), "GatedDeltaNet": ("value_heads", "key_heads"),
             "Mamba2": ("heads", "groups")}.get(name)  # fmt: skip
    uneven = k in _UNEVEN and getattr(k, pairs[1]) <= getattr(k, pairs[0])  # type: ignore[index]
    if pairs and getattr(k, pairs[0]) % getattr(k, pairs[1]) and not uneven:
        raise LLMViewerError(
            f"{owner}: {name}.{pairs[1]} is {getattr(k, pairs[1])}; valid: a divisor of {pairs[0]}"
            f" ({getattr(k, pairs[0])})"
        )
    if isinstance(k, MoEMLP):
        if k.top_k > k.experts:
            raise LLMViewerError(f"{owner}: MoEMLP.top_k is {k.top_k}; valid: 1..{k.experts} (its experts)")
        if k.beside is not None:
            if not isinstance(k.beside, DenseMLP):
                raise LLMViewerError(f"{owner}: MoEMLP.beside is {k.beside!r:.60}; valid: a DenseMLP or None")
            _check_kind(k.beside, owner)
    if len(_CHECKED) >= _LAYERS_MAX:
        _CHECKED.clear()
    _CHECKED.add(k)


_MIXER_ORDER = {"full_attention": 0, "mla": 0, "chunked_attention": 1, "sliding_attention": 2}


def _group(layers: tuple[Layer, ...]) -> LayerMix:
    """The distinct kinds of a stack with their layer counts: mixers full, chunked, sliding, then
    linear/SSM; MLPs dense, then MoE (a dense MLP beside experts is counted with the dense MLPs)."""
    counts: dict[int, int] = {}
    for x in layers:  # layers are shared objects: count by identity, then by value
        counts[id(x)] = counts.get(id(x), 0) + 1
    distinct = {id(x): x for x in layers}
    mixers: dict[Mixer, int] = {}
    mlps: dict[MLP, int] = {}
    with_mlp = 0
    beside = False
    for key, n in counts.items():
        x = distinct[key]
        if x.mixer is not None:
            mixers[x.mixer] = mixers.get(x.mixer, 0) + n
        mlp = x.mlp
        if mlp is not None:
            with_mlp += n
            if isinstance(mlp, MoEMLP) and mlp.beside is not None:
                beside = True
                mlps[mlp.beside] = mlps.get(mlp.beside, 0) + n
                mlp = replace(mlp, beside=None)
            mlps[mlp] = mlps.get(mlp, 0) + n
    order = list(mixers)
    mixer_groups = sorted(mixers.items(), key=lambda kn: (_MIXER_ORDER.get(kn[0].kind, 3), order.index(kn[0])))
    mlp_order = list(mlps)
    mlp_groups = sorted(mlps.items(), key=lambda kn: (isinstance(kn[0], MoEMLP), mlp_order.index(kn[0])))
    mix = LayerMix(tuple(mixer_groups), tuple(mlp_groups))
    object.__setattr__(mix, "_with_mlp", with_mlp)
    object.__setattr__(mix, "_beside", beside)
    return mix


_NO_MOE = MoEMLP(0, 0, 0)
_NO_MLA = LatentAttention(0, 0, 0, 0, 0, 0)


def layer_mix(m: ModelSpec) -> LayerMix:
    """The typed layer kinds of ``m`` with their counts (see :class:`LayerMix`): a grouping of
    ``m.layers``, computed once per spec."""
    return m._mix  # type: ignore[attr-defined]


FAMILIES = {
    "llama": "Llama", "mistral": "Mistral", "mixtral": "Mistral", "qwen2": "Qwen", "qwen2_moe": "Qwen",
    "qwen3": "Qwen", "qwen3_moe": "Qwen", "gemma": "Gemma", "gemma2": "Gemma", "gemma3_text": "Gemma",
    "gemma3": "Gemma (multimodal; text model)", "qwen3_vl": "Qwen-VL (multimodal; text model)",
    "mistral3": "Mistral (multimodal; text model)",
    "phi3": "Phi", "opt": "OPT", "gptj": "GPT-J", "gpt_neox": "Pythia/GPT-NeoX", "falcon": "Falcon",
    "deepseek_v2": "DeepSeek", "deepseek_v3": "DeepSeek", "kimi_k2": "Kimi (DeepSeek-V3 layout)",
    "olmo2": "OLMo", "granite": "Granite", "gpt_oss": "gpt-oss", "glm4_moe": "GLM",
    "qwen3_next": "Qwen (hybrid: gated DeltaNet + attention)",
    "qwen3_5": "Qwen (hybrid; multimodal; text model)", "qwen3_5_moe": "Qwen (hybrid; multimodal; text model)",
    "nemotron_h": "Nemotron-H (hybrid: Mamba2 + attention)",
    "llama4": "Llama-4 (multimodal; text model)", "llama4_text": "Llama-4",
    "gemma4": "Gemma (multimodal; text model)", "gemma4_text": "Gemma",
}  # fmt: skip
"""Model family of each supported ``model_type``."""


MAX_LAYERS = 100_000
"""Most decoder layers a config may give (the largest published models have about 130)."""

MAX_SIZE = 10**12
"""Largest size or count a config (or a hand-built spec) may give: beyond, products of sizes leave
the range of floats (published models stay below 10**7)."""


def _digits(value: int) -> str:
    """A large integer for an error message: its leading digits and length."""
    text = str(value)
    return text if len(text) <= 16 else f"{text[:4]}... ({len(text)} digits)"


class _Config:
    """Read fields of one config.json with clear errors for missing or ill-typed fields."""

    def __init__(self, raw: dict[str, Any], origin: str):
        self.raw = raw
        self.origin = origin
        self.read: set[str] = {"model_type"}
        self.arch: str | None = None  # the model_type named with arch=, when it overrides the config's

    def get(self, *names: str, default: Any = None) -> Any:
        self.read.update(names)
        for n in names:
            if n in self.raw and self.raw[n] is not None:
                return self.raw[n]
        return default

    def int(self, *names: str, default: Any = ...) -> int:
        value = self.get(*names)
        if value is None:
            if default is ...:
                raise LLMViewerError(
                    f"{self.origin}: config is missing the required field {names[0]!r}"
                    f" for model_type {self.arch or self.raw.get('model_type')!r}"
                    + (" (named with arch=/--arch)" if self.arch else "")
                )
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise LLMViewerError(f"{self.origin}: field {names[0]!r} must be a positive integer, got {value!r:.60}")
        if value > MAX_SIZE:
            raise LLMViewerError(f"{self.origin}: field {names[0]!r} is {_digits(value)}; valid: 1..{MAX_SIZE}")
        if names[0] in ("num_hidden_layers", "n_layer") and value > MAX_LAYERS:
            raise LLMViewerError(
                f"{self.origin}: field {names[0]!r} is {value}; valid: 1..{MAX_LAYERS}"
                " (the stack holds one entry per layer)"
            )
        return value

    def count(self, *names: str, default: int = 0) -> int:
        """A non-negative integer field (0 allowed), e.g. ``n_shared_experts``."""
        value = self.get(*names)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SIZE:
            raise LLMViewerError(
                f"{self.origin}: field {names[0]!r} must be an integer in 0..{MAX_SIZE}, got {value!r:.60}"
            )
        return value

    def fraction(self, *names: str, default: float) -> float:
        """A fraction in (0, 1], e.g. ``partial_rotary_factor``."""
        value = self.get(*names, default=default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise LLMViewerError(f"{self.origin}: field {names[0]!r} must be a number in (0, 1], got {value!r}")
        return float(value)

    def name(self, *names: str, default: str) -> str:
        """A short text field, e.g. the activation function's name."""
        value = self.get(*names, default=default)
        if not isinstance(value, str) or not value or len(value) > 100:
            raise LLMViewerError(f"{self.origin}: field {names[0]!r} must be a name (a string), got {value!r:.60}")
        return value

    def bool(self, *names: str, default: bool) -> bool:
        value = self.get(*names, default=default)
        if not isinstance(value, bool):
            raise LLMViewerError(f"{self.origin}: field {names[0]!r} must be true or false, got {value!r}")
        return value


def _check_head_size(c: _Config, hidden: int, nh: int) -> None:
    """Refuse a head size hidden / heads of 0 (no explicit ``head_dim``)."""
    if c.get("head_dim") is None and hidden < nh:
        raise LLMViewerError(
            f"{c.origin}: hidden_size ({hidden}) is smaller than num_attention_heads ({nh}), so the head size"
            " hidden_size / heads would be 0; valid: hidden_size >= num_attention_heads, or an explicit head_dim"
        )


def _attention(c: _Config, heads: tuple[str, ...] = ("num_attention_heads",)) -> dict[str, int]:
    hidden = c.int("hidden_size")
    nh = c.int(*heads)
    nkv = c.int("num_key_value_heads", default=nh)
    _check_head_size(c, hidden, nh)
    head_dim = c.int("head_dim", default=hidden // nh)
    if nh % nkv:
        raise LLMViewerError(f"{c.origin}: num_attention_heads ({nh}) is not a multiple of num_key_value_heads ({nkv})")
    return dict(hidden_size=hidden, num_heads=nh, num_kv_heads=nkv, head_dim=head_dim)


def _common(c: _Config) -> dict[str, Any]:
    return dict(
        num_layers=c.int("num_hidden_layers"),
        vocab_size=c.int("vocab_size"),
        tie_word_embeddings=c.bool("tie_word_embeddings", default=False),
    )


def _sliding(c: _Config, num_layers: int, every_layer: bool) -> dict[str, Any]:
    """Sliding-window attention: the window and which layers use it (``layer_types`` when the config
    has it; else every layer, or every other layer from the first as Gemma-2 does)."""
    if c.get("sliding_window") is None or c.get("use_sliding_window") is False:
        return {}
    window = c.int("sliding_window")
    types = _layer_types(c, num_layers)
    if types is None:
        types = ["sliding_attention" if every_layer or i % 2 == 0 else "full_attention" for i in range(num_layers)]
    return dict(
        sliding_window=int(window), mixer_types=["sliding" if t == "sliding_attention" else "full" for t in types]
    )


def _llama_like(c: _Config, **overrides: Any) -> dict[str, Any]:
    spec = dict(
        **_common(c),
        **_attention(c),
        intermediate_size=c.int("intermediate_size"),
        qkv_bias=c.bool("attention_bias", default=False),
        o_bias=c.bool("attention_bias", default=False),
        mlp_bias=c.bool("mlp_bias", default=False),
        activation=c.name("hidden_act", default="silu"),
        rotary_dim=0,
    )
    spec["rotary_dim"] = spec["head_dim"]
    spec.update(overrides)
    return spec


def _llama(c: _Config) -> dict[str, Any]:
    return _llama_like(c)


def _mistral(c: _Config) -> dict[str, Any]:
    spec = _llama_like(c)
    spec.update(_sliding(c, spec["num_layers"], every_layer=True))
    return spec


def _phi3(c: _Config) -> dict[str, Any]:
    spec = _llama_like(c)
    spec["rotary_dim"] = int(spec["head_dim"] * c.fraction("partial_rotary_factor", default=1.0))
    spec.update(_sliding(c, spec["num_layers"], every_layer=True))
    return spec


def _qwen_sliding(c: _Config, num_layers: int, rule: str) -> dict[str, Any]:
    """Qwen's sliding-window layers, only with ``use_sliding_window``: from ``layer_types`` when given, else
    as transformers derives them from ``max_window_layers`` (default 28): Qwen2/Qwen3 (``rule`` "from")
    layers i >= max_window_layers, Qwen2-MoE ("even_below") even layers i < max_window_layers; Qwen3-MoE
    ("all", no ``layer_types``) every layer."""
    if not c.bool("use_sliding_window", default=False) or c.get("sliding_window") is None:
        return {}  # transformers: no window, no sliding layer
    window = c.int("sliding_window")
    types = None if rule == "all" else _layer_types(c, num_layers)
    if types is None:
        limit = c.count("max_window_layers", default=28)
        slides = {"from": lambda i: i >= limit, "even_below": lambda i: i % 2 == 0 and i < limit}.get(
            rule, lambda i: True
        )
        types = ["sliding_attention" if slides(i) else "full_attention" for i in range(num_layers)]
    return dict(sliding_window=window, mixer_types=["sliding" if t == "sliding_attention" else "full" for t in types])


def _qwen2(c: _Config, sliding: str = "from") -> dict[str, Any]:
    # Qwen2 always has biases on q, k and v (not on o); sliding windows only when enabled.
    spec = _llama_like(c, qkv_bias=True, o_bias=False)
    spec.update(_qwen_sliding(c, spec["num_layers"], sliding))
    return spec


def _qwen3(c: _Config, sliding: str | None = "from") -> dict[str, Any]:
    spec = _llama_like(c, qk_norm=True)
    if sliding is not None:
        spec.update(_qwen_sliding(c, spec["num_layers"], sliding))
    return spec


def _experts(c: _Config, experts: tuple[str, ...], top_k: tuple[str, ...]) -> dict[str, int]:
    """``num_experts`` and ``experts_per_token`` from the first present of the named fields, top-k
    checked against the experts (one line naming both fields)."""
    n, k = c.int(*experts), c.int(*top_k)
    if k > n:
        k_name = next(f for f in top_k if c.raw.get(f) is not None)
        n_name = next(f for f in experts if c.raw.get(f) is not None)
        raise LLMViewerError(f"{c.origin}: field {k_name!r} is {k}; valid: 1..{n} (the number of experts, {n_name!r})")
    return dict(num_experts=n, experts_per_token=k)


def _moe_layers(c: _Config, num_layers: int) -> list[str]:
    """Each layer's MLP: ``moe`` on every ``decoder_sparse_step``-th layer not in ``mlp_only_layers``,
    ``dense`` otherwise."""
    step = c.int("decoder_sparse_step", default=1)
    only_mlp = c.get("mlp_only_layers", default=[])
    if not isinstance(only_mlp, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in only_mlp):
        raise LLMViewerError(f"{c.origin}: field 'mlp_only_layers' must be a list of layer indices, got {only_mlp!r}")
    bad = [i for i in only_mlp if not 0 <= i < num_layers]
    if bad:
        raise LLMViewerError(
            f"{c.origin}: field 'mlp_only_layers' has indices {bad} outside the {num_layers} layers"
            f" (valid: 0..{num_layers - 1})"
        )
    dense = set(only_mlp)
    return ["moe" if (i + 1) % step == 0 and i not in dense else "dense" for i in range(num_layers)]


def _mixtral(c: _Config) -> dict[str, Any]:
    spec = _llama_like(c)
    spec.update(_sliding(c, spec["num_layers"], every_layer=True))
    spec.update(
        **_experts(c, ("num_local_experts",), ("num_experts_per_tok",)),
        moe_intermediate_size=spec["intermediate_size"],
        mlp_types=["moe"] * spec["num_layers"],
    )
    return spec


def _qwen2_moe(c: _Config) -> dict[str, Any]:
    spec = _qwen2(c, sliding="even_below")
    spec.update(
        **_experts(c, ("num_experts",), ("num_experts_per_tok",)),
        moe_intermediate_size=c.int("moe_intermediate_size"),
        shared_expert_intermediate_size=c.int("shared_expert_intermediate_size"),
        shared_expert_gate=True,
        mlp_types=_moe_layers(c, spec["num_layers"]),
    )
    return spec


def _qwen3_moe(c: _Config) -> dict[str, Any]:
    spec = _qwen3(c, sliding="all")
    spec.update(
        **_experts(c, ("num_experts",), ("num_experts_per_tok",)),
        moe_intermediate_size=c.int("moe_intermediate_size"),
        mlp_types=_moe_layers(c, spec["num_layers"]),
    )
    return spec


def _gemma(c: _Config) -> dict[str, Any]:
    return _llama_like(
        c,
        tie_word_embeddings=c.bool("tie_word_embeddings", default=True),
        activation=c.name("hidden_activation", "hidden_act", default="gelu_pytorch_tanh"),
        embedding_scale=True,
    )


def _softcap(c: _Config, key: str) -> float | None:
    """A soft-capping constant (``cap`` in ``cap * tanh(x / cap)``): a positive finite number, or None."""
    value = c.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_SIZE:
        got = _digits(value) if isinstance(value, int) and not isinstance(value, bool) else f"{value!r:.60}"
        raise LLMViewerError(
            f"{c.origin}: field {key!r} must be a positive number or null (at most {MAX_SIZE}), got {got}"
        )
    return float(value)


def _gemma2(c: _Config) -> dict[str, Any]:
    """Gemma-2: sliding and full layers alternate; four norms per layer; the logits and (in every layer)
    the attention scores are soft-capped (``final_logit_softcapping``, ``attn_logit_softcapping``)."""
    spec = _gemma(c)
    spec["norms_per_layer"] = 4
    spec.update(_sliding(c, spec["num_layers"], every_layer=False))
    spec.update(final_logit_softcap=_softcap(c, "final_logit_softcapping"))
    spec.update(attn_logit_softcap=_softcap(c, "attn_logit_softcapping"))
    return spec


def _gemma3_text(c: _Config) -> dict[str, Any]:
    """Gemma-3 text model: Gemma-2 block with q/k RMSNorms; sliding layers from ``layer_types`` or,
    when absent, ``sliding_window_pattern`` (transformers' default 6: layer i is full iff (i+1) % 6 == 0).
    ``final_logit_softcapping`` caps the logits when set (null in the published configs);
    ``attn_logit_softcapping`` is not applied by transformers' Gemma-3 attention and is not read."""
    spec = _gemma(c)
    spec.update(norms_per_layer=4, qk_norm=True)
    spec["final_logit_softcap"] = _softcap(c, "final_logit_softcapping")
    num_layers = spec["num_layers"]
    window = c.int("sliding_window", default=4096)
    layer_types = _layer_types(c, num_layers)
    if layer_types is None:
        pattern = c.int("sliding_window_pattern", default=6)
        layer_types = ["full_attention" if (i + 1) % pattern == 0 else "sliding_attention" for i in range(num_layers)]
    spec.update(
        sliding_window=window, mixer_types=["sliding" if t == "sliding_attention" else "full" for t in layer_types]
    )
    return spec


GEMMA3_TEXT_DEFAULTS = {
    "vocab_size": 262208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "sliding_window": 4096,
    "sliding_window_pattern": 6, "tie_word_embeddings": True, "hidden_activation": "gelu_pytorch_tanh",
}  # fmt: skip
"""transformers' documented ``Gemma3TextConfig`` defaults, for the fields a sparse ``text_config`` omits."""


def _gemma3(c: _Config) -> dict[str, Any]:
    """Gemma-3 multimodal wrapper: the text model is analysed (its ``text_config`` over the
    documented Gemma3TextConfig defaults); the vision tower is not part of the decoder's counts."""
    text = c.get("text_config")
    if not isinstance(text, dict):
        raise LLMViewerError(f"{c.origin}: model_type 'gemma3' needs a 'text_config' object, got {text!r}")
    spec = _gemma3_text(_Config({**GEMMA3_TEXT_DEFAULTS, **text}, c.origin + " (text_config)"))
    vision = c.get("vision_config")
    if isinstance(vision, dict):
        v = _Config(vision, c.origin + " (vision_config)")
        spec["vision"] = VisionEncoder(
            layers=v.int("num_hidden_layers"),
            hidden_size=v.int("hidden_size"),
            intermediate_size=v.int("intermediate_size"),
            heads=v.int("num_attention_heads"),
            patch_size=v.int("patch_size"),
            image_size=v.int("image_size"),
            tokens_per_image=c.int("mm_tokens_per_image", default=256),
            text_hidden_size=spec["hidden_size"],
            channels=v.int("num_channels", default=3),
        )
    return spec


def _qwen3_vl(c: _Config) -> dict[str, Any]:
    """Qwen3-VL multimodal wrapper: its text model (Qwen3 layout, q/k norms) is analysed; the word
    embeddings are tied as the top-level ``tie_word_embeddings`` says (transformers reads it there)."""
    text = c.get("text_config")
    if not isinstance(text, dict):
        raise LLMViewerError(f"{c.origin}: model_type 'qwen3_vl' needs a 'text_config' object, got {text!r}")
    tie = c.bool("tie_word_embeddings", default=False)
    spec = _qwen3(_Config({**text, "tie_word_embeddings": tie}, c.origin + " (text_config)"), sliding=None)
    spec["vision"] = _qwen_vl_vision(c)
    return spec


def _qwen_vl_vision(c: _Config) -> VisionEncoder | None:
    """The Qwen3-VL-style vision tower of a wrapper's ``vision_config`` (Qwen3-VL, Qwen3.5), or None."""
    vision = c.get("vision_config")
    if not isinstance(vision, dict):
        return None
    v = _Config(vision, c.origin + " (vision_config)")
    positions, patch, merge = v.int("num_position_embeddings"), v.int("patch_size"), v.int("spatial_merge_size")
    grid = int(round(positions**0.5))
    if grid * grid != positions or grid % merge:
        raise LLMViewerError(
            f"{c.origin}: vision_config num_position_embeddings ({positions}) must be a square grid whose side"
            f" is a multiple of spatial_merge_size ({merge})"
        )
    deepstack = v.get("deepstack_visual_indexes", default=[])
    if not isinstance(deepstack, list):
        raise LLMViewerError(
            f"{c.origin}: vision_config deepstack_visual_indexes must be a list, got {deepstack!r:.60}"
        )
    return VisionEncoder(
        layers=v.int("depth"),
        hidden_size=v.int("hidden_size"),
        intermediate_size=v.int("intermediate_size"),
        heads=v.int("num_heads"),
        patch_size=patch,
        image_size=grid * patch,  # the reference image: the learned position grid, unresized
        tokens_per_image=(grid // merge) ** 2,
        text_hidden_size=v.int("out_hidden_size"),
        channels=v.int("in_channels", default=3),
        style="qwen3_vl",
        merge=merge,
        temporal_patch=v.int("temporal_patch_size", default=2),
        deepstack=len(deepstack),
        positions=positions,
    )


def _mistral3(c: _Config) -> dict[str, Any]:
    """Mistral-Small-3.1 (``mistral3``) multimodal wrapper: its Mistral text model is analysed. The
    checkpoint has its own ``lm_head`` (``text_config`` has no ``tie_word_embeddings``: Mistral's default
    False); transformers 5.23 builds it tied from a top-level default instead (see the torch test)."""
    text = c.get("text_config")
    if not isinstance(text, dict):
        raise LLMViewerError(f"{c.origin}: model_type 'mistral3' needs a 'text_config' object, got {text!r}")
    spec = _mistral(_Config(text, c.origin + " (text_config)"))
    vision = c.get("vision_config")
    if isinstance(vision, dict) and vision.get("model_type", "pixtral") == "pixtral":
        v = _Config(vision, c.origin + " (vision_config)")
        patch, size, merge = v.int("patch_size"), v.int("image_size"), c.int("spatial_merge_size", default=2)
        if size % (patch * merge):
            raise LLMViewerError(
                f"{c.origin}: vision_config image_size ({size}) is not a multiple of patch_size x spatial_merge_size"
                f" ({patch} x {merge})"
            )
        side = size // (patch * merge)  # image tokens per row after merging
        spec["vision"] = VisionEncoder(
            layers=v.int("num_hidden_layers"),
            hidden_size=v.int("hidden_size"),
            intermediate_size=v.int("intermediate_size"),
            heads=v.int("num_attention_heads"),
            patch_size=patch,
            image_size=size,
            tokens_per_image=side * side + side,  # merged patches, plus one [IMG_BREAK]/[IMG_END] per row
            text_hidden_size=spec["hidden_size"],
            channels=v.int("num_channels", default=3),
            style="pixtral",
            merge=merge,
        )
    return spec


def _olmo2(c: _Config) -> dict[str, Any]:
    """OLMo-2: Llama shapes, norms after each sublayer (two per layer), q/k RMSNorm over all heads."""
    return _llama_like(c, qk_norm=True, qk_norm_per_head=False)


def _layer_types(
    c: _Config, num_layers: int, valid: tuple[str, ...] = ("sliding_attention", "full_attention")
) -> list[Any] | None:
    """The config's ``layer_types``, one of ``valid`` per layer (None when the config has none)."""
    layer_types = c.get("layer_types")
    if layer_types is None:
        return None
    if not isinstance(layer_types, list) or len(layer_types) != num_layers:
        got = str(len(layer_types)) if isinstance(layer_types, list) else repr(layer_types)
        raise LLMViewerError(
            f"{c.origin}: field 'layer_types' has {got:.60} entries for {num_layers} layers"
            " (valid: a list, one per layer)"
        )
    bad = sorted({repr(t) for t in layer_types if t not in valid})
    if bad:
        raise LLMViewerError(f"{c.origin}: field 'layer_types' has {', '.join(bad):.80}; valid: {', '.join(valid)}")
    return layer_types


def _gpt_oss(c: _Config) -> dict[str, Any]:
    """gpt-oss: attention with biases and per-head sinks, sliding and full layers from ``layer_types``
    (transformers' default when absent: alternating, sliding first), every layer MoE with biased
    experts of width ``intermediate_size`` and a biased router; no shared expert."""
    spec = _llama_like(c, mlp_bias=True, attention_sinks=True, router_bias=True)
    num_layers = spec["num_layers"]
    types = _layer_types(c, num_layers)
    if types is None:
        types = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(num_layers)]
    spec.update(
        sliding_window=c.int("sliding_window", default=128),
        mixer_types=["sliding" if t == "sliding_attention" else "full" for t in types],
    )
    spec.update(
        **_experts(c, ("num_local_experts",), ("num_experts_per_tok", "experts_per_token")),
        moe_intermediate_size=spec["intermediate_size"],
        mlp_types=["moe"] * num_layers,
    )
    return spec


def _glm4_moe(c: _Config) -> dict[str, Any]:
    """GLM-4.5/4.6/4.7: q/k/v biases (``attention_bias``), optional per-head q/k norm (``use_qk_norm``),
    partial rotary; the first ``first_k_dense_replace`` layers dense, then MoE with ``n_shared_experts``
    shared experts of width ``moe_intermediate_size``. The multi-token-prediction layer is not built."""
    spec = _llama_like(c, o_bias=False, qk_norm=c.bool("use_qk_norm", default=False))
    spec["rotary_dim"] = int(spec["head_dim"] * c.fraction("partial_rotary_factor", default=0.5))
    num_layers = spec["num_layers"]
    first_dense = c.get("first_k_dense_replace", default=1)
    if isinstance(first_dense, bool) or not isinstance(first_dense, int) or not 0 <= first_dense <= num_layers:
        raise LLMViewerError(
            f"{c.origin}: field 'first_k_dense_replace' is {first_dense!r}; valid: an integer in 0..{num_layers}"
        )
    shared = c.count("n_shared_experts", default=1)
    spec.update(
        **_experts(c, ("n_routed_experts",), ("num_experts_per_tok",)),
        moe_intermediate_size=c.int("moe_intermediate_size"),
        shared_expert_intermediate_size=shared * c.int("moe_intermediate_size"),
        mlp_types=["dense"] * first_dense + ["moe"] * (num_layers - first_dense),
    )
    return spec


def _opt(c: _Config) -> dict[str, Any]:
    hidden = c.int("hidden_size")
    if c.int("word_embed_proj_dim", default=hidden) != hidden:
        raise LLMViewerError(
            f"{c.origin}: OPT models whose word_embed_proj_dim differs from hidden_size (OPT-350m) are not supported"
        )
    bias = c.bool("enable_bias", default=True)
    return dict(
        **_common(c) | dict(tie_word_embeddings=c.bool("tie_word_embeddings", default=True)),
        **_attention(c),
        intermediate_size=c.int("ffn_dim"),
        qkv_bias=bias,
        o_bias=bias,
        mlp_bias=bias,
        mlp_gated=False,
        activation=c.name("activation_function", default="relu"),
        norm="layer",
        learned_positions=c.int("max_position_embeddings") + 2,  # OPT offsets positions by 2
    )


def _gptj(c: _Config) -> dict[str, Any]:
    hidden = c.int("n_embd", "hidden_size")
    nh = c.int("n_head", "num_attention_heads")
    _check_head_size(c, hidden, nh)
    return dict(
        num_layers=c.int("n_layer", "num_hidden_layers"),
        vocab_size=c.int("vocab_size"),
        tie_word_embeddings=c.bool("tie_word_embeddings", default=False),
        hidden_size=hidden,
        num_heads=nh,
        num_kv_heads=nh,
        head_dim=hidden // nh,
        intermediate_size=c.int("n_inner", default=4 * hidden),
        mlp_bias=True,
        lm_head_bias=True,
        mlp_gated=False,
        activation=c.name("activation_function", default="gelu_new"),
        norm="layer",
        norms_per_layer=1,
        parallel_block=True,
        rotary_dim=c.int("rotary_dim", default=hidden // nh),
    )


def _gpt_neox(c: _Config) -> dict[str, Any]:
    spec = dict(**_common(c), **_attention(c))
    bias = c.bool("attention_bias", default=True)
    spec.update(
        intermediate_size=c.int("intermediate_size"),
        qkv_bias=bias,
        o_bias=bias,
        mlp_bias=True,
        mlp_gated=False,
        activation=c.name("hidden_act", default="gelu"),
        norm="layer",
        parallel_block=c.bool("use_parallel_residual", default=True),
        rotary_dim=int(spec["head_dim"] * c.fraction("rotary_pct", default=0.25)),
    )
    return spec


def _falcon(c: _Config) -> dict[str, Any]:
    hidden = c.int("hidden_size", "n_embd")
    nh = c.int("num_attention_heads", "n_head")
    _check_head_size(c, hidden, nh)
    new_arch = c.bool("new_decoder_architecture", default=False)
    if new_arch:
        nkv = c.int("num_kv_heads", default=nh)
    else:
        nkv = 1 if c.bool("multi_query", default=True) else nh
    if c.bool("alibi", default=False):
        raise LLMViewerError(f"{c.origin}: Falcon with ALiBi positions is not supported")
    bias = c.bool("bias", default=False)
    parallel = c.bool("parallel_attn", default=True)
    norms = 1 if parallel else 2
    if new_arch:
        norms = c.int("num_ln_in_parallel_attn", default=2)
    return dict(
        num_layers=c.int("num_hidden_layers", "n_layer"),
        vocab_size=c.int("vocab_size"),
        tie_word_embeddings=c.bool("tie_word_embeddings", default=True),
        hidden_size=hidden,
        num_heads=nh,
        num_kv_heads=nkv,
        head_dim=c.int("head_dim", default=hidden // nh),
        intermediate_size=c.int("ffn_hidden_size", default=4 * hidden),
        qkv_bias=bias,
        o_bias=bias,
        mlp_bias=bias,
        mlp_gated=False,
        activation=c.name("activation", default="gelu"),
        norm="layer",
        norms_per_layer=norms,
        parallel_block=parallel or new_arch,
        rotary_dim=c.int("head_dim", default=hidden // nh),
    )


def _deepseek_v3(c: _Config) -> dict[str, Any]:
    """DeepSeek-V2/V3 (and Kimi-K2): MLA (``q_lora_rank`` null = plain q_proj), the first
    ``first_k_dense_replace`` layers dense, then MoE on every ``moe_layer_freq``-th layer."""
    spec = dict(**_common(c), **_attention(c))
    num_layers = spec["num_layers"]
    first_dense = c.get("first_k_dense_replace", default=0)
    if isinstance(first_dense, bool) or not isinstance(first_dense, int) or not 0 <= first_dense <= num_layers:
        raise LLMViewerError(
            f"{c.origin}: field 'first_k_dense_replace' is {first_dense!r}; valid: an integer in 0..{num_layers}"
        )
    freq = c.int("moe_layer_freq", default=1)
    # MoE on layers i >= first_k_dense_replace with i % moe_layer_freq == 0 (transformers' rule)
    moe_layers = ["moe" if i >= first_dense and i % freq == 0 else "dense" for i in range(num_layers)]
    shared = c.count("n_shared_experts", default=0)
    spec.update(
        intermediate_size=c.int("intermediate_size"),
        activation=c.name("hidden_act", default="silu"),
        qkv_bias=c.bool("attention_bias", default=False),
        o_bias=c.bool("attention_bias", default=False),
        **_experts(c, ("n_routed_experts",), ("num_experts_per_tok",)),
        moe_intermediate_size=c.int("moe_intermediate_size"),
        shared_expert_intermediate_size=shared * c.int("moe_intermediate_size"),
        mlp_types=moe_layers,
        mixer_types=["mla"] * num_layers,
        q_lora_rank=c.int("q_lora_rank", default=0),
        kv_lora_rank=c.int("kv_lora_rank"),
        qk_nope_head_dim=c.int("qk_nope_head_dim"),
        qk_rope_head_dim=c.int("qk_rope_head_dim"),
        v_head_dim=c.int("v_head_dim"),
    )
    spec["rotary_dim"] = spec["qk_rope_head_dim"]
    return spec


def _hybrid_layer_types(c: _Config, num_layers: int) -> list[str]:
    """Per-layer mixer kinds of a Qwen3-Next/Qwen3.5 stack: ``layer_types`` when the config has it,
    else derived as transformers does from ``full_attention_interval`` (layer i is
    ``full_attention`` iff (i+1) % interval == 0, the others ``linear_attention``)."""
    layer_types = c.get("layer_types")
    if layer_types is None:
        interval = c.int("full_attention_interval", default=4)
        if interval > num_layers:
            raise LLMViewerError(
                f"{c.origin}: field 'full_attention_interval' is {interval}; valid: 1..{num_layers} (num_hidden_layers)"
            )
        return ["full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(num_layers)]
    if not isinstance(layer_types, list) or len(layer_types) != num_layers:
        got = len(layer_types) if isinstance(layer_types, list) else repr(layer_types)
        raise LLMViewerError(
            f"{c.origin}: field 'layer_types' has {got} entries for {num_layers} layers (valid: a list, one per layer)"
        )
    bad = sorted({str(t) for t in layer_types if t not in ("full_attention", "linear_attention")})
    if bad:
        raise LLMViewerError(
            f"{c.origin}: field 'layer_types' has {', '.join(bad)}; valid: full_attention, linear_attention"
        )
    return layer_types


def _qwen3_next(c: _Config) -> dict[str, Any]:
    """Qwen3-Next / Qwen3.5 text model: gated DeltaNet linear-attention layers between output-gated
    full-attention layers (q/k norms, partial rotary), the pattern from ``layer_types`` or
    ``full_attention_interval``; MLPs MoE (``num_experts``, with a sigmoid-gated shared expert) on every
    ``decoder_sparse_step``-th layer not in ``mlp_only_layers``, dense otherwise (Qwen3.5-27B: no experts).
    The multi-token-prediction layer (``mtp_num_hidden_layers``) is not built."""
    if c.get("intermediate_size") is None and c.count("num_experts"):
        # MoE-only stacks (Qwen3.5-MoE) have no dense width; a dense layer (mlp_only_layers) then needs one
        if "dense" in _moe_layers(c, c.int("num_hidden_layers")):
            c.int("intermediate_size")  # required: one clear line
        c.raw = {**c.raw, "intermediate_size": c.int("moe_intermediate_size")}
    spec = _llama_like(c, qk_norm=True, attn_output_gate=c.bool("attn_output_gate", default=True))
    num_layers = spec["num_layers"]
    rope = _rope_parameters(c)
    factor = rope.get("partial_rotary_factor", c.get("partial_rotary_factor", 0.25))
    spec["rotary_dim"] = int(
        spec["head_dim"]
        * _Config({"partial_rotary_factor": factor}, c.origin).fraction("partial_rotary_factor", default=0.25)
    )
    types = _hybrid_layer_types(c, num_layers)
    spec["mixer_types"] = ["linear" if t == "linear_attention" else "full" for t in types]
    if "linear_attention" in types:
        spec["linear_mixer"] = GatedDeltaNet(
            key_heads=c.int("linear_num_key_heads"),
            value_heads=c.int("linear_num_value_heads"),
            key_head_dim=c.int("linear_key_head_dim"),
            value_head_dim=c.int("linear_value_head_dim"),
            conv_kernel=c.int("linear_conv_kernel_dim"),
        )
        if spec["linear_mixer"].value_heads % spec["linear_mixer"].key_heads:
            raise LLMViewerError(
                f"{c.origin}: linear_num_value_heads ({spec['linear_mixer'].value_heads}) is not a multiple of"
                f" linear_num_key_heads ({spec['linear_mixer'].key_heads})"
            )
    if c.count("num_experts"):
        spec.update(
            **_experts(c, ("num_experts",), ("num_experts_per_tok",)),
            moe_intermediate_size=c.int("moe_intermediate_size"),
            shared_expert_intermediate_size=c.count("shared_expert_intermediate_size"),
            shared_expert_gate=bool(c.count("shared_expert_intermediate_size")),
            mlp_types=_moe_layers(c, num_layers),
        )
        if "dense" in spec["mlp_types"]:
            spec["intermediate_size"] = c.int("intermediate_size")
    return spec


def _rope_parameters(c: _Config) -> dict[str, Any]:
    """The config's ``rope_parameters`` object ({} when absent)."""
    rope = c.get("rope_parameters", default={})
    if not isinstance(rope, dict):
        raise LLMViewerError(f"{c.origin}: field 'rope_parameters' is {rope!r:.60}; valid: an object or null")
    return rope


def _text_of(c: _Config, model_type: str) -> _Config:
    """The ``text_config`` of a multimodal wrapper, with the wrapper's ``tie_word_embeddings``."""
    text = c.get("text_config")
    if not isinstance(text, dict):
        raise LLMViewerError(f"{c.origin}: model_type {model_type!r} needs a 'text_config' object, got {text!r:.60}")
    tie = c.bool("tie_word_embeddings", default=False)
    return _Config({**text, "tie_word_embeddings": text.get("tie_word_embeddings", tie)}, c.origin + " (text_config)")


def _qwen3_5(c: _Config) -> dict[str, Any]:
    """Qwen3.5 (``qwen3_5``, ``qwen3_5_moe``) multimodal wrapper: its text model, a Qwen3-Next stack
    (see :func:`_qwen3_next`), is analysed; the vision tower, Qwen3-VL's without deepstack mergers, is
    reported apart (:class:`VisionEncoder`, style ``qwen3_vl``)."""
    spec = _qwen3_next(_text_of(c, str(c.raw.get("model_type"))))
    spec["vision"] = _qwen_vl_vision(c)
    return spec


def _llama4_text(c: _Config) -> dict[str, Any]:
    """Llama-4 text model: attention layers typed by ``layer_types``, else as transformers derives them
    from ``no_rope_layers`` (or one NoPE layer every ``no_rope_layer_interval``): rotary layers are
    ``chunked_attention`` over blocks of ``attention_chunk_size`` tokens, NoPE layers full attention
    (with attention-temperature scaling). MoE (``num_local_experts``, top ``num_experts_per_tok``, plus a
    shared expert of ``intermediate_size``) on ``moe_layers``, else every ``interleave_moe_layer_step``-th
    layer; the other layers dense with ``intermediate_size_mlp``. ``use_qk_norm``: weightless L2 norm of
    q and k on the rotary layers. transformers runs every expert on every token (see the torch test)."""
    spec = _llama_like(c)
    num_layers = spec["num_layers"]
    no_rope = c.get("no_rope_layers")
    if not no_rope:  # transformers: an empty list means the default
        interval = c.int("no_rope_layer_interval", default=4)
        no_rope = [int((i + 1) % interval != 0) for i in range(num_layers)]
    if not isinstance(no_rope, list) or len(no_rope) != num_layers or any(x not in (0, 1) for x in no_rope):
        got = f"{len(no_rope)} entries" if isinstance(no_rope, list) else repr(no_rope)
        raise LLMViewerError(
            f"{c.origin}: field 'no_rope_layers' has {got:.60} for {num_layers} layers (valid: one 0 or 1 per layer)"
        )
    layer_types = c.get("layer_types")
    if layer_types is None:
        layer_types = ["chunked_attention" if r else "full_attention" for r in no_rope]
    if not isinstance(layer_types, list) or len(layer_types) != num_layers:
        got = len(layer_types) if isinstance(layer_types, list) else repr(layer_types)
        raise LLMViewerError(
            f"{c.origin}: field 'layer_types' has {got} entries for {num_layers} layers (valid: a list, one per layer)"
        )
    if any(t not in ("chunked_attention", "full_attention") for t in layer_types):
        raise LLMViewerError(f"{c.origin}: field 'layer_types' may hold only chunked_attention and full_attention")
    if any((t == "chunked_attention") != bool(r) for t, r in zip(layer_types, no_rope, strict=True)):
        raise LLMViewerError(
            f"{c.origin}: fields 'layer_types' and 'no_rope_layers' disagree; supported: chunked attention exactly"
            " on the rotary layers and full attention on the NoPE layers (as transformers derives them)"
        )
    spec.update(
        attention_chunk=c.int("attention_chunk_size", default=8192) if "chunked_attention" in layer_types else None,
        mixer_types=["chunked" if t == "chunked_attention" else "full" for t in layer_types],
        nope_full_layers=True,  # the full-attention layers are the NoPE layers (checked above)
        qk_l2_norm=c.bool("use_qk_norm", default=True),
        rotary_dim=spec["head_dim"],
    )
    moe_layers = c.get("moe_layers")
    if moe_layers is None:
        step = c.int("interleave_moe_layer_step", default=1)
        moe = set(range(step - 1, num_layers, step))
    else:
        if not isinstance(moe_layers, list) or any(
            isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < num_layers for i in moe_layers
        ):
            raise LLMViewerError(
                f"{c.origin}: field 'moe_layers' must list layer indices in 0..{num_layers - 1}, got {moe_layers!r:.60}"
            )
        moe = set(moe_layers)
    inter = spec["intermediate_size"]
    spec.update(
        **_experts(c, ("num_local_experts",), ("num_experts_per_tok",)),
        moe_intermediate_size=inter,
        shared_expert_intermediate_size=inter,
        mlp_types=["moe" if i in moe else "dense" for i in range(num_layers)],
    )
    if len(moe) < num_layers:
        spec["intermediate_size"] = c.int("intermediate_size_mlp")
    return spec


def _gemma4_text(c: _Config) -> dict[str, Any]:
    """Gemma-4 text model: sliding and full attention layers from ``layer_types``; full layers with their
    own ``global_head_dim`` and ``num_global_key_value_heads`` and, with ``attention_k_eq_v``, no v_proj
    (V from the key projection); q/k RMSNorms and a weightless v norm; rotary per layer type
    (``rope_parameters``: full layers rotate ``partial_rotary_factor`` of their head); seven RMSNorms per
    layer; with ``enable_moe_block`` a dense MLP AND an MoE block (``num_experts``, ``top_k_experts``,
    ``moe_intermediate_size``; router with learned scales) in every layer; the logits soft-capped
    (``final_logit_softcapping``). Per-layer inputs and KV sharing (small Gemma-4) are refused."""
    for key in ("hidden_size_per_layer_input", "num_kv_shared_layers"):
        if c.count(key, default=0):
            raise LLMViewerError(
                f"{c.origin}: field {key!r} is {c.get(key)}; only 0 is supported (per-layer inputs and KV sharing"
                " of the small Gemma-4 models are not modelled yet)"
            )
    spec = _gemma(c)
    num_layers = spec["num_layers"]
    spec.update(norms_per_layer=7, qk_norm=True, v_norm=True)
    spec["final_logit_softcap"] = _softcap(c, "final_logit_softcapping")
    types = c.get("layer_types")
    if not isinstance(types, list) or len(types) != num_layers:
        got = len(types) if isinstance(types, list) else repr(types)
        raise LLMViewerError(
            f"{c.origin}: field 'layer_types' has {got} entries for {num_layers} layers (valid: a list, one per layer)"
        )
    if any(t not in ("sliding_attention", "full_attention") for t in types):
        raise LLMViewerError(f"{c.origin}: field 'layer_types' may hold only sliding_attention and full_attention")
    sliding = sum(1 for t in types if t == "sliding_attention")
    spec["mixer_types"] = ["sliding" if t == "sliding_attention" else "full" for t in types]
    if sliding:
        spec["sliding_window"] = c.int("sliding_window")
    rope = _rope_parameters(c)

    def rotary(kind: str, head_dim: int) -> int:
        params = rope.get(kind) if isinstance(rope.get(kind), dict) else {}
        factor = _Config(params, c.origin + f" (rope_parameters.{kind})").fraction("partial_rotary_factor", default=1.0)
        return int(head_dim * factor)

    spec["rotary_dim"] = rotary("sliding_attention", spec["head_dim"])
    if sliding < num_layers:
        head_dim = c.int("global_head_dim", default=spec["head_dim"])
        kv_heads = c.int("num_global_key_value_heads", default=spec["num_kv_heads"])
        if spec["num_heads"] % kv_heads:
            raise LLMViewerError(
                f"{c.origin}: num_attention_heads ({spec['num_heads']}) is not a multiple of"
                f" num_global_key_value_heads ({kv_heads})"
            )
        spec["full_attention_kind"] = Attention(
            spec["num_heads"],
            kv_heads,
            head_dim,
            k_eq_v=c.bool("attention_k_eq_v", default=False),
            rotary_dim=rotary("full_attention", head_dim),
        )
    if c.bool("enable_moe_block", default=False):
        spec.update(
            **_experts(c, ("num_experts",), ("top_k_experts", "num_experts_per_tok")),
            moe_intermediate_size=c.int("moe_intermediate_size"),
            mlp_types=["dense+moe"] * num_layers,
            router_scales=True,
        )
    return spec


GEMMA4_SOFT_TOKENS = 280
"""transformers' Gemma-4 image processor default ``max_soft_tokens``: image tokens per image at most."""


def _gemma4(c: _Config) -> dict[str, Any]:
    """Gemma-4 multimodal wrapper: its text model (:func:`_gemma4_text`) is analysed; the vision tower is
    reported apart (:class:`VisionEncoder`, style ``gemma4``) for the largest square image the processor
    keeps whole: at most ``vision_soft_tokens_per_image`` tokens of ``pooling_kernel_size``² patches, a side
    a multiple of ``pooling_kernel_size x patch_size`` pixels (280 tokens, 3 x 16 px: 768 px, 256 tokens)."""
    spec = _gemma4_text(_text_of(c, "gemma4"))
    vision = c.get("vision_config")
    if isinstance(vision, dict):
        v = _Config(vision, c.origin + " (vision_config)")
        patch, pool = v.int("patch_size"), v.int("pooling_kernel_size", default=3)
        budget = c.int(
            "vision_soft_tokens_per_image", default=v.int("default_output_length", default=GEMMA4_SOFT_TOKENS)
        )
        side = math.isqrt(budget)  # pooled tokens a side of the largest square within the token budget
        heads, kv_heads = (
            v.int("num_attention_heads"),
            v.int("num_key_value_heads", default=v.get("num_attention_heads")),
        )
        if heads % kv_heads:
            raise LLMViewerError(
                f"{c.origin}: vision_config num_attention_heads ({heads}) is not a multiple of"
                f" num_key_value_heads ({kv_heads})"
            )
        spec["vision"] = VisionEncoder(
            layers=v.int("num_hidden_layers"),
            hidden_size=v.int("hidden_size"),
            intermediate_size=v.int("intermediate_size"),
            heads=heads,
            patch_size=patch,
            image_size=side * pool * patch,
            tokens_per_image=side * side,
            text_hidden_size=spec["hidden_size"],
            style="gemma4",
            merge=pool,
            positions=v.int("position_embedding_size", default=10240),
            head_dim=v.int("head_dim", default=v.int("hidden_size") // heads),
            kv_heads=kv_heads,
        )
    return spec


def _llama4(c: _Config) -> dict[str, Any]:
    """Llama-4 multimodal wrapper: its text model (:func:`_llama4_text`) is analysed; the vision tower is
    reported apart, per ``image_size`` tile (:class:`VisionEncoder`, style ``llama4``)."""
    spec = _llama4_text(_text_of(c, "llama4"))
    vision = c.get("vision_config")
    if isinstance(vision, dict):
        v = _Config(vision, c.origin + " (vision_config)")
        patch, size = v.int("patch_size"), v.int("image_size")
        ratio = v.fraction("pixel_shuffle_ratio", default=0.5)
        merge = round(1 / ratio)
        dims = {k: v.int(k) for k in ("projector_input_dim", "projector_output_dim", "vision_output_dim")}
        if abs(merge * ratio - 1) > 1e-9 or size % (patch * merge) or len(set(dims.values())) != 1:
            raise LLMViewerError(
                f"{c.origin}: vision_config is not a supported Llama-4 tower (valid: pixel_shuffle_ratio 1/k with"
                f" image_size a multiple of patch_size x k, and equal projector/vision output widths; got {dims})"
            )
        side = size // (patch * merge)
        spec["vision"] = VisionEncoder(
            layers=v.int("num_hidden_layers"),
            hidden_size=v.int("hidden_size"),
            intermediate_size=v.int("intermediate_size"),
            heads=v.int("num_attention_heads"),
            patch_size=patch,
            image_size=size,
            tokens_per_image=side * side,
            text_hidden_size=spec["hidden_size"],
            channels=v.int("num_channels", default=3),
            style="llama4",
            merge=merge,
            adapter_dim=dims["vision_output_dim"],
        )
    return spec


NEMOTRON_H_BLOCKS = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}
"""Characters of Nemotron-H's ``hybrid_override_pattern``: one block each."""


def _nemotron_h(c: _Config) -> dict[str, Any]:
    """Nemotron-H: a stack of single-sublayer blocks, one character of ``hybrid_override_pattern`` each
    (``M`` Mamba2, ``*`` attention, ``-`` a non-gated MLP, ``E`` MoE with non-gated experts and a shared
    expert); each block has one RMSNorm and one residual add; ``num_hidden_layers`` counts blocks."""
    num_layers = c.int("num_hidden_layers")
    pattern = c.get("hybrid_override_pattern")
    if not isinstance(pattern, str) or len(pattern) != num_layers:
        got = f"{len(pattern)} characters" if isinstance(pattern, str) else repr(pattern)
        raise LLMViewerError(
            f"{c.origin}: field 'hybrid_override_pattern' has {got:.60} for {num_layers} layers"
            " (valid: a string with one of M, *, -, E per layer)"
        )
    bad = sorted(set(pattern) - set(NEMOTRON_H_BLOCKS))
    if bad:
        raise LLMViewerError(
            f"{c.origin}: field 'hybrid_override_pattern' has {', '.join(map(repr, bad))}; valid: M, *, -, E"
        )
    counts = {k: pattern.count(ch) for ch, k in NEMOTRON_H_BLOCKS.items()}
    blocks = [NEMOTRON_H_BLOCKS[ch] for ch in pattern]
    spec = dict(**_common(c), **_attention(c))
    spec["head_dim"] = c.int("head_dim", "attention_head_dim", default=spec["head_dim"])
    spec.update(
        intermediate_size=c.int("intermediate_size"),
        qkv_bias=c.bool("attention_bias", default=False),
        o_bias=c.bool("attention_bias", default=False),
        mlp_bias=c.bool("mlp_bias", default=False),
        mlp_gated=False,
        activation=c.name("mlp_hidden_act", default="relu2"),
        norms_per_layer=1,
        residuals_per_layer=1,
        parallel_block=True,  # one sublayer per block: one tensor-parallel all-reduce per block
        mixer_types=[{"mamba": "linear", "attention": "full"}.get(b) for b in blocks],
        mlp_types=[{"mlp": "dense", "moe": "moe"}.get(b) for b in blocks],
        rotary_dim=0,  # Nemotron-H attention has no rotary embedding
    )
    if counts["mamba"]:
        heads = c.int("mamba_num_heads")
        spec.update(
            linear_mixer=Mamba2(
                heads=heads,
                head_dim=c.int("mamba_head_dim"),
                state_size=c.int("ssm_state_size"),
                groups=c.int("n_groups"),
                conv_kernel=c.int("conv_kernel"),
                conv_bias=c.bool("use_conv_bias", default=True),
                proj_bias=c.bool("use_bias", default=False),
                state_bits=32 if c.name("mamba_ssm_cache_dtype", default="float32") == "float32" else 16,
            ),
        )
        if heads % c.int("n_groups"):
            raise LLMViewerError(f"{c.origin}: mamba_num_heads ({heads}) is not a multiple of n_groups")
    if counts["moe"]:
        spec.update(
            **_experts(c, ("n_routed_experts",), ("num_experts_per_tok",)),
            moe_intermediate_size=c.int("moe_intermediate_size"),
            shared_expert_intermediate_size=c.count("moe_shared_expert_intermediate_size"),
        )
    return spec


ADAPTERS = {
    "llama": _llama,
    "mistral": _mistral,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3,
    "qwen3_moe": _qwen3_moe,
    "gemma": _gemma,
    "gemma2": _gemma2,
    "phi3": _phi3,
    "opt": _opt,
    "gptj": _gptj,
    "gpt_neox": _gpt_neox,
    "falcon": _falcon,
    "deepseek_v2": _deepseek_v3,
    "deepseek_v3": _deepseek_v3,
    "kimi_k2": _deepseek_v3,  # the DeepSeek-V3 architecture under another name
    "gemma3_text": _gemma3_text,
    "gemma3": _gemma3,  # multimodal wrapper: its text model
    "qwen3_vl": _qwen3_vl,  # multimodal wrapper: its text model
    "mistral3": _mistral3,  # multimodal wrapper: its text model
    "olmo2": _olmo2,
    "gpt_oss": _gpt_oss,
    "glm4_moe": _glm4_moe,
    "qwen3_next": _qwen3_next,
    "qwen3_5": _qwen3_5,  # multimodal wrapper: its text model (a Qwen3-Next stack)
    "qwen3_5_moe": _qwen3_5,
    "nemotron_h": _nemotron_h,
    "llama4": _llama4,  # multimodal wrapper: its text model
    "gemma4": _gemma4,  # multimodal wrapper: its text model
    "gemma4_text": _gemma4_text,
    "llama4_text": _llama4_text,
    "granite": _llama,  # Llama shapes; its muP multipliers scale values, not shapes or OPs
}
"""Supported ``model_type`` values and the adapter that reads each."""


def _check_consistent(spec: dict[str, Any], origin: str) -> None:
    """Refuse shapes that no model can have, naming the field, its value and what is valid."""
    layers = spec["num_layers"]
    experts, top_k = spec.get("num_experts", 0), spec.get("experts_per_token", 0)
    if experts and not 1 <= top_k <= experts:
        raise LLMViewerError(
            f"{origin}: experts per token (num_experts_per_tok) is {top_k}; valid: 1..{experts} (the number of experts)"
        )
    window = spec.get("sliding_window")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window <= 0):
        raise LLMViewerError(f"{origin}: field 'sliding_window' is {window!r}; valid: a positive integer or null")
    for key in ("mixer_types", "mlp_types"):
        if len(spec.get(key) or [None] * layers) != layers:
            raise LLMViewerError(
                f"{origin}: the config's {key} has {len(spec[key])} entries; valid: {layers} (num_hidden_layers)"
            )


def _build_layers(spec: dict[str, Any], origin: str) -> tuple[Layer, ...]:
    """The layer stack of an adapter's result: its per-layer ``mixer_types`` (``full``, ``sliding``,
    ``chunked``, ``linear``, ``mla`` or None; default: ``mla`` for MLA models, else ``full``) and
    ``mlp_types`` (``dense``, ``moe``, ``dense+moe`` or None; default ``dense``), each kind built once
    from the adapter's fields."""
    n = spec["num_layers"]
    nh, nkv, hd, sinks = spec["num_heads"], spec["num_kv_heads"], spec["head_dim"], spec.get("attention_sinks", False)
    mixers: dict[Any, Any] = {None: None}
    mixers["full"] = spec.get("full_attention_kind") or Attention(
        nh, nkv, hd, None, sinks, nope=spec.get("nope_full_layers", False)
    )
    if spec.get("attention_chunk") is not None:
        mixers["chunked"] = Attention(nh, nkv, hd, None, sinks, chunk=spec["attention_chunk"])
    if spec.get("sliding_window") is not None:
        mixers["sliding"] = Attention(nh, nkv, hd, spec["sliding_window"], sinks)
    if spec.get("linear_mixer") is not None:
        mixers["linear"] = spec["linear_mixer"]
    if spec.get("kv_lora_rank"):
        mixers["mla"] = LatentAttention(
            nh,
            *(
                spec.get(k, 0)
                for k in ("q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
            ),
        )
    gated = spec.get("mlp_gated", True)
    dense = DenseMLP(spec["intermediate_size"], gated)
    mlps: dict[Any, Any] = {None: None, "dense": dense}
    if spec.get("num_experts"):
        moe = MoEMLP(
            spec["num_experts"],
            spec["experts_per_token"],
            spec["moe_intermediate_size"],
            spec.get("shared_expert_intermediate_size", 0),
            gated,
        )
        mlps["moe"], mlps["dense+moe"] = moe, replace(moe, beside=dense)
    mixer_types = spec.get("mixer_types") or ["mla" if "mla" in mixers else "full"] * n
    mlp_types = spec.get("mlp_types") or ["dense"] * n
    pairs: dict[tuple[Any, Any], Layer] = {}
    try:
        return tuple(
            pairs.get(key) or pairs.setdefault(key, layer(mixers[key[0]], mlps[key[1]]))
            for key in zip(mixer_types, mlp_types, strict=True)
        )
    except KeyError as e:  # an adapter named a kind whose fields the config lacks
        raise LLMViewerError(f"{origin}: layers of kind {e.args[0]!r} but the config does not describe them") from None


def model_from_config(
    raw: dict[str, Any], name: str = "custom", origin: str = "<config>", arch: str | None = None
) -> ModelSpec:
    """Build a :class:`ModelSpec` from a parsed config.json dictionary. ``arch``: read the config
    with the adapter of that ``model_type`` whatever the config says; the spec then lists in
    ``ignored_fields`` every config field the adapter did not read."""
    if not isinstance(raw, dict):
        raise LLMViewerError(f"{origin}: a config must be a JSON object, got {type(raw).__name__}")
    if arch is not None:
        if arch not in ADAPTERS:
            raise LLMViewerError(f"{origin}: unknown arch {arch!r}; supported: {', '.join(sorted(ADAPTERS))}")
        model_type = arch
    else:
        model_type = raw.get("model_type")
        if model_type is None:
            raise LLMViewerError(
                f"{origin}: config is missing the required field 'model_type' (or name one with arch=/--arch;"
                f" supported: {', '.join(sorted(ADAPTERS))})"
            )
    if not isinstance(model_type, str):
        raise LLMViewerError(
            f"{origin}: field 'model_type' must be a string, got {type(model_type).__name__}; supported: "
            f"{', '.join(sorted(ADAPTERS))}"
        )
    if model_type == "RefinedWebModel":  # Falcon's pre-transformers name
        model_type = "falcon"
    if model_type not in ADAPTERS:
        raise LLMViewerError(
            f"{origin}: unsupported model_type {model_type!r}; supported: {', '.join(sorted(ADAPTERS))}"
            " (a config of the same architecture may be read with arch=/--arch NAME)"
        )
    config = _Config(raw, origin)
    config.arch = arch and model_type
    spec = ADAPTERS[model_type](config)
    _check_consistent(spec, origin)
    spec["layers"] = _build_layers(spec, origin)
    ignored = tuple(sorted(k for k in raw if k not in config.read)) if arch is not None else None
    return ModelSpec(
        name=name,
        model_type=model_type,
        source=origin,
        ignored_fields=ignored,
        **{k: v for k, v in spec.items() if k in _SPEC_FIELDS},
    )


_SPEC_FIELDS = frozenset(f.name for f in fields(ModelSpec))


def shipped_models() -> dict[str, Path]:
    """Names of the models whose config.json ships in ``data/models/``, mapped to their files."""
    return dict(_shipped_index()[0])


def _shipped_index() -> tuple[dict[str, Path], dict[str, str]]:
    """(name -> config path, lower-case name -> name) of the shipped models, listed once per
    change of the models folder (its mtime)."""
    root = data_dir() / MODELS_DIR
    return _list_models(root, root.stat().st_mtime)


@lru_cache(maxsize=8)
def _list_models(root: Path, mtime: float) -> tuple[dict[str, Path], dict[str, str]]:
    found = {p.parent.name: p for p in sorted(root.glob("*/config.json"))}
    return found, {n.lower(): n for n in found}


def _read_json(path: Path) -> Any:
    return read_json(path, "model config")


@lru_cache(maxsize=256)
def _load_path(path: Path, mtime: float, arch: str | None = None) -> ModelSpec:
    name = path.parent.name if path.name == "config.json" else path.stem
    return model_from_config(_read_json(path), name=name, origin=str(path), arch=arch)


_BY_NAME: dict[tuple[str, str | None, str | None], tuple[str, float, ModelSpec]] = {}
"""(name as given, arch, $LLMVIEWER_DATA) -> (config path, its mtime, spec): names already resolved."""
_BY_NAME_MAX = 4096


def load_model(model: str | Path | dict | ModelSpec, arch: str | None = None) -> ModelSpec:
    """Load a model by shipped name (case-insensitive, ``org/`` prefix allowed), by path to a
    config.json or its folder, from a parsed config dictionary, or pass a ModelSpec through.
    ``arch``: read the config as that ``model_type`` (see :func:`model_from_config`)."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, dict):
        return model_from_config(model, name=str(model.get("_name_or_path", "custom")), arch=arch)
    if not isinstance(model, (str, Path)):
        raise LLMViewerError(f"model must be a name, a path or a config dict, got {type(model).__name__}")
    if isinstance(model, str) and not os.path.exists(model):  # a name (one stat), cached by the file's mtime
        memo_key = (model, arch, os.environ.get(DATA_ENV))
        hit = _BY_NAME.get(memo_key)
        if hit is not None:  # the common case: a name met before, its config unchanged (one more stat)
            path, mtime, spec = hit
            try:
                if os.stat(path).st_mtime == mtime:
                    return spec
            except OSError:
                pass  # removed since: the general path below says so
        shipped, lookup = _shipped_index()
        key = model.rsplit("/", 1)[-1].lower()
        if key in lookup:
            found = shipped[lookup[key]]
            try:
                mtime = found.stat().st_mtime
            except OSError:  # removed after the folder was listed
                raise LLMViewerError(f"model {model!r}: {found} is no longer there") from None
            spec = _load_path(found, mtime, arch)
            if len(_BY_NAME) < _BY_NAME_MAX:
                _BY_NAME[memo_key] = (str(found), mtime, spec)
            return spec
        if not model.endswith(".json"):
            raise unknown_name_error("model", model, shipped, "llmviewer models")
    path = Path(model)
    if os.path.lexists(path) and not path.is_dir() and not path.is_file():
        _read_json(path)  # a symlink loop, a device such as /dev/zero, a socket...: one clear line
    if path.is_dir():
        path = path / "config.json"
        if not path.exists():
            raise LLMViewerError(f"{path.parent}: folder has no config.json")
    if path.is_file():
        resolved = path.resolve()
        return _load_path(resolved, resolved.stat().st_mtime, arch)
    if path.suffix == ".json":
        raise LLMViewerError(f"{path}: no such file")
    shipped = shipped_models()
    raise unknown_name_error("model", str(model), shipped, "llmviewer models")
