"""Capacity planning: the highest rate a deployment sustains under an SLO, the fewest devices for a target
rate, what binds, and latency against load.

**Highest sustained rate** (:func:`max_rate`). A rate is sustained when the SLO's percentile (p99 by
default) of TTFT and of TPOT over the simulated requests are within the objectives. The search runs at most
``iterations + 3`` simulations, each on the same requests (the same seed) at a different rate: one at
overload (all requests at once, at least ``4 x max_batch`` of them), whose steady completion rate (requests
finished between the first and the third quartile of completions, over that time) is the *saturation rate*
(the throughput the deployment can give at all); one at 2% of it (if even that fails, the SLO cannot be met
at any load and the rate is 0); one at 95% of it; then bisection between the highest passing and the lowest
failing rate. Runs of finite length judge rates near saturation optimistically (the queue has not had time
to grow): use enough requests (a thousand or more) for the rate to mean "sustained".

**What binds** (the rule, applied in this order):

1. The SLO fails even at 2% of the saturation rate: the latency of a lone request is too long. What binds is
   the bound holding most of the time of the steps that make the failing metric (see 4).
2. The highest sustained rate is at least 90% of the saturation rate: the SLO is not what limits; throughput
   is. At saturation: ``KV capacity`` if the engine preempted, or ran on average fewer than 90% of
   ``max_batch`` sequences while holding at least 90% of its KV blocks; otherwise the bound holding the largest
   share of the busy time (compute-bound operators: ``compute``; memory-bound: ``bandwidth``; link-bound:
   ``communication``).
3. Otherwise latency binds first; look at the lowest failing rate. ``KV capacity`` if it preempted. If the
   failing metric (the one furthest over its objective) is TTFT and the queueing delay is at least half of
   TTFT at the SLO percentile: ``queueing``. If it is TPOT in a decode pool whose KV transfer is at least half
   of the TPOT at the SLO percentile: ``communication``.
4. Else the bound holding most of the time of the steps that make the failing metric: the steps that carry
   prefill tokens for TTFT, all steps for TPOT (``compute``, ``bandwidth`` or ``communication``).

**Fewest devices** (:func:`capacity_table`, :func:`plan_capacity`): for each tensor- and pipeline-parallel
size, one replica's highest sustained rate ``r`` gives ``ceil(target / r)`` replicas (requests are spread
round robin, so each replica sees a smoother stream than the Poisson stream it was sized on: conservative).
Disaggregated: the prefill pool is sized on the TTFT objective alone and the decode pool on the TPOT objective
alone (DistServe's method), for every pair of their tensor-parallel sizes. The plan with the fewest devices
wins (ties: aggregated, then fewer devices per replica) and is checked by simulating it whole at the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from llmviewer.errors import LLMViewerError

from .arrivals import Workload
from .metrics import SLO, ServingSummary
from .scheduler import SchedulerConfig
from .simulate import Deployment, ServingResult, simulate, simulate_pool

OVERLOAD_RATE = math.inf
"""Requests/s of the overload run (every request arrives at once)."""
LOW_LOAD = 0.02
HIGH_LOAD = 0.95
BINDINGS = ("compute", "bandwidth", "KV capacity", "communication", "queueing")
_BOUND_NAME = {"compute": "compute", "memory": "bandwidth", "communication": "communication"}


@dataclass(frozen=True)
class RateSearch:
    """Result of :func:`max_rate`: ``rate`` (requests/s, the highest sustained; 0 if none), ``saturation``
    (requests/s at overload), ``binding`` (one of :data:`BINDINGS`) and the ``reason`` in words, the
    ``summary`` at ``rate`` (None when 0), ``simulations`` run and every ``tried`` (rate, sustained)."""

    rate: float
    saturation: float
    binding: str
    reason: str
    summary: ServingSummary | None
    simulations: int
    tried: tuple[tuple[float, bool], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "rate": self.rate,
            "saturation": self.saturation,
            "binding": self.binding,
            "reason": self.reason,
            "simulations": self.simulations,
            "tried": [list(t) for t in self.tried],
            "summary": None if self.summary is None else self.summary.to_dict(),
        }


def _run(
    model: Any,
    hardware: Any,
    workload: Workload,
    rate: float,
    slo: SLO,
    scheduler: SchedulerConfig,
    deployment: Deployment,
    calibration: Any,
    pool: str | None,
    options: dict[str, Any],
) -> ServingResult:
    w = workload.with_rate(rate)
    if pool is None:
        return simulate(model, hardware, w, scheduler, deployment, calibration, slo, **options)
    return simulate_pool(model, hardware, w, pool, scheduler, deployment.tensor_parallel,
                         deployment.pipeline_parallel, calibration, slo, **options)  # fmt: skip


def _step_bound(result: ServingResult, prefill_only: bool) -> tuple[str, float]:
    """(binding name, share) of the bound holding most of the time of the steps (those with prefill tokens
    when ``prefill_only``)."""
    seconds = result.bound_seconds
    if prefill_only:
        mask = result.step_columns["prefill_tokens"] > 0
        if mask.any():
            seconds = seconds[:, mask]
    total = seconds.sum(axis=1)
    i = int(np.argmax(total))
    names = ("compute", "memory", "communication")
    return _BOUND_NAME[names[i]], float(total[i] / total.sum()) if total.sum() > 0 else math.nan


def _failing(summary: ServingSummary, slo: SLO) -> str:
    """The objective furthest over its bound: ``ttft`` or ``tpot``."""
    worst, name = -math.inf, "ttft"
    for metric in ("ttft", "tpot"):
        bound = getattr(slo, metric)
        value = getattr(summary, metric).percentile(slo.percentile)
        if bound is not None and value is not None and value / bound > worst:
            worst, name = value / bound, metric
    return name


def _latency_binding(result: ServingResult, slo: SLO) -> tuple[str, str]:
    """Rule 3-4 of the module docstring, at a failing rate."""
    s = result.summary
    q = slo.percentile
    metric = _failing(s, slo)
    value = getattr(s, metric).percentile(q)
    head = f"at {s.request_throughput:.3g} req/s p{q} {metric.upper()} is {value * 1e3:.4g} ms"
    if s.preemptions:
        return "KV capacity", f"{head}; the KV cache ran out ({s.preemptions} preemptions)"
    if metric == "ttft":
        queue = s.queue.percentile(q)
        if queue is not None and value and queue >= 0.5 * value:
            return "queueing", f"{head}, of which {queue * 1e3:.4g} ms is waiting in the queue"
    transfer = result.request_columns.get("transfer")
    if metric == "tpot" and transfer is not None:
        per_token = transfer / np.maximum(result.request_columns["output_len"] - 1, 1)
        share = float(np.percentile(per_token, q))
        if value and share >= 0.5 * value:
            return "communication", f"{head}, of which {share * 1e3:.4g} ms per token is the KV transfer"
    name, share = _step_bound(result, prefill_only=metric == "ttft")
    steps = "prefill-carrying steps" if metric == "ttft" else "steps"
    return name, f"{head}; {share:.0%} of the time of its {steps} is in {name}-bound operators"


def _steady_rate(result: ServingResult) -> float:
    """Requests/s completed between the first and third quartile of completion times (the steady part of an
    overload run, without its ramp-up and drain); the plain request throughput for fewer than 8 requests."""
    finish = np.sort(result.request_columns["finish"])
    n = finish.size
    if n < 8 or finish[3 * n // 4] <= finish[n // 4]:
        return result.summary.request_throughput
    return (3 * n // 4 - n // 4) / float(finish[3 * n // 4] - finish[n // 4])


def _saturation_binding(result: ServingResult, scheduler: SchedulerConfig) -> tuple[str, str]:
    """Rule 2 of the module docstring, from the overload run."""
    s = result.summary
    if s.preemptions or (s.mean_batch < 0.9 * scheduler.max_batch and s.kv_peak >= 0.9):
        return "KV capacity", (
            f"at saturation the KV cache holds the batch to {s.mean_batch:.3g} of {scheduler.max_batch} sequences "
            f"on average ({s.preemptions} preemptions, peak {s.kv_peak:.0%} of the blocks)"
        )
    name, share = _step_bound(result, prefill_only=False)
    budget = ""
    if s.mean_batch < 0.9 * scheduler.max_batch:
        budget = (f"; the batch averages {s.mean_batch:.3g} of {scheduler.max_batch} sequences (token budget "
                  f"{scheduler.token_budget} per step, {scheduler.effective_priority} priority)")  # fmt: skip
    return name, (
        f"at saturation ({_steady_rate(result):.3g} req/s) {share:.0%} of the busy time is in {name}-bound "
        f"operators{budget}"
    )


def max_rate(
    model: Any,
    hardware: Any,
    workload: Workload,
    slo: SLO,
    scheduler: SchedulerConfig | None = None,
    deployment: Deployment | None = None,
    calibration: Any = None,
    pool: str | None = None,
    iterations: int = 7,
    **options: Any,
) -> RateSearch:
    """The highest arrival rate (requests/s) one ``deployment`` (default: one device) sustains under ``slo``
    for ``workload`` (its own rate is ignored; its seed and lengths are kept), and what binds; see the
    module docstring. At most ``iterations + 3`` simulations. ``pool``: size one pool of a disaggregated
    system instead (``"prefill"`` or ``"decode"``, :func:`~llmviewer.loadsim.simulate.simulate_pool`)."""
    scheduler = scheduler or SchedulerConfig()
    deployment = deployment or Deployment()
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise LLMViewerError(f"iterations must be a non-negative integer, got {iterations!r}")

    def run(rate: float) -> ServingResult:
        return _run(model, hardware, workload, rate, slo, scheduler, deployment, calibration, pool, options)

    overload = workload
    if workload.arrival != "trace" and workload.requests < 4 * scheduler.max_batch:
        overload = replace(workload, requests=4 * scheduler.max_batch)
    sat = _run(model, hardware, overload, OVERLOAD_RATE, slo, scheduler, deployment, calibration, pool, options)
    saturation = _steady_rate(sat)
    sims = 1
    if not slo.stated:
        binding, reason = _saturation_binding(sat, scheduler)
        return RateSearch(saturation, saturation, binding, reason, sat.summary, sims)
    tried: list[tuple[float, bool]] = []
    low = run(LOW_LOAD * saturation)
    sims += 1
    tried.append((LOW_LOAD * saturation, slo.met_by(low.summary)))
    if not tried[-1][1]:
        binding, reason = _latency_binding(low, slo)
        return RateSearch(0.0, saturation, binding, "the SLO is missed even at low load: " + reason, None, sims,
                          tuple(tried))  # fmt: skip
    best, best_result = LOW_LOAD * saturation, low
    high = run(HIGH_LOAD * saturation)
    sims += 1
    tried.append((HIGH_LOAD * saturation, slo.met_by(high.summary)))
    if tried[-1][1]:
        best, best_result = HIGH_LOAD * saturation, high
        fail = None
    else:
        lo, hi, fail = best, HIGH_LOAD * saturation, high
        for _ in range(iterations):
            mid = (lo + hi) / 2
            r = run(mid)
            sims += 1
            ok = slo.met_by(r.summary)
            tried.append((mid, ok))
            if ok:
                lo, best, best_result = mid, mid, r
            else:
                hi, fail = mid, r
    if best >= 0.9 * saturation or fail is None:
        binding, reason = _saturation_binding(sat, scheduler)
    else:
        binding, reason = _latency_binding(fail, slo)
    return RateSearch(best, saturation, binding, reason, best_result.summary, sims, tuple(tried))


def capacity_table(
    model: Any,
    hardware: Any,
    workload: Workload,
    slo: SLO,
    target_rate: float,
    scheduler: SchedulerConfig | None = None,
    tensor_parallel: tuple[int, ...] = (1, 2, 4, 8),
    pipeline_parallel: tuple[int, ...] = (1,),
    disaggregated: bool = True,
    calibration: Any = None,
    iterations: int = 6,
    progress: Any = None,
    **options: Any,
) -> Any:
    """Devices needed for ``target_rate`` requests/s under ``slo``, for every deployment considered (see the
    module docstring). One row per configuration: ``mode`` (aggregated or disaggregated), ``tp``, ``pp``,
    ``decode_tp`` (disaggregated), ``rate_per_replica`` (requests/s; disaggregated: of the pool that needs
    more devices), ``prefill_rate`` and ``decode_rate`` (disaggregated), ``replicas``, ``prefill_replicas``,
    ``decode_replicas``, ``devices``, ``binding``, ``reason``, ``simulations``. Rows that cannot run (the
    model does not fit or divide) have no devices and say why. Sorted by devices. ``progress(done, total)``
    is called after each configuration. Returns a pandas DataFrame."""
    import pandas as pd

    if not (isinstance(target_rate, (int, float)) and target_rate > 0 and math.isfinite(target_rate)):
        raise LLMViewerError(f"the target rate must be a positive number of requests/s, got {target_rate!r}")
    scheduler = scheduler or SchedulerConfig()
    rows: list[dict[str, Any]] = []
    configs = [(tp, pp) for pp in pipeline_parallel for tp in tensor_parallel]
    pools = list(tensor_parallel) if disaggregated else []
    total = len(configs) + 2 * len(pools)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    def search(tp: int, pp: int, pool: str | None, pool_slo: SLO) -> RateSearch | str:
        try:
            return max_rate(model, hardware, workload, pool_slo, scheduler, Deployment(tp, pp), calibration, pool,
                            iterations, **options)  # fmt: skip
        except LLMViewerError as e:
            return str(e)

    for tp, pp in configs:
        r = search(tp, pp, None, slo)
        tick()
        row: dict[str, Any] = {"mode": "aggregated", "tp": tp, "pp": pp, "decode_tp": None}
        if isinstance(r, str) or r.rate <= 0:
            row.update(devices=None, binding=None if isinstance(r, str) else r.binding,
                       reason=r if isinstance(r, str) else r.reason)  # fmt: skip
        else:
            replicas = math.ceil(target_rate / r.rate)
            row.update(rate_per_replica=r.rate, replicas=replicas, devices=replicas * tp * pp, binding=r.binding,
                       reason=r.reason, simulations=r.simulations)  # fmt: skip
        rows.append(row)
    prefill: dict[int, RateSearch | str] = {}
    decode: dict[int, RateSearch | str] = {}
    for tp in pools:
        prefill[tp] = search(tp, 1, "prefill", replace(slo, tpot=None))
        tick()
        decode[tp] = search(tp, 1, "decode", replace(slo, ttft=None))
        tick()
    for tp_p in pools:
        for tp_d in pools:
            p, d = prefill[tp_p], decode[tp_d]
            row = {"mode": "disaggregated", "tp": tp_p, "pp": 1, "decode_tp": tp_d}
            bad = [x for x in (p, d) if isinstance(x, str) or x.rate <= 0]
            if bad:
                x = bad[0]
                row.update(devices=None, binding=None if isinstance(x, str) else x.binding,
                           reason=x if isinstance(x, str) else x.reason)  # fmt: skip
                rows.append(row)
                continue
            x, y = math.ceil(target_rate / p.rate), math.ceil(target_rate / d.rate)
            heavier = p if x * tp_p >= y * tp_d else d
            row.update(rate_per_replica=heavier.rate, prefill_rate=p.rate, decode_rate=d.rate, prefill_replicas=x,
                       decode_replicas=y, devices=x * tp_p + y * tp_d, binding=heavier.binding,
                       reason=f"{'prefill' if heavier is p else 'decode'} pool: {heavier.reason}",
                       simulations=p.simulations + d.simulations)  # fmt: skip
            rows.append(row)
    cols = ["mode", "tp", "pp", "decode_tp", "rate_per_replica", "prefill_rate", "decode_rate", "replicas",
            "prefill_replicas", "decode_replicas", "devices", "binding", "reason", "simulations"]  # fmt: skip
    table = pd.DataFrame(rows).reindex(columns=cols)
    table["devices_per_replica"] = table["tp"] * table["pp"]
    table = table.sort_values(["devices", "mode", "devices_per_replica"], kind="stable", na_position="last")
    return table.drop(columns="devices_per_replica").reset_index(drop=True)


@dataclass(frozen=True)
class CapacityPlan:
    """Result of :func:`plan_capacity`: the ``deployment`` with the fewest ``devices`` for ``target_rate``
    (None when no configuration sustains the SLO), its ``binding`` and ``reason``, the ``table`` of every
    configuration (:func:`capacity_table`), and the ``check``: a simulation of the whole chosen deployment at
    the target rate (its summary) with ``meets`` telling whether it met the SLO."""

    target_rate: float
    slo: SLO
    deployment: Deployment | None
    devices: int | None
    binding: str | None
    reason: str | None
    table: Any = field(repr=False)
    check: ServingSummary | None = field(repr=False, default=None)
    meets: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON form (the table as a list of rows)."""
        rows = self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records")
        return {
            "target_rate": self.target_rate,
            "slo": self.slo.to_dict(),
            "deployment": None if self.deployment is None else self.deployment.to_dict(),
            "devices": self.devices,
            "binding": self.binding,
            "reason": self.reason,
            "meets": self.meets,
            "check": None if self.check is None else self.check.to_dict(),
            "table": rows,
        }


