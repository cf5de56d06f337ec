"""A model as a list of operators, each giving its OPs and bytes for a forward pass.

Counting conventions (one place for every formula):

* A multiply-accumulate is 2 OPs. A linear layer ``y = xW + b`` on ``T`` tokens costs
  ``2*T*in*out`` OPs, plus ``T*out`` for the bias add.
* By default (the speed of light) element-wise operators are ideally fused into their
  neighbours' kernels (``fusion="ideal"``): their activations make no memory pass of their
  own (0 bytes read or written; their OPs and the parameters they read, e.g. a norm's scale,
  still count). With ``fusion="none"`` every operator reads its inputs from and writes its
  outputs to device memory.
* Attention is fused by default (FlashAttention-style): it reads Q and the KV cache once and
  writes only its output. Unfused (``flash_attention=False``) it is ``Q K^T``, softmax and
  ``P V``, each through memory, the score matrix written and read.
* K and V are written to the KV cache by their projections (``store_kv_cache``) and read
  back from it by attention (``load_kv_cache``) for every key a query attends to.
* Element-wise operation costs per element: residual add 1; RMSNorm 4, LayerNorm 7 (per
  element of the normalised vector); rotary embedding 3 per rotated element; softmax 5
  per score (max, subtract, exp, sum, divide); activations relu 1, silu 4, gelu 8, plus 1
  for the gate multiply of a gated MLP; soft-capping ``cap * tanh(x / cap)`` (Gemma's logits and
  Gemma-2's attention scores) 6 (divide, tanh 4, multiply). These are memory-bound in every case
  analysed here. Gemma's logit soft-cap runs on the ``lm_head`` rows (fused into ``lm_head`` by
  default, its own pass over the logits with ``fusion="none"``); the attention soft-cap is fused into
  the attention kernel, or into the softmax pass of unfused attention (its own pass with ``fusion="none"``).
* Attention is causal by default: query ``i`` of a pass scores only the keys up to its own
  position (the lower triangle). With ``causal_attention=False`` it computes the full
  ``new x keys`` score block, as a dense kernel does.
* ``lm_head`` runs on the rows it really computes: ``logits_per_seq`` positions per sequence
  (the last one in prefill), and a calibrated compute efficiency uses those rows too
  (:attr:`Traffic.rows`).
* A tensor-parallel all-reduce moves its tensor at the activation width but at least 16 bits
  (engines reduce FP8/INT8 partial sums in 16 bits).
* Sliding-window layers attend to (and cache) at most ``window`` keys. Chunked-attention layers
  (Llama-4) split the sequence into blocks of ``chunk`` tokens: query ``q`` attends the
  ``(q mod chunk) + 1`` keys of its own block, and the cache holds at most one block.
* MoE expert weights are read once per distinct expert the batch touches (expected value
  under uniform routing), while OPs follow the ``top_k`` experts each token uses.
* Linear-attention and state-space layers (gated DeltaNet, Mamba2) keep a fixed-size state per
  sequence instead of a KV cache: the causal-conv window (at ``kv_bit``) and the recurrent state
  (at the mixer's own width, FP32 in the shipped models). A pass reads the state once (not in a
  prefill from scratch) and writes it once, whatever the context length; their OPs are per token
  (:class:`StateUpdate`), so a decode step costs the same at any context length.
* DeepSeek latent attention caches the compressed latent. Without ``absorb_mla`` (prefill)
  the latent is expanded into per-head K and V; with it (decode) the up-projections are
  folded into the query and output, and attention runs directly on the latent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..arrays import clip, maximum, minimum
from ..specs.workload import Pass, unit_bits

INF = float("inf")
SOFTCAP_OPS = 6
"""OPs per element of a soft-cap ``cap * tanh(x / cap)``: divide, tanh (4: exp, add, subtract, divide), multiply."""
ROLES = ("embedding", "block", "attention", "head")
"""What an operator is: ``embedding`` (token and position lookups, run once per pass),
``block`` (the per-layer projections, norms, MLP, residuals and collectives), ``attention``
(the attention core: scores, softmax and ``P V``, or the fused kernel), ``head`` (final norm
and ``lm_head``, run once per pass)."""
TRAFFIC_FIELDS = ("load_weight", "load_act", "store_act", "load_kv_cache", "store_kv_cache")
"""The parts of an operator's memory traffic (bytes); link traffic is counted apart."""


