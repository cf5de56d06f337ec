"""Mixture-of-experts routing statistics and their cost on the roofline.

Units: parameters are counts, bytes are bytes, times are seconds (the engine's roofline).

The engine's MoE operator (:class:`llmviewer.engine.operators.ExpertLinear`) assumes uniform routing.
Real routers are skewed: a few experts are popular. We model expert popularity as a Zipf
(power-law) distribution, ``p_e`` proportional to ``e**-s`` (``s = 0``: uniform), and a token
that picks ``top_k`` experts as including expert ``e`` with probability ``q_e = min(1, c p_e)``,
with ``c`` chosen so that ``sum q_e = top_k`` (inclusion proportional to popularity, capped
at 1). Tokens route independently, so ``T`` tokens touch

    E[distinct experts] = sum_e 1 - (1 - q_e)**T.

This is exact for ``top_k = 1`` (``q = p``) and for uniform routing (it equals
``E (1 - (1 - k/E)**T)``, the engine's formula); for ``top_k > 1`` with skew it is an
approximation, since one token's ``top_k`` choices are not independent of each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.efficiency import Efficiency, elementwise_fusion, resolve_efficiency
from ..engine.graph import build_ops
from ..engine.operators import ExpertLinear, Traffic
from ..engine.roofline import forward_time
from ..errors import LLMViewerError
from ..results import Result
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import ModelSpec, load_model
from ..specs.workload import Pass, accepts_workload, make_pass, pass_arguments
from .broadcast import broadcasting

MAX_ZIPF = 100
"""Largest Zipf exponent: beyond it the popularity of all but the first expert underflows to 0."""


def zipf_popularity(num_experts: int, s: float = 0.0) -> np.ndarray:
    """Routing probabilities of ``num_experts`` experts, ``p_e`` proportional to ``e**-s``
    (rank ``e`` = 1..E); ``s = 0`` is uniform. Sums to 1."""
    if isinstance(s, bool) or not isinstance(s, (int, float, np.number)) or not 0 <= s <= MAX_ZIPF:
        raise LLMViewerError(
            f"zipf exponent (zipf_s) must be a number in [0, {MAX_ZIPF}] (0: uniform routing), got {s!r}"
        )
    w = np.arange(1, num_experts + 1, dtype=float) ** -float(s)
    return w / w.sum()


def inclusion_probabilities(popularity: Any, top_k: int) -> np.ndarray:
    """Probability that one token includes each expert among its ``top_k``: ``min(1, c p_e)``
    with ``c`` such that they sum to ``top_k`` (water-filling)."""
    p = np.asarray(popularity, dtype=float)
    if p.ndim != 1 or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise LLMViewerError("popularity must be a 1-D array of non-negative probabilities summing to 1")
    if not 1 <= top_k <= len(p) or np.count_nonzero(p) < top_k:
        raise LLMViewerError(f"top_k must be in 1..{np.count_nonzero(p)} (experts with non-zero popularity)")
    capped = np.zeros(len(p), dtype=bool)
    for _ in range(len(p)):
        c = (top_k - capped.sum()) / p[~capped].sum()
        q = np.where(capped, 1.0, c * p)
        if not np.any(q > 1 + 1e-12):
            return np.minimum(q, 1.0)
        capped |= q > 1
    return np.minimum(q, 1.0)


def expected_distinct_experts(tokens: Any, popularity: Any, top_k: int) -> Any:
    """Expected distinct experts that ``tokens`` tokens touch (number or array), see the module
    docstring: ``sum_e 1 - (1 - q_e)**tokens``."""
    q = inclusion_probabilities(popularity, top_k)
    t = np.asarray(tokens, dtype=float)
    out = np.sum(1 - (1 - q) ** t[..., None], axis=-1)
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class SkewedExpertLinear(ExpertLinear):
    """:class:`ExpertLinear` with routing skewed by a Zipf exponent ``zipf_s``: weight bytes
    follow :func:`expected_distinct_experts`; OPs and activations are unchanged."""

    zipf_s: float = 0.0

    def traffic(self, p: Pass) -> Traffic:
        t = super().traffic(p)
        touched = expected_distinct_experts(p.tokens, zipf_popularity(self.num_experts, self.zipf_s), self.top_k)
        return Traffic(
            OPs=t.OPs, load_weight=touched * self.in_f * self.out_f * p.w_bytes, load_act=t.load_act,
            store_act=t.store_act,
        )  # fmt: skip


def skewed_ops(model: ModelSpec, zipf_s: float, flash_attention: bool = False, absorb_mla: bool = True) -> list:
    """The model's operators with every routed-expert projection skewed by ``zipf_s``."""
    out = []
    for op in build_ops(model, flash_attention, absorb_mla):
        if isinstance(op, ExpertLinear):
            op = SkewedExpertLinear(**{**op.__dict__, "zipf_s": float(zipf_s)})
        out.append(op)
    return out