def plan_capacity(
    model: Any,
    hardware: Any,
    workload: Workload,
    slo: SLO,
    target_rate: float,
    scheduler: SchedulerConfig | None = None,
    tensor_parallel: tuple[int, ...] = (1, 2, 4, 8),
    pipeline_parallel: tuple[int, ...] = (1,),
    disaggregated: bool = True,
    calibration: Any = None,
    iterations: int = 6,
    check: bool = True,
    progress: Any = None,
    **options: Any,
) -> CapacityPlan:
    """The fewest devices that serve ``target_rate`` requests/s of ``workload`` under ``slo``, over the
    tensor/pipeline-parallel sizes given and aggregated vs disaggregated serving (:func:`capacity_table`);
    with ``check``, the chosen deployment is simulated whole at the target rate."""
    scheduler = scheduler or SchedulerConfig()
    table = capacity_table(model, hardware, workload, slo, target_rate, scheduler, tensor_parallel,
                           pipeline_parallel, disaggregated, calibration, iterations, progress, **options)  # fmt: skip
    usable = table[table["devices"].notna()]
    if usable.empty:
        first = table.iloc[0]
        return CapacityPlan(target_rate, slo, None, None, first["binding"], first["reason"], table)
    best = usable.iloc[0]
    if best["mode"] == "aggregated":
        dep = Deployment(int(best["tp"]), int(best["pp"]), int(best["replicas"]))
    else:
        dep = Deployment(
            int(best["tp"]),
            1,
            prefill_replicas=int(best["prefill_replicas"]),
            decode_replicas=int(best["decode_replicas"]),
            decode_tensor_parallel=int(best["decode_tp"]),
        )
    summary, meets = None, None
    if check:
        res = simulate(model, hardware, workload.with_rate(target_rate), scheduler, dep, calibration, slo, **options)
        summary, meets = res.summary, slo.met_by(res.summary)
    return CapacityPlan(target_rate, slo, dep, int(best["devices"]), best["binding"], best["reason"], table,
                        summary, meets)  # fmt: skip