@dataclass(frozen=True)
class Traffic:
    """OPs and bytes moved by ONE instance of an operator in one forward pass."""

    OPs: Any
    load_weight: Any = 0
    load_act: Any = 0
    store_act: Any = 0
    load_kv_cache: Any = 0
    store_kv_cache: Any = 0
    link_bytes: Any = 0  # bytes each device sends over the device-to-device link
    rows: Any = None  # rows of a matrix product when not the pass's tokens (lm_head, MLA expansion)

    @property
    def memory_access(self) -> Any:
        """Total bytes read and written."""
        return self.load_weight + self.load_act + self.store_act + self.load_kv_cache + self.store_kv_cache


@dataclass(frozen=True)
class Op:
    """An operator of the model. ``count`` is how many instances the whole model runs per pass.

    ``kind`` says which roof applies ("matmul", "fused", "elementwise", "communication");
    ``role`` says what the operator is in the model (one of :data:`ROLES`), so that techniques
    find parts of the model by role, never by name.
    """

    name: str
    kind: str  # "matmul", "fused" or "elementwise"
    count: int

    def traffic(self, p: Pass) -> Traffic:
        """OPs and bytes of one instance (OPs, bytes)."""
        raise NotImplementedError

    def compute_bits(self, p: Pass) -> Any:
        """Operand width of the units that run this op (4, 8, 16, 32), or None for vector units."""
        return None

    def weight_bytes(self, p: Pass) -> Any:
        """Bytes of parameters one instance holds in memory."""
        return 0

    @property
    def params(self) -> int:
        """Parameters one instance holds."""
        return 0

    window: float = INF  # keys attended at most (sliding-window attention)
    role: str = "block"  # see ROLES
    chunk: float = INF  # chunked attention: a query attends only the keys of its own block of ``chunk`` tokens


# --------------------------------------------------------------------------- matmuls


@dataclass(frozen=True)
class Linear(Op):
    """``groups`` independent ``in_f -> out_f`` projections (groups > 1: per-head matrices).

    ``tokens``: "new" (every new token), "logits" (lm_head positions) or "keys" (every cached
    and new token, for expanding MLA latents). ``quantized``: weights at ``w_bit``, else at the
    unquantized width. ``to_kv_cache``: the output is written to the KV cache;
    ``from_kv_cache``: the input is read from it.
    """

    in_f: int = 0
    out_f: int = 0
    bias: bool = False
    groups: int = 1
    tokens: str = "new"
    quantized: bool = True
    to_kv_cache: bool = False
    from_kv_cache: bool = False
    holds_params: bool = True

    def _tokens(self, p: Pass) -> Any:
        if self.tokens == "logits":
            return p.batch * p.logits_per_seq
        if self.tokens == "keys":
            return p.batch * minimum(p.past_tokens + p.new_tokens, self.window)
        return p.tokens

    def _wbytes(self, p: Pass) -> Any:
        return p.w_bytes if self.quantized else p.hi_bytes

    def traffic(self, p: Pass) -> Traffic:
        t = self._tokens(p)
        g = self.groups
        ops = 2 * t * g * self.in_f * self.out_f + (t * g * self.out_f if self.bias else 0)
        inp = t * g * self.in_f
        out = t * g * self.out_f
        weights = g * self.in_f * self.out_f * self._wbytes(p) + (g * self.out_f * p.hi_bytes if self.bias else 0)
        return Traffic(
            OPs=ops,
            load_weight=weights,
            load_act=0 if self.from_kv_cache else inp * p.a_bytes,
            load_kv_cache=inp * p.kv_bytes if self.from_kv_cache else 0,
            store_act=0 if self.to_kv_cache else out * p.a_bytes,
            store_kv_cache=out * p.kv_bytes if self.to_kv_cache else 0,
            rows=None if self.tokens == "new" else t,
        )

    def compute_bits(self, p: Pass) -> Any:
        return maximum(p.a_bits, unit_bits(p.w_bits if self.quantized else p.hi_bits))

    def weight_bytes(self, p: Pass) -> Any:
        if not self.holds_params:
            return 0
        return self.groups * self.in_f * self.out_f * self._wbytes(p) + (
            self.groups * self.out_f * p.hi_bytes if self.bias else 0
        )

    @property
    def params(self) -> int:
        if not self.holds_params:
            return 0
        return self.groups * (self.in_f * self.out_f + (self.out_f if self.bias else 0))


