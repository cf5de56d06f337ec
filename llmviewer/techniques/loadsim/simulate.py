"""Serving under load: requests arriving over time on replicas of an engine, aggregated or disaggregated.

:func:`simulate` draws the requests (:class:`~llmviewer.loadsim.arrivals.Workload`), sends them to the engines
and runs each engine's iteration-level scheduler (:mod:`llmviewer.loadsim.scheduler`) with step times from the
roofline engine (:mod:`llmviewer.loadsim.steptime`, pure or calibrated).

Deployment (:class:`Deployment`):

* aggregated: ``replicas`` copies of the model, each on ``tensor_parallel x pipeline_parallel`` devices.
  A replica with ``pp`` pipeline stages runs ``pp`` micro-batches in flight (vLLM's virtual engines): it is
  modelled as ``pp`` engines, each with a step latency of the whole pipeline (:class:`StepCost`) and ``1/pp``
  of the replica's KV blocks, so that every stage stays busy (no bubbles in steady state, an idealisation).
  Requests go to the engines in turn, in arrival order (round robin).
* disaggregated (DistServe, Splitwise): ``prefill_replicas`` engines only prefill (a request leaves once its
  first token is out), then its prompt's KV cache (``kv_cache_bytes`` of the prompt, the whole model) crosses
  the link: the prefill replica's ``tp x pp`` devices each send their share over their own link, one request
  after another (first come, first served); then one of ``decode_replicas`` engines (``decode_tensor_parallel``
  devices each) decodes it. Its TTFT ends with the prefill; the transfer and the decode queue count in TPOT.

KV capacity of an engine: ``floor((memory_utilization x device memory - weights - activations) / bytes of a
block)``, per device: weights and KV are the tensor-parallel slice (``1/pp`` of the layers under pipeline
parallelism), activations the largest working set of one operator in a step of ``max_tokens`` tokens
(:func:`llmviewer.memory_footprint`); KV per token counts sliding-window layers as full (an upper bound).

Attention defaults to fused (FlashAttention) and causal, as serving engines run it; pass
``use_flashattention=False`` or ``causal_attention=False`` to change that.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from llmviewer.engine.analysis import kv_cache_bytes, memory_footprint
from llmviewer.engine.efficiency import PURE, Efficiency
from llmviewer.engine.roofline import link_bandwidth
from llmviewer.errors import LLMViewerError
from llmviewer.specs.hardware import Hardware, load_hardware
from llmviewer.specs.models import ModelSpec, load_model

from .arrivals import Requests, Workload
from .metrics import SLO, ServingSummary, summarize
from .scheduler import EngineTrace, SchedulerConfig, run_engine
from .steptime import BOUND_NAMES, PASS_OPTIONS, StepCost

SERVING_DEFAULTS = {"use_flashattention": True, "causal_attention": True}
"""Workload options the simulator sets unless told otherwise (serving engines run fused causal attention)."""


@dataclass(frozen=True)
class Deployment:
    """Devices and how the model is spread on them (see the module docstring). ``prefill_replicas > 0``
    makes it disaggregated (then ``replicas`` is ignored; ``decode_replicas`` must be > 0)."""

    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    replicas: int = 1
    prefill_replicas: int = 0
    decode_replicas: int = 0
    decode_tensor_parallel: int | None = None

    def __post_init__(self) -> None:
        for name in ("tensor_parallel", "pipeline_parallel", "replicas"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise LLMViewerError(f"{name} must be a positive integer, got {v!r}")
        for name in ("prefill_replicas", "decode_replicas"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise LLMViewerError(f"{name} must be a non-negative integer, got {v!r}")
        if (self.prefill_replicas > 0) != (self.decode_replicas > 0):
            raise LLMViewerError("a disaggregated deployment needs both prefill_replicas and decode_replicas > 0")
        d = self.decode_tensor_parallel
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1):
            raise LLMViewerError(f"decode_tensor_parallel must be a positive integer, got {d!r}")

    @property
    def disaggregated(self) -> bool:
        """Separate prefill and decode pools."""
        return self.prefill_replicas > 0

    @property
    def decode_tp(self) -> int:
        """Tensor-parallel devices of a decode replica."""
        return self.decode_tensor_parallel or self.tensor_parallel

    @property
    def devices(self) -> int:
        """Devices in all."""
        tp, pp = self.tensor_parallel, self.pipeline_parallel
        if self.disaggregated:
            return self.prefill_replicas * tp * pp + self.decode_replicas * self.decode_tp * pp
        return self.replicas * tp * pp

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the device count."""
        return {**asdict(self), "disaggregated": self.disaggregated, "devices": self.devices}


