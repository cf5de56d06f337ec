"""What people measure on a serving system: latency percentiles, throughput, goodput, occupancy.

Definitions (seconds and tokens; those of vLLM's and SGLang's serving benchmarks):

* queueing delay: from a request's arrival to the start of the first step that works on it;
* TTFT (time to first token): from arrival to the end of the step that emits its first token;
* TPOT (time per output token): per request, ``(e2e - ttft) / (output_len - 1)``, the mean gap between its
  later tokens (undefined for one-token outputs, which are left out of TPOT statistics);
* e2e: from arrival to the end of the step that emits its last token;
* throughput: output tokens over the duration (first arrival to last finish), tokens/s; also requests/s and
  prompt + output tokens/s;
* goodput: requests that meet every SLO (TTFT <= ``slo.ttft`` and TPOT <= ``slo.tpot``) per second of the
  duration (DistServe's definition);
* statistics are the mean and the 50th, 90th and 99th percentiles (numpy's linear interpolation).

Every summary serialises to strict JSON: a number that does not exist is ``null`` with the reason beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmviewer.errors import LLMViewerError

PERCENTILES = (50, 90, 99)


@dataclass(frozen=True)
class Stats:
    """Mean and percentiles of a latency (seconds); None with a ``reason`` when there is no sample."""

    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    reason: str | None = None

    @classmethod
    def of(cls, values: np.ndarray, empty_reason: str) -> Stats:
        """Statistics of the finite entries of ``values``."""
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return cls(None, None, None, None, empty_reason)
        p = np.percentile(v, PERCENTILES)
        return cls(float(v.mean()), float(p[0]), float(p[1]), float(p[2]))

    def to_dict(self) -> dict[str, Any]:
        """``{"mean", "p50", "p90", "p99"}`` (and ``"reason"`` when they are null)."""
        out: dict[str, Any] = {"mean": self.mean, "p50": self.p50, "p90": self.p90, "p99": self.p99}
        if self.reason is not None:
            out["reason"] = self.reason
        return out

    def percentile(self, q: int) -> float | None:
        """The ``q``-th percentile (50, 90 or 99) or None."""
        if q not in PERCENTILES:
            raise LLMViewerError(f"percentile must be one of {PERCENTILES}, got {q!r}")
        return getattr(self, f"p{q}")


@dataclass(frozen=True)
class SLO:
    """Service-level objectives: time to first token ``ttft`` and time per output token ``tpot`` (seconds;
    None = no objective). A request meets them when both hold; a configuration sustains them when the
    ``percentile``-th percentile of TTFT and of TPOT are within them (:meth:`met_by`)."""

    ttft: float | None = None
    tpot: float | None = None
    percentile: int = 99

    def __post_init__(self) -> None:
        for name in ("ttft", "tpot"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
                raise LLMViewerError(f"the {name.upper()} objective must be a positive number of seconds, got {v!r}")
            if v is not None and not math.isfinite(v):
                raise LLMViewerError(f"the {name.upper()} objective must be finite, got {v!r}")
        if self.percentile not in PERCENTILES:
            raise LLMViewerError(f"the SLO percentile must be one of {PERCENTILES}, got {self.percentile!r}")

    @property
    def stated(self) -> bool:
        """Whether any objective is set."""
        return self.ttft is not None or self.tpot is not None

    def meets(self, ttft: np.ndarray, tpot: np.ndarray) -> np.ndarray:
        """Per request: does it meet every objective (a one-token output has no TPOT to miss)?"""
        ok = np.ones(np.shape(ttft), dtype=bool)
        if self.ttft is not None:
            ok &= ttft <= self.ttft
        if self.tpot is not None:
            ok &= ~(tpot > self.tpot)  # NaN TPOT (one-token output) passes
        return ok

    def met_by(self, summary: ServingSummary) -> bool:
        """Whether the summary's ``percentile``-th TTFT and TPOT are within the objectives."""
        for name in ("ttft", "tpot"):
            bound = getattr(self, name)
            value = getattr(summary, name).percentile(self.percentile)
            if bound is not None and value is not None and value > bound:
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"ttft": self.ttft, "tpot": self.tpot, "percentile": self.percentile}


