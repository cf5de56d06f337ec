"""Serving under load: a request-level simulator of continuous batching on the roofline engine.

Requests arrive (Poisson, bursty or from a trace: :mod:`.arrivals`); an iteration-level scheduler
(:mod:`.scheduler`) batches them step by step within a token budget and a paged KV cache; each step's
time comes from the engine (:mod:`.steptime`); :mod:`.metrics` turns the timings into TTFT, TPOT,
end-to-end and queueing percentiles, throughput and goodput; :mod:`.planning` finds the highest rate a
deployment sustains under an SLO and the fewest devices for a target rate, and says what binds.

    >>> from llmviewer.techniques.loadsim import SLO, SchedulerConfig, Workload, simulate
    >>> r = simulate("Llama-3.1-8B", "H100", Workload(requests=2000, rate=10, prompt=1024, output=256),
    ...              SchedulerConfig(max_batch=64, chunk=512), slo=SLO(ttft=0.5, tpot=0.05))
    >>> r.summary.ttft.p99, r.summary.throughput  # seconds, output tokens/s
    >>> r.requests, r.timeseries, r.occupancy  # DataFrames
"""

from .arrivals import Lengths, Requests, Workload, load_trace, make_requests, save_trace
from .metrics import SLO, ServingSummary, Stats, md1_mean_wait
from .planning import (
    CapacityPlan,
    RateSearch,
    capacity_table,
    concurrency_sweep,
    knee_rates,
    latency_vs_rate,
    max_rate,
    plan_capacity,
)
from .published import compare_serving_curve, serving_curves
from .scheduler import SchedulerConfig
from .simulate import Deployment, ServingResult, kv_capacity, simulate, simulate_pool
from .steptime import StepCost

__all__ = [
    "SLO",
    "CapacityPlan",
    "Deployment",
    "Lengths",
    "RateSearch",
    "Requests",
    "SchedulerConfig",
    "ServingResult",
    "ServingSummary",
    "Stats",
    "StepCost",
    "Workload",
    "capacity_table",
    "compare_serving_curve",
    "concurrency_sweep",
    "knee_rates",
    "kv_capacity",
    "latency_vs_rate",
    "load_trace",
    "make_requests",
    "max_rate",
    "md1_mean_wait",
    "plan_capacity",
    "save_trace",
    "serving_curves",
    "simulate",
    "simulate_pool",
]