def resolve_calibration(calibration: Efficiency | str | None) -> Efficiency:
    """None: the pure roofline; an engine class name: its fitted efficiencies; or an Efficiency."""
    if calibration is None:
        return PURE
    if isinstance(calibration, Efficiency):
        return calibration
    from llmviewer.engine.efficiency import load_calibration  # imports pandas: only when asked for

    return load_calibration(calibration)


def serving_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with :data:`SERVING_DEFAULTS` filled in, checked against the accepted names."""
    unknown = sorted(set(options) - set(PASS_OPTIONS))
    if unknown:
        raise LLMViewerError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(PASS_OPTIONS)}")
    return {**SERVING_DEFAULTS, **options}


def kv_capacity(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    scheduler: SchedulerConfig | None = None,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    **options: Any,
) -> dict[str, Any]:
    """KV capacity of one engine (see the module docstring). Returns per device ``memory`` (usable bytes),
    ``weights``, ``activations``, ``free`` (bytes) and ``kv_bytes_per_token`` (bytes one token adds on the
    device), and per engine ``blocks`` and ``tokens`` (blocks x block size). ``blocks`` is 0 when the weights do
    not fit; a ``scheduler.kv_blocks`` override wins."""
    scheduler = scheduler or SchedulerConfig()
    options = serving_options(options)
    m = load_model(model)
    hw = load_hardware(hardware)
    pp = pipeline_parallel
    if m.num_layers % pp:
        raise LLMViewerError(f"pipeline_parallel={pp} does not divide {m.name}'s {m.num_layers} layers")
    fp = memory_footprint(m, 1, scheduler.token_budget, tensor_parallel=tensor_parallel, **options)
    kv_bits = options.get("kv_bit") or options.get("a_bit", 16)
    unwindowed = m.without_windows()
    per_token = kv_cache_bytes(unwindowed, 1, 1, kv_bits, tensor_parallel)
    if m.linear_layers:  # hybrid: the fixed-size state of linear-attention/SSM layers is not per token
        per_token = per_token - kv_cache_bytes(unwindowed, 1, 0, kv_bits, tensor_parallel)
    memory = hw.memory_bytes * scheduler.memory_utilization
    weights = fp["weights"] / pp
    free = memory - weights - fp["activations"]
    if scheduler.kv_blocks is not None:
        blocks = scheduler.kv_blocks
    elif math.isinf(memory):
        blocks = 2**40
    else:
        # each of the pp engines: free / per_token tokens (a device holds 1/pp of every engine's KV)
        blocks = max(int(free // (per_token * scheduler.block_size)), 0)
    return {
        "memory": memory,
        "weights": weights,
        "activations": fp["activations"],
        "free": free,
        "kv_bytes_per_token": per_token / pp,
        "blocks": blocks,
        "tokens": blocks * scheduler.block_size,
    }


@dataclass(frozen=True)
class ServingResult:
    """Result of :func:`simulate`. ``summary``: :class:`~llmviewer.loadsim.metrics.ServingSummary`;
    :attr:`requests`, :attr:`timeseries` and :attr:`occupancy` are DataFrames (seconds, tokens, blocks);
    ``config``: what was simulated; ``kv_blocks``: blocks per engine of each pool."""

    model: str
    hardware: str
    config: dict[str, Any]
    summary: ServingSummary
    kv_blocks: dict[str, int]
    request_columns: dict[str, np.ndarray] = field(repr=False)
    step_columns: dict[str, np.ndarray] = field(repr=False)
    occupancy_events: np.ndarray = field(repr=False)
    step_features: tuple = field(repr=False, default=())

    @cached_property
    def bound_seconds(self) -> np.ndarray:
        """(3, steps): seconds of each step (rows of :attr:`timeseries`) in operators bound by compute, memory
        and communication (computed on first use)."""
        parts = []
        for cost, trace in self.step_features:
            x = trace.features()
            for lo in range(0, x.shape[1], 50_000):  # in slices, to bound the temporary arrays
                parts.append(cost.bound_seconds(x[:, lo : lo + 50_000]))
        return np.concatenate(parts, axis=1) if parts else np.zeros((3, 0))

    @cached_property
    def bound_share(self) -> dict[str, float]:
        """Fraction of the engines' busy time in operators bound by compute, memory and communication."""
        total = self.bound_seconds.sum(axis=1)
        busy = total.sum()
        return {b: float(total[i] / busy) if busy > 0 else math.nan for i, b in enumerate(BOUND_NAMES)}

    @cached_property
    def requests(self):  # noqa: ANN201 - pandas is imported lazily
        """One row per request (arrival order): ``arrival``, ``prompt_len``, ``output_len``, ``engine``,
        ``first_scheduled``, ``first_token``, ``finish`` (s), ``queue``, ``ttft``, ``tpot``, ``e2e`` (s),
        ``preemptions``, ``meets_slo``."""
        import pandas as pd

        c = self.request_columns
        ttft = c["first_token"] - c["arrival"]
        e2e = c["finish"] - c["arrival"]
        with np.errstate(divide="ignore", invalid="ignore"):
            tpot = np.where(c["output_len"] > 1, (e2e - ttft) / (c["output_len"] - 1), np.nan)
        df = pd.DataFrame(c)
        df["queue"] = c["first_scheduled"] - c["arrival"]
        df["ttft"], df["tpot"], df["e2e"] = ttft, tpot, e2e
        df["meets_slo"] = self.summary.slo.meets(ttft, tpot)
        return df

    @cached_property
    def timeseries(self):  # noqa: ANN201
        """One row per engine step, in time order per engine: ``pool``, ``engine``, ``start``, ``duration``
        (s), ``seqs`` (batch size), ``decode_seqs``, ``prefill_tokens``, ``tokens``, ``kv_blocks``,
        ``kv_fraction`` (of the engine's blocks), ``running`` and ``waiting`` (requests at the step's start),
        ``compute_s``, ``memory_s``, ``communication_s`` (seconds of the step in operators of each bound) and
        ``bound`` (the largest)."""
        import pandas as pd

        df = pd.DataFrame(self.step_columns)
        shares = self.bound_seconds
        for i, b in enumerate(BOUND_NAMES):
            df[f"{b}_s"] = shares[i]
        df["bound"] = np.array(BOUND_NAMES)[shares.argmax(axis=0)] if len(df) else []
        return df

    @cached_property
    def occupancy(self):  # noqa: ANN201
        """Requests in the system (queued, running, or in KV transfer) after every change: ``time`` (s),
        ``in_system``."""
        import pandas as pd

        return pd.DataFrame({"time": self.occupancy_events[0], "in_system": self.occupancy_events[1].astype(int)})

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON form: model, hardware, config, KV blocks and the summary's fields."""
        out = {"model": self.model, "hardware": self.hardware, "config": self.config, "kv_blocks": self.kv_blocks,
               **self.summary.to_dict()}  # fmt: skip
        out["bound_share"] = {k: (v if math.isfinite(v) else None) for k, v in self.bound_share.items()}
        return out