LATENCY_COLUMNS = ("ttft", "tpot", "e2e", "queue")


def latency_vs_rate(
    model: Any,
    hardware: Any,
    workload: Workload,
    rates: Any,
    variants: dict[str, SchedulerConfig] | None = None,
    deployment: Deployment | None = None,
    calibration: Any = None,
    slo: SLO | None = None,
    **options: Any,
) -> Any:
    """Latency against load: one simulation per (variant, rate) on the same requests (``workload``'s seed),
    each variant a :class:`SchedulerConfig` (default: chunked prefill of 512 tokens vs none). Returns a pandas
    DataFrame with ``variant``, ``rate`` (requests/s offered), ``ttft_*``, ``tpot_*``, ``e2e_*``, ``queue_*``
    (``mean``, ``p50``, ``p90``, ``p99``; seconds, NaN where undefined), ``throughput`` (output tokens/s),
    ``request_throughput`` (requests/s), ``goodput`` (requests/s meeting ``slo``, NaN without one),
    ``mean_batch``, ``kv_peak`` and ``preemptions``."""
    import pandas as pd

    if variants is None:
        variants = {"chunked prefill 512": SchedulerConfig(chunk=512), "no chunking": SchedulerConfig()}
    rates = np.atleast_1d(np.asarray(rates, dtype=np.float64))
    if rates.size == 0 or not np.all(np.isfinite(rates)) or np.any(rates <= 0):
        raise LLMViewerError("rates must be positive numbers of requests/s")
    rows = []
    for name, sched in variants.items():
        for rate in rates:
            s = simulate(model, hardware, workload.with_rate(float(rate)), sched, deployment, calibration, slo,
                         **options).summary  # fmt: skip
            row: dict[str, Any] = {"variant": name, "rate": float(rate)}
            for metric in LATENCY_COLUMNS:
                st = getattr(s, metric)
                for k in ("mean", "p50", "p90", "p99"):
                    v = getattr(st, k)
                    row[f"{metric}_{k}"] = math.nan if v is None else v
            row.update(throughput=s.throughput, request_throughput=s.request_throughput,
                       goodput=math.nan if s.goodput is None else s.goodput, mean_batch=s.mean_batch,
                       kv_peak=s.kv_peak, preemptions=s.preemptions)  # fmt: skip
            rows.append(row)
    return pd.DataFrame(rows)