def _num(x: Any) -> float | None:
    """A finite float or None (strict JSON)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class ServingSummary:
    """The summary of a simulation (seconds, tokens/s, requests/s). ``throughput``: output tokens/s;
    ``total_throughput``: prompt + output tokens/s; ``request_throughput``: requests/s; ``goodput``:
    requests/s meeting the SLO (None without an SLO); ``slo_attainment``: fraction meeting it;
    ``mean_batch``: time-weighted mean of sequences per step over busy time; ``kv_peak``: the largest
    fraction of an engine's KV blocks held; ``busy``: engine-seconds spent in steps; ``littles_law``: mean
    number in the system (time series) and arrival rate x mean time in the system (per request)."""

    requests: int
    duration: float
    ttft: Stats
    tpot: Stats
    e2e: Stats
    queue: Stats
    throughput: float
    total_throughput: float
    request_throughput: float
    goodput: float | None
    slo_attainment: float | None
    slo: SLO
    preemptions: int
    mean_batch: float
    kv_peak: float
    busy: float
    littles_law: dict[str, float]
    notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON form: latencies as ``{"mean", "p50", "p90", "p99"}``; nulls carry a reason."""
        out: dict[str, Any] = {
            "requests": self.requests,
            "duration": _num(self.duration),
            "ttft": self.ttft.to_dict(),
            "tpot": self.tpot.to_dict(),
            "e2e": self.e2e.to_dict(),
            "queue": self.queue.to_dict(),
            "throughput": _num(self.throughput),
            "total_throughput": _num(self.total_throughput),
            "request_throughput": _num(self.request_throughput),
            "goodput": _num(self.goodput),
            "slo_attainment": _num(self.slo_attainment),
            "slo": self.slo.to_dict(),
            "preemptions": self.preemptions,
            "mean_batch": _num(self.mean_batch),
            "kv_peak": _num(self.kv_peak),
            "busy": _num(self.busy),
            "littles_law": {k: _num(v) for k, v in self.littles_law.items()},
        }
        if self.goodput is None:
            out["goodput_reason"] = self.notes.get("goodput", "no SLO given")
        if self.notes:
            out["notes"] = dict(self.notes)
        return out


def summarize(
    requests: dict[str, np.ndarray],
    steps: dict[str, np.ndarray],
    occupancy: np.ndarray,
    slo: SLO,
) -> ServingSummary:
    """The :class:`ServingSummary` of per-request columns (``arrival``, ``prompt_len``, ``output_len``,
    ``first_scheduled``, ``first_token``, ``finish``, ``preemptions``), per-step columns (``duration``,
    ``seqs``, ``kv_fraction``) and the occupancy series
    (2 x events: time, requests in the system)."""
    arrival, finish = requests["arrival"], requests["finish"]
    out_len = requests["output_len"]
    ttft = requests["first_token"] - arrival
    e2e = finish - arrival
    with np.errstate(divide="ignore", invalid="ignore"):
        tpot = np.where(out_len > 1, (e2e - ttft) / (out_len - 1), np.nan)
    queue = requests["first_scheduled"] - arrival
    start, end = float(arrival.min()), float(finish.max())
    duration = end - start
    n = len(arrival)
    notes: dict[str, str] = {}
    rate = (lambda x: x / duration) if duration > 0 else (lambda x: math.nan)
    good = slo.meets(ttft, tpot)
    goodput = rate(float(good.sum())) if slo.stated else None
    if not slo.stated:
        notes["goodput"] = "no SLO given (set a TTFT and/or TPOT objective)"
    busy = float(steps["duration"].sum())
    mean_batch = float((steps["seqs"] * steps["duration"]).sum() / busy) if busy > 0 else math.nan
    # Little's law: time-average of the number in the system over [start, end] vs rate x mean time in system
    t, k = occupancy
    area = float((k[:-1] * np.diff(t)).sum()) if t.size > 1 else 0.0
    little = {"mean_in_system": area / duration if duration > 0 else math.nan, "rate_x_time": rate(n) * e2e.mean()}
    tpot_reason = "every request generated one token: no time between tokens"
    return ServingSummary(
        requests=n,
        duration=duration,
        ttft=Stats.of(ttft, "no request"),
        tpot=Stats.of(tpot, tpot_reason),
        e2e=Stats.of(e2e, "no request"),
        queue=Stats.of(queue, "no request"),
        throughput=rate(float(out_len.sum())),
        total_throughput=rate(float(out_len.sum() + requests["prompt_len"].sum())),
        request_throughput=rate(n),
        goodput=goodput,
        slo_attainment=float(good.mean()) if slo.stated else None,
        slo=slo,
        preemptions=int(requests["preemptions"].sum()),
        mean_batch=mean_batch,
        kv_peak=float(steps["kv_fraction"].max()) if steps["kv_fraction"].size else 0.0,
        busy=busy,
        littles_law=little,
        notes=notes,
    )


def md1_mean_wait(rho: float, service: float) -> float:
    """Mean queueing delay (seconds) of an M/D/1 queue, Pollaczek-Khinchine: ``rho * S / (2 (1 - rho))``
    for Poisson arrivals at utilisation ``rho`` (arrival rate x service time, in (0, 1)) and a
    deterministic service time ``service`` (seconds) per request, one request at a time. The reference
    the simulator is checked against when it serves one request at a time."""
    from ...errors import LLMViewerError

    rho, service = float(rho), float(service)
    if not 0 < rho < 1:
        raise LLMViewerError(f"rho must be in (0, 1) for a stable queue, got {rho}")
    if not (service > 0 and service < float("inf")):
        raise LLMViewerError(f"service must be a positive number of seconds, got {service}")
    return rho * service / (2 * (1 - rho))