def _run_pool(
    reqs: Requests,
    cost: StepCost,
    config: SchedulerConfig,
    blocks: int,
    engines: int,
    prefilled: bool,
    pool: str,
    engine_offset: int,
    progress: Callable[[int, int], None] | None,
    done_before: int,
    total: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, list]:
    """Round-robin ``reqs`` over ``engines`` engines; returns per-request columns (first_scheduled,
    first_token, finish, preemptions, engine) in ``reqs`` order, step columns, occupancy deltas (2 x events:
    time, change) and the steps' (cost, features) per engine."""
    n = len(reqs)
    out = {k: np.full(n, np.nan) for k in ("first_scheduled", "first_token", "finish")}
    out["preemptions"] = np.zeros(n, dtype=np.int64)
    out["engine"] = np.zeros(n, dtype=np.int64)
    step_parts: list[dict[str, np.ndarray]] = []
    features: list[tuple[StepCost, EngineTrace]] = []
    deltas = []
    done = done_before
    for e in range(engines):
        idx = np.arange(e, n, engines)
        if idx.size == 0:
            continue

        def report(k: int, _: int, base: int = done) -> None:
            if progress is not None:
                progress(base + k, total)

        tr: EngineTrace = run_engine(reqs.subset(idx), cost, config, blocks, prefilled, report if progress else None)
        done += idx.size
        for k in ("first_scheduled", "first_token", "finish", "preemptions"):
            out[k][idx] = getattr(tr, k)
        out["engine"][idx] = engine_offset + e
        s = dict(tr.steps)
        features.append((cost, tr))
        s["tokens"] = s["decode_seqs"] + s["prefill_tokens"]
        s["kv_fraction"] = s["kv_blocks"] / max(blocks, 1)
        s["engine"] = np.full(len(s["start"]), engine_offset + e)
        s["pool"] = np.full(len(s["start"]), pool)
        step_parts.append(s)
        t, k = tr.occupancy
        deltas.append(np.array([t, np.diff(np.concatenate([[0.0], k]))]))
    steps = {k: np.concatenate([p[k] for p in step_parts]) for k in step_parts[0]} if step_parts else {}
    return out, steps, np.concatenate(deltas, axis=1) if deltas else np.zeros((2, 0)), features