def active_parameters(model: str | ModelSpec | dict, embeddings: bool = True) -> int:
    """Parameters one token uses: every routed-expert matrix counts ``top_k / num_experts`` of
    its parameters. ``embeddings=False`` leaves out the input embedding table (a lookup)."""
    m = load_model(model)
    total = 0
    for op in build_ops(m):
        if isinstance(op, ExpertLinear):
            total += op.count * op.params // op.num_experts * op.top_k
        elif embeddings or op.role != "embedding":
            total += op.count * op.params
    return total


@dataclass(frozen=True)
class MoEStep(Result):
    """Result of :func:`moe_decode`: expected distinct experts per MoE layer, parameter bytes read
    in the step (bytes), the step's time and the time per generated token (seconds)."""

    experts_touched: Any
    weight_bytes: Any
    step_time: Any
    time_per_token: Any


@accepts_workload(batch_size="batch_size", context="prompt_len")
@broadcasting(("zipf_s",), ("batch_size", "context"))
def moe_decode(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    batch_size: Any = 1,
    context: Any = 1024,
    zipf_s: float = 0.0,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> MoEStep:
    """One decode step of an MoE model under routing skew ``zipf_s`` (0: uniform, the engine's
    default). Returns ``experts_touched`` (expected distinct experts per MoE layer),
    ``weight_bytes`` (parameter bytes read in the step), ``step_time`` (seconds) and
    ``time_per_token`` (seconds per generated token across the batch). ``batch_size`` and
    ``context`` may be arrays. Options: :data:`llmviewer.specs.workload.OPTIONS` except tensor_parallel."""
    kw = pass_arguments(elementwise_fusion(calibration, options))  # as the calibration was fitted
    if kw.get("tensor_parallel", 1) != 1:
        raise LLMViewerError("moe_decode models one device (tensor_parallel=1)")
    m, hw = load_model(model), load_hardware(hardware)
    if not m.is_moe:
        raise LLMViewerError(f"{m.name} has no routed experts")
    eff = resolve_efficiency(calibration)
    p = make_pass(batch_size, 1, context, 1, absorb_mla=True, **kw)
    ops = skewed_ops(m, zipf_s, p.flash_attention, True)
    counted = [(op, op.traffic(p), op.compute_bits(p)) for op in ops]
    step = forward_time(counted, hw, p, eff, decode=True)
    touched = expected_distinct_experts(p.tokens, zipf_popularity(m.num_experts, zipf_s), m.experts_per_token)
    return MoEStep(
        experts_touched=touched,
        weight_bytes=sum(t.load_weight * op.count for op, t, _ in counted),
        step_time=step,
        time_per_token=step / p.batch,
    )


__all__ = [
    "MoEStep",
    "SkewedExpertLinear",
    "active_parameters",
    "expected_distinct_experts",
    "inclusion_probabilities",
    "moe_decode",
    "skewed_ops",
    "zipf_popularity",
]