def expected_experts_touched(tokens: Any, num_experts: int, top_k: int) -> Any:
    """Expected number of distinct experts that ``tokens`` tokens route to, each choosing
    ``top_k`` of ``num_experts`` uniformly at random: ``E * (1 - (1 - k/E)**T)``."""
    return num_experts * (1 - (1 - top_k / num_experts) ** tokens)


@dataclass(frozen=True)
class ExpertLinear(Linear):
    """One projection of every routed expert: each token uses ``top_k`` of ``num_experts``."""

    num_experts: int = 1
    top_k: int = 1

    def traffic(self, p: Pass) -> Traffic:
        t = p.tokens
        routed = t * self.top_k
        touched = expected_experts_touched(t, self.num_experts, self.top_k)
        bias = self.out_f if self.bias else 0
        return Traffic(
            OPs=2 * routed * self.in_f * self.out_f + routed * bias,
            load_weight=touched * (self.in_f * self.out_f * p.w_bytes + bias * p.hi_bytes),
            load_act=routed * self.in_f * p.a_bytes,
            store_act=routed * self.out_f * p.a_bytes,
        )

    def weight_bytes(self, p: Pass) -> Any:
        return self.num_experts * (self.in_f * self.out_f * p.w_bytes + (self.out_f * p.hi_bytes if self.bias else 0))

    @property
    def params(self) -> int:
        return self.num_experts * (self.in_f * self.out_f + (self.out_f if self.bias else 0))


# --------------------------------------------------------------------------- attention


def _keys(p: Pass, window: float, chunk: float = INF) -> Any:
    """Keys held per sequence once the pass's tokens are cached (capped by the window). Chunked
    attention: the keys the pass's queries attend, from the start of the first query's chunk."""
    if chunk != INF:
        return p.past_tokens % chunk + p.new_tokens
    return minimum(p.past_tokens + p.new_tokens, window)


def _chunked_pairs(n: Any, chunk: float) -> Any:
    """Causal query-key pairs of positions 0..n-1 under chunked attention: query q sees (q mod chunk) + 1 keys."""
    full, rest = n // chunk, n % chunk
    return full * chunk * (chunk + 1) / 2 + rest * (rest + 1) / 2


def _scores_per_head(p: Pass, window: float, chunk: float = INF) -> Any:
    """Query-key pairs one head of one sequence computes in the pass."""
    if not p.causal_attention:
        return p.new_tokens * _keys(p, window, chunk)
    if chunk != INF:
        return _chunked_pairs(p.past_tokens + p.new_tokens, chunk) - _chunked_pairs(p.past_tokens, chunk)
    # query i (0-based) sees min(past + i + 1, window) keys
    uncapped = clip(window - p.past_tokens, 0, p.new_tokens)
    return (
        uncapped * p.past_tokens
        + uncapped * (uncapped + 1) / 2
        + (p.new_tokens - uncapped) * minimum(window, p.past_tokens + p.new_tokens)
    )


@dataclass(frozen=True)
class AttentionOperands:
    """Shape of attention in one layer: query heads, and the K/V tensors they read.

    ``kv_heads`` K/V heads of ``qk_dim``/``v_dim`` elements. ``kv_in_cache``: K and V are read
    from the KV cache at ``kv_bit`` (else they are activations, as for expanded MLA latents).
    ``values_in_keys``: V is a slice of K (MLA's latent), so reading K reads V too.
    """

    heads: int
    kv_heads: int
    qk_dim: int
    v_dim: int
    kv_in_cache: bool = True
    values_in_keys: bool = False

    def kv_read(self, p: Pass, dim: int, window: float, chunk: float = INF) -> dict[str, Any]:
        elems = p.batch * self.kv_heads * _keys(p, window, chunk) * dim
        return {"load_kv_cache": elems * p.kv_bytes} if self.kv_in_cache else {"load_act": elems * p.a_bytes}

    def compute_bits(self, p: Pass) -> Any:
        return maximum(p.a_bits, unit_bits(p.kv_bits)) if self.kv_in_cache else p.a_bits