def concurrency_sweep(
    model: Any,
    hardware: Any,
    prompt: Any,
    output: Any,
    concurrencies: Any,
    requests: Any = None,
    seed: int = 0,
    scheduler: SchedulerConfig | None = None,
    deployment: Deployment | None = None,
    calibration: Any = None,
    **options: Any,
) -> Any:
    """A closed-loop benchmark (``vllm bench serve --request-rate inf --max-concurrency C``): at most ``C``
    requests in flight, a new one sent as soon as one finishes; ``prompt`` and ``output`` lengths in tokens
    (integers, or :class:`~llmviewer.loadsim.arrivals.Lengths` drawn with ``seed``). Simulated as ``requests``
    requests (default ``20 C``) all waiting at time 0 for an engine of ``max_batch = C``; a request's TTFT is
    counted from its admission (when the client would send it), TPOT as usual. With fixed lengths the batch
    stays in lock step (all finish together, then all prefill together), which real runs avoid through
    outputs that end early: give ``output`` a distribution to compare TTFT with measurements. Returns a
    pandas DataFrame with ``concurrency``, ``request_throughput`` (requests/s),
    ``throughput`` (output tokens/s), ``ttft_mean``, ``ttft_p50``, ``ttft_p99``, ``tpot_mean``, ``tpot_p50``,
    ``tpot_p99`` (seconds)."""
    import pandas as pd

    scheduler = scheduler or SchedulerConfig()
    rows = []
    for c in np.atleast_1d(np.asarray(concurrencies)):
        c = int(c)
        if c < 1:
            raise LLMViewerError(f"concurrency must be a positive integer, got {c}")
        n = int(requests) if requests is not None else 20 * c
        reqs = Workload(requests=n, rate=math.inf, prompt=prompt, output=output, seed=seed).sample()
        r = simulate(model, hardware, reqs, replace(scheduler, max_batch=c), deployment, calibration, **options)
        q = r.request_columns
        ttft = q["first_token"] - q["first_scheduled"]
        s = r.summary
        rows.append(
            {
                "concurrency": c,
                "request_throughput": s.request_throughput,
                "throughput": s.throughput,
                "ttft_mean": float(ttft.mean()),
                "ttft_p50": float(np.percentile(ttft, 50)),
                "ttft_p99": float(np.percentile(ttft, 99)),
                "tpot_mean": math.nan if s.tpot.mean is None else s.tpot.mean,
                "tpot_p50": math.nan if s.tpot.p50 is None else s.tpot.p50,
                "tpot_p99": math.nan if s.tpot.p99 is None else s.tpot.p99,
            }
        )
    return pd.DataFrame(rows)


def knee_rates(table: Any, served: float = 0.95) -> dict[str, float]:
    """Where the queue explodes, per variant of a :func:`latency_vs_rate` table: the request rate the engine
    sustains (requests/s completed) at the first offered rate it cannot keep up with (completing fewer than
    ``served`` of the offered requests per second). Past it the queue, and with it TTFT, grows with the
    length of the run. NaN for a variant that keeps up at every rate simulated."""
    out: dict[str, float] = {}
    for name, rows in table.groupby("variant", sort=False):
        rows = rows.sort_values("rate")
        over = rows[rows["request_throughput"] < served * rows["rate"]]
        out[str(name)] = float(over["request_throughput"].iloc[0]) if len(over) else math.nan
    return out