STEP_ORDER = ("pool", "engine", "start", "duration", "seqs", "decode_seqs", "prefill_tokens", "tokens", "kv_blocks",
              "kv_fraction", "running", "waiting")  # fmt: skip


def simulate(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    workload: Workload | Requests,
    scheduler: SchedulerConfig | None = None,
    deployment: Deployment | None = None,
    calibration: Efficiency | str | None = None,
    slo: SLO | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> ServingResult:
    """Simulate serving ``workload`` (a :class:`Workload` or explicit :class:`Requests`) on ``deployment``
    (default: one device) with ``scheduler`` (default :class:`SchedulerConfig`), step times from the pure
    roofline or a ``calibration`` (engine class name or Efficiency). ``slo`` sets goodput's objectives.
    ``options``: bit widths and attention (:data:`~llmviewer.loadsim.steptime.PASS_OPTIONS`; fused causal
    attention by default). ``progress(done, total)`` is called now and then. Deterministic: the same inputs
    give the same result."""
    return _simulate(model, hardware, workload, scheduler, deployment, calibration, slo, progress, None, options)


def simulate_pool(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    workload: Workload | Requests,
    pool: str,
    scheduler: SchedulerConfig | None = None,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    calibration: Efficiency | str | None = None,
    slo: SLO | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> ServingResult:
    """One replica of one pool of a disaggregated system, fed directly by ``workload``. ``pool="prefill"``:
    requests leave with their first token (TTFT is what counts). ``pool="decode"``: requests arrive with their
    prompt's KV cache and first token (an arrival is the moment its KV transfer would start); each first waits
    for its transfer (seconds as :func:`transfer_seconds` from a prefill replica of the same size), which counts
    in its TPOT; TTFT is 0. Used by capacity planning, which sizes the two pools apart (as DistServe does)."""
    if pool not in ("prefill", "decode"):
        raise LLMViewerError(f"pool must be 'prefill' or 'decode', got {pool!r}")
    dep = Deployment(tensor_parallel, pipeline_parallel)
    return _simulate(model, hardware, workload, scheduler, dep, calibration, slo, progress, pool, options)


def _simulate(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    workload: Workload | Requests,
    scheduler: SchedulerConfig | None,
    deployment: Deployment | None,
    calibration: Efficiency | str | None,
    slo: SLO | None,
    progress: Callable[[int, int], None] | None,
    pool: str | None,
    options: dict[str, Any],
) -> ServingResult:
    scheduler = scheduler or SchedulerConfig()
    deployment = deployment or Deployment()
    slo = slo or SLO()
    options = serving_options(options)
    m, hw = load_model(model), load_hardware(hardware)
    eff = resolve_calibration(calibration)
    reqs = workload.sample() if isinstance(workload, Workload) else workload
    if np.any(np.diff(reqs.arrival) < 0):
        raise LLMViewerError("requests must be in arrival order (make them with make_requests, which sorts)")
    n = len(reqs)
    tp, pp = deployment.tensor_parallel, deployment.pipeline_parallel
    table = max(scheduler.token_budget, scheduler.max_batch)
    cost = StepCost(m, hw, eff, tp, pp, table_tokens=table, **options)
    cap = kv_capacity(m, hw, scheduler, tp, pp, **options)
    _check_fits(cap, m, hw, tp, pp, "")
    req_cols: dict[str, np.ndarray] = {"arrival": reqs.arrival, "prompt_len": reqs.prompt_len,
                                       "output_len": reqs.output_len}  # fmt: skip
    kv_blocks = {}
    if deployment.disaggregated:
        out, steps, deltas, features = _disaggregated(m, hw, reqs, cost, cap, scheduler, deployment, eff, options,
                                                      progress)  # fmt: skip
        kv_blocks["prefill"] = cap["blocks"]
        kv_blocks["decode"] = out.pop("_decode_blocks")
        req_cols.update(out)
    else:
        engines = deployment.replicas * pp
        run = reqs if pool != "prefill" else Requests(reqs.arrival, reqs.prompt_len, np.ones(n, dtype=np.int64))
        out, steps, deltas, features = _run_pool(run, cost, scheduler, cap["blocks"], engines, pool == "decode",
                                          pool or "serve", 0, progress, 0, n)  # fmt: skip
        kv_blocks[pool or "serve"] = cap["blocks"]
        if pool == "prefill":
            out["finish"] = out["first_token"].copy()
        if pool == "decode":  # the request "arrives" when its transfer starts; its first token is out then
            kv_bits = options.get("kv_bit") or options.get("a_bit", 16)
            send = transfer_seconds(m, hw, reqs.prompt_len, tp * pp, eff, kv_bits)
            req_cols["arrival"] = reqs.arrival - send
            out["first_token"] = req_cols["arrival"].copy()
            out["transfer"] = send
            deltas = np.concatenate([deltas, [np.concatenate([req_cols["arrival"], reqs.arrival]),
                                              np.concatenate([np.ones(n), -np.ones(n)])]], axis=1)  # fmt: skip
        req_cols.update(out)
    order = np.argsort(deltas[0], kind="stable")
    occ = np.array([deltas[0][order], np.cumsum(deltas[1][order])])
    steps = {k: steps[k] for k in STEP_ORDER}
    summary = summarize(req_cols, steps, occ, slo)
    config = {
        "workload": workload.to_dict() if isinstance(workload, Workload) else {"requests": n, "explicit": True},
        "scheduler": scheduler.to_dict(),
        "deployment": deployment.to_dict(),
        "pool": pool,
        "calibration": calibration if calibration is None or isinstance(calibration, str) else "custom",
        "options": options,
    }
    return ServingResult(m.name, hw.name, config, summary, kv_blocks, req_cols, steps, occ, tuple(features))


def _check_fits(cap: dict[str, Any], m: ModelSpec, hw: Hardware, tp: int, pp: int, pool: str) -> None:
    if cap["blocks"] < 1:
        raise LLMViewerError(
            f"{m.name} does not fit on {hw.name} with tp={tp}, pp={pp}{pool}: weights {cap['weights'] / 1e9:.3g} GB "
            f"+ activations {cap['activations'] / 1e9:.3g} GB per device leave no room for a KV block in "
            f"{cap['memory'] / 1e9:.3g} GB usable; use more devices"
        )


def transfer_seconds(
    model: ModelSpec, hw: Hardware, prompt_len: np.ndarray, devices: int, efficiency: Efficiency, kv_bits: int
) -> np.ndarray:
    """Seconds to send the KV cache of prompts of ``prompt_len`` tokens (whole model) from a prefill replica of
    ``devices`` devices, each sending its share over its own link (bytes / (devices x link bandwidth))."""
    per_request = kv_cache_bytes(model, 1, prompt_len.astype(np.float64), kv_bits, 1)
    return per_request / (devices * link_bandwidth(hw) * efficiency.link)


def _disaggregated(
    m: ModelSpec,
    hw: Hardware,
    reqs: Requests,
    cost: StepCost,
    cap: dict[str, Any],
    scheduler: SchedulerConfig,
    dep: Deployment,
    eff: Efficiency,
    options: dict[str, Any],
    progress: Callable[[int, int], None] | None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    n = len(reqs)
    pp = dep.pipeline_parallel
    p_engines = dep.prefill_replicas * pp
    first = Requests(reqs.arrival, reqs.prompt_len, np.ones(n, dtype=np.int64))
    pre, steps_p, deltas_p, features = _run_pool(first, cost, scheduler, cap["blocks"], p_engines, False, "prefill", 0,
                                                 progress, 0, 2 * n)  # fmt: skip
    kv_bits = options.get("kv_bit") or options.get("a_bit", 16)
    send = transfer_seconds(m, hw, reqs.prompt_len, dep.tensor_parallel * pp, eff, kv_bits)
    ready = np.empty(n)
    for e in range(p_engines):  # each prefill engine's link sends one KV cache at a time, in order of readiness
        idx = np.flatnonzero(pre["engine"] == e)
        idx = idx[np.argsort(pre["first_token"][idx], kind="stable")]
        free_at = 0.0
        for i in idx:
            free_at = max(free_at, pre["first_token"][i]) + send[i]
            ready[i] = free_at
    out = {k: pre[k].copy() for k in ("first_scheduled", "first_token", "finish", "preemptions")}
    out["engine"] = pre["engine"].copy()
    out["transfer"] = send
    multi = np.flatnonzero(reqs.output_len > 1)
    deltas = [deltas_p]
    steps = steps_p
    d_tp = dep.decode_tp
    d_cost = cost if d_tp == dep.tensor_parallel else StepCost(m, hw, eff, d_tp, pp, cost.table_tokens, **options)
    d_cap = kv_capacity(m, hw, scheduler, d_tp, pp, **options)
    _check_fits(d_cap, m, hw, d_tp, pp, " (decode pool)")
    out["_decode_blocks"] = d_cap["blocks"]
    if multi.size:
        order = multi[np.argsort(ready[multi], kind="stable")]
        dec_reqs = Requests(ready[order], reqs.prompt_len[order], reqs.output_len[order])
        dec, steps_d, deltas_d, features_d = _run_pool(dec_reqs, d_cost, scheduler, d_cap["blocks"],
                                                     dep.decode_replicas * pp, True, "decode", p_engines, progress,
                                                     n, 2 * n)  # fmt: skip
        out["finish"][order] = dec["finish"]
        out["preemptions"][order] += dec["preemptions"]
        out["decode_engine"] = np.full(n, -1, dtype=np.int64)
        out["decode_engine"][order] = dec["engine"]
        steps = {k: np.concatenate([steps_p[k], steps_d[k]]) for k in steps_p}
        deltas.append(deltas_d)
        features = features + features_d
    # in transfer: from the first token to the KV cache's arrival at the decode pool
    t = np.concatenate([pre["first_token"][multi], ready[multi]])
    deltas.append(np.array([t, np.concatenate([np.ones(multi.size), -np.ones(multi.size)])]))
    return out, steps, np.concatenate(deltas, axis=1), features


def with_scheduler(scheduler: SchedulerConfig, **changes: Any) -> SchedulerConfig:
    """A copy of ``scheduler`` with ``changes``."""
    return replace(scheduler, **changes)
