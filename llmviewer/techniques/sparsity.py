"""Contextual sparsity (Deja Vu, Liu et al. 2023) on the roofline.

Units: times are seconds (the engine's roofline, pure or calibrated); fractions are in [0, 1].

Deja Vu observes that, for a given input, only a fraction of a dense model's attention heads
and MLP neurons matter. A small predictor per layer (a low-rank MLP: ``hidden -> rank ->
outputs``, one for the heads and one for the neurons) runs on every token and picks them;
the layer then reads only the weights of the chosen heads and neurons.

The model here:

* One token uses a fraction ``head_fraction`` of the query heads and ``neuron_fraction`` of
  the MLP's intermediate neurons. Tokens of a batch choose independently, so the batch needs
  the UNION of its tokens' choices: in expectation ``1 - (1 - f)**B`` of them
  (:func:`union_fraction`). This is why contextual sparsity is a small-batch technique.
* A KV head is needed when any of the ``g = num_heads / num_kv_heads`` query heads that share
  it is active for any token: ``1 - (1 - f)**(B g)`` of the KV heads.
* The sparse step is the engine's decode step of a derived model
  (:func:`sparse_model`, :meth:`~llmviewer.specs.models.ModelSpec.resized`, which rebuilds the layer stack) with
  those fractions of heads, KV heads and intermediate neurons, rounded to whole units. Filling
  the skipped heads' KV cache for later tokens is not counted.
* The predictor's operators (:func:`predictor_ops`) are timed with
  :func:`llmviewer.engine.analysis.evaluate_op` and added.

Dense models with ordinary (grouped-query) attention only: MoE models are already sparse, and
latent attention (MLA) has no per-head weights to skip in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.analysis import evaluate_op
from ..engine.efficiency import Efficiency, resolve_efficiency
from ..engine.operators import Linear
from ..errors import LLMViewerError
from ..results import Result
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import ModelSpec, load_model
from ..specs.workload import accepts_workload, make_pass, pass_arguments
from .broadcast import broadcasting
from .speculative import decode_step_time


def check_fraction(f: Any, name: str = "fraction") -> float:
    """Validate an active fraction: one number in (0, 1]."""
    if isinstance(f, (bool, str)) or np.ndim(f) != 0 or not np.isfinite(f) or not 0 < float(f) <= 1:
        raise LLMViewerError(f"{name} must be a single number in (0, 1], got {f!r}")
    return float(f)


def union_fraction(fraction: Any, batch: Any) -> Any:
    """Expected fraction of units that at least one of ``batch`` tokens uses, when each token
    uses each unit independently with probability ``fraction``: ``1 - (1 - f)**B``."""
    return 1 - (1 - np.asarray(fraction, dtype=float)) ** np.asarray(batch, dtype=float)


def _check_model(m: ModelSpec) -> None:
    if m.is_moe or m.uses_mla:
        raise LLMViewerError(f"{m.name}: contextual sparsity is modelled for dense models with ordinary attention")


def _scaled(total: int, share: float) -> int:
    return int(min(total, max(1, round(total * share))))


def sparse_model(
    model: str | ModelSpec | dict, head_fraction: float, neuron_fraction: float, batch: int = 1
) -> ModelSpec:
    """The dense model restricted to the heads, KV heads and MLP neurons a batch of ``batch``
    tokens needs in expectation (see the module docstring). ``head_fraction = neuron_fraction =
    1`` returns the model unchanged."""
    m = load_model(model)
    _check_model(m)
    fh, fn = check_fraction(head_fraction, "head_fraction"), check_fraction(neuron_fraction, "neuron_fraction")
    b = int(batch)
    if b < 1 or b != batch:
        raise LLMViewerError(f"batch must be a positive integer, got {batch!r}")
    group = m.num_heads // m.num_kv_heads
    heads = _scaled(m.num_heads, float(union_fraction(fh, b)))
    kv_heads = min(heads, _scaled(m.num_kv_heads, float(union_fraction(fh, b * group))))
    inter = _scaled(m.intermediate_size, float(union_fraction(fn, b)))
    return m.resized(num_heads=heads, num_kv_heads=kv_heads, intermediate_size=inter)


def predictor_ops(model: ModelSpec, rank: int) -> list[Linear]:
    """The predictor of every layer: ``hidden -> rank -> num_heads`` for the heads and
    ``hidden -> rank -> intermediate_size`` for the neurons (``count`` = layers). Rank 0: none."""
    if rank == 0:
        return []
    L, h = model.num_layers, model.hidden_size
    return [
        Linear("head_predictor_in", "matmul", L, in_f=h, out_f=rank),
        Linear("head_predictor_out", "matmul", L, in_f=rank, out_f=model.num_heads),
        Linear("neuron_predictor_in", "matmul", L, in_f=h, out_f=rank),
        Linear("neuron_predictor_out", "matmul", L, in_f=rank, out_f=model.intermediate_size),
    ]


@dataclass(frozen=True)
class SparseStep(Result):
    """Result of :func:`contextual_sparsity_decode`: the expected active fractions of heads and
    neurons for the batch, and seconds of the sparse step, the predictor, their sum, the dense
    step, with the speed-up (dense over sparse)."""

    head_union: float
    neuron_union: float
    sparse_time: Any
    predictor_time: Any
    step_time: Any
    dense_time: Any
    speedup: Any


@accepts_workload(batch_size="batch_size", context="prompt_len")
@broadcasting(("head_fraction", "neuron_fraction", "batch_size"), ("context",))
def contextual_sparsity_decode(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    head_fraction: float = 1.0,
    neuron_fraction: float = 1.0,
    rank: int = 0,
    batch_size: int = 1,
    context: Any = 1024,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> SparseStep:
    """One decode step of a dense model with Deja Vu contextual sparsity.

    Returns ``head_union`` and ``neuron_union`` (expected active fractions for the batch),
    seconds ``sparse_time`` (the derived model's step), ``predictor_time``, ``step_time`` (their
    sum), ``dense_time`` (the plain decode step) and ``speedup`` (dense over sparse, > 1 is
    faster). ``batch_size`` is one integer (it changes the derived model); ``context`` may be an
    array. Options: :data:`llmviewer.specs.workload.OPTIONS` except tensor_parallel."""
    kw = pass_arguments(options)
    if kw.get("tensor_parallel", 1) != 1:
        raise LLMViewerError("contextual_sparsity_decode models one device (tensor_parallel=1)")
    m, hw = load_model(model), load_hardware(hardware)
    r = int(rank)
    if r < 0 or r != rank:
        raise LLMViewerError(f"rank must be an integer >= 0, got {rank!r}")
    eff = resolve_efficiency(calibration)
    sparse = sparse_model(m, head_fraction, neuron_fraction, batch_size)
    dense_time = decode_step_time(m, hw, batch_size, context, eff, **kw)
    sparse_time = decode_step_time(sparse, hw, batch_size, context, eff, **kw)
    p = make_pass(batch_size, 1, context, 1, absorb_mla=True, **kw)
    predictor_time = sum((op.count * evaluate_op(op, hw, p, eff)["inference_time"] for op in predictor_ops(m, r)), 0.0)
    step = sparse_time + predictor_time
    return SparseStep(
        head_union=float(union_fraction(head_fraction, batch_size)),
        neuron_union=float(union_fraction(neuron_fraction, batch_size)),
        sparse_time=sparse_time,
        predictor_time=predictor_time,
        step_time=step,
        dense_time=dense_time,
        speedup=dense_time / step,
    )


__all__ = ["SparseStep", "contextual_sparsity_decode", "predictor_ops", "sparse_model", "union_fraction"]