@dataclass(frozen=True)
class AttentionMatmul(Op):
    """Unfused attention product: scores ``Q K^T`` (``values=False``) or ``P V`` (``values=True``)."""

    shape: AttentionOperands = None  # type: ignore[assignment]
    values: bool = False
    window: float = INF

    def traffic(self, p: Pass) -> Traffic:
        s = self.shape
        scores = p.batch * s.heads * _scores_per_head(p, self.window, self.chunk)
        dim = s.v_dim if self.values else s.qk_dim
        kv = s.kv_read(p, dim, self.window, self.chunk)
        q_or_out = p.batch * p.new_tokens * s.heads * dim * p.a_bytes
        if self.values:  # read probabilities (and V), write the output
            return Traffic(OPs=2 * scores * dim, store_act=q_or_out, **_add(kv, "load_act", scores * p.a_bytes))
        return Traffic(OPs=2 * scores * dim, store_act=scores * p.a_bytes, **_add(kv, "load_act", q_or_out))

    def compute_bits(self, p: Pass) -> Any:
        return self.shape.compute_bits(p)


def _add(d: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    out = dict(d)
    out[key] = out.get(key, 0) + value
    return out


@dataclass(frozen=True)
class Softmax(Op):
    """Softmax over attention scores (unfused attention only). ``softcap``: the scores are soft-capped
    first (Gemma-2): :data:`SOFTCAP_OPS` more per score, fused into this pass, or under
    ``fusion="none"`` a pass of its own (the scores read and written once more)."""

    heads: int = 0
    window: float = INF
    softcap: bool = False

    def traffic(self, p: Pass) -> Traffic:
        scores = p.batch * self.heads * _scores_per_head(p, self.window, self.chunk)
        passes = 2 if self.softcap and not p.fuse_elementwise else 1
        ops = (5 + (SOFTCAP_OPS if self.softcap else 0)) * scores
        return Traffic(OPs=ops, load_act=passes * scores * p.a_bytes, store_act=passes * scores * p.a_bytes)


@dataclass(frozen=True)
class FusedAttention(Op):
    """FlashAttention-style kernel: scores, softmax and ``P V`` with no score matrix in memory.

    Reads Q once and each key's K and V once per sequence (ideal tiling, with all query tiles
    of a head sharing K/V through on-chip memory), writes only the output.
    """

    shape: AttentionOperands = None  # type: ignore[assignment]
    window: float = INF
    softcap: bool = False  # scores soft-capped in the kernel (Gemma-2): SOFTCAP_OPS more per score

    def traffic(self, p: Pass) -> Traffic:
        s = self.shape
        scores = p.batch * s.heads * _scores_per_head(p, self.window, self.chunk)
        q_elems = p.batch * p.new_tokens * s.heads
        kv = s.kv_read(p, s.qk_dim if s.values_in_keys else s.qk_dim + s.v_dim, self.window, self.chunk)
        return Traffic(
            OPs=2 * scores * (s.qk_dim + s.v_dim) + (5 + (SOFTCAP_OPS if self.softcap else 0)) * scores,
            store_act=q_elems * s.v_dim * p.a_bytes,
            **_add(kv, "load_act", q_elems * s.qk_dim * p.a_bytes),
        )

    def compute_bits(self, p: Pass) -> Any:
        return self.shape.compute_bits(p)


# --------------------------------------------------------------------------- recurrent state


@dataclass(frozen=True)
class StateUpdate(Op):
    """A step of a linear-attention or SSM layer over its fixed-size per-sequence state: the
    depthwise causal conv (``kind`` "elementwise") or the recurrent scan (``kind`` "fused", one
    kernel such as flash-linear-attention's or Mamba's). ``ops_per_token`` OPs per token;
    ``inputs``/``outputs`` activation elements read/written per token (the conv's are fused away
    under ideal fusion, as element-wise ops'; the scan's always move); ``weights`` unquantized
    parameters; ``state`` elements per sequence, read once per pass when something is cached and
    written once, at ``state_bits`` (None: the KV-cache width ``kv_bit``)."""

    ops_per_token: float = 0
    inputs: int = 0
    outputs: int = 0
    weights: int = 0
    state: int = 0
    state_bits: int | None = None

    def traffic(self, p: Pass) -> Traffic:
        """OPs and bytes of one instance (state bytes are reported as KV-cache traffic)."""
        t = p.tokens
        state_bytes = p.batch * self.state * (p.kv_bytes if self.state_bits is None else self.state_bits / 8)
        moved = p.a_bytes if self.kind == "fused" or not p.fuse_elementwise else 0
        return Traffic(
            OPs=t * self.ops_per_token,
            load_weight=self.weights * p.hi_bytes,
            load_act=t * self.inputs * moved,
            store_act=t * self.outputs * moved,
            load_kv_cache=minimum(p.past_tokens, 1) * state_bytes,
            store_kv_cache=state_bytes,
        )

    def compute_bits(self, p: Pass) -> Any:
        return p.a_bits if self.kind == "fused" else None

    def weight_bytes(self, p: Pass) -> Any:
        return self.weights * p.hi_bytes

    @property
    def params(self) -> int:
        return self.weights


# --------------------------------------------------------------------------- element-wise


@dataclass(frozen=True)
class Elementwise(Op):
    """An element-wise op over ``width`` elements per token, reading ``inputs`` tensors.

    ``weights``: elements of (unquantized) parameters it reads, e.g. a norm's scale and bias.
    ``tokens``: "new" (every new token; the final norm before lm_head too) or "logits" (the rows
    lm_head computes, e.g. the logit soft-cap).
    """

    width: int = 0
    ops_per_element: float = 1
    inputs: int = 1
    weights: int = 0
    tokens: str = "new"

    def traffic(self, p: Pass) -> Traffic:
        """OPs and bytes of one instance; no activation bytes under ideal fusion (``p.fusion``)."""
        elems = (p.batch * p.logits_per_seq if self.tokens == "logits" else p.tokens) * self.width
        moved = 0 if p.fuse_elementwise else p.a_bytes
        return Traffic(
            OPs=elems * self.ops_per_element,
            load_weight=self.weights * p.hi_bytes,
            load_act=self.inputs * elems * moved,
            store_act=elems * moved,
        )

    def weight_bytes(self, p: Pass) -> Any:
        return self.weights * p.hi_bytes

    @property
    def params(self) -> int:
        return self.weights


@dataclass(frozen=True)
class Embedding(Op):
    """Table lookup: reads one row per token; ``scale`` multiplies by sqrt(hidden) (Gemma)."""

    rows: int = 0
    width: int = 0
    scale: bool = False

    def traffic(self, p: Pass) -> Traffic:
        elems = p.tokens * self.width
        return Traffic(OPs=elems if self.scale else 0, load_weight=elems * p.hi_bytes, store_act=elems * p.a_bytes)

    def weight_bytes(self, p: Pass) -> Any:
        return self.rows * self.width * p.hi_bytes

    @property
    def params(self) -> int:
        return self.rows * self.width


@dataclass(frozen=True)
class AllReduce(Op):
    """Sum of a ``width``-wide activation per token across ``devices`` tensor-parallel devices
    (ring algorithm): each device sends ``2 (n-1)/n`` of the tensor over its link, reads its
    partial sum and writes the result, and performs ``(n-1)/n`` of the additions. Elements are
    :attr:`~llmviewer.specs.workload.Pass.reduce_bytes` wide (16 bits under FP8/INT8)."""

    width: int = 0
    devices: int = 1

    def traffic(self, p: Pass) -> Traffic:
        """OPs, memory bytes and link bytes of one all-reduce on one device."""
        elems = p.tokens * self.width
        share = (self.devices - 1) / self.devices
        return Traffic(
            OPs=elems * share,
            load_act=elems * p.reduce_bytes,
            store_act=elems * p.reduce_bytes,
            link_bytes=2 * share * elems * p.reduce_bytes,
        )
