"""Command line of serving under load: ``llmviewer serve ... --rate R`` (or ``--trace FILE``) and ``llmviewer plan``.

``serve`` keeps its static mode (one batch on tensor/pipeline-parallel devices) unless ``--rate`` or ``--trace``
is given; then it simulates requests arriving over time (:func:`llmviewer.loadsim.simulate`) and prints the
latency percentiles, throughput and goodput. ``plan`` finds the highest rate one deployment sustains under an
SLO, or, with ``--target-rate``, the fewest devices for that rate (:mod:`llmviewer.loadsim.planning`).
A progress bar goes to stderr for runs longer than 2 s (tqdm when installed, else one line that updates).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

from ..errors import LLMViewerError
from .render import print_json

LOAD_FLAGS = ("rate", "requests", "max_batch", "max_tokens", "chunk", "seed", "trace", "cv",
              "prompt_dist", "gen_dist", "priority", "block_size", "preemption", "prefix_hit_rate", "replicas",
              "prefill_replicas", "decode_replicas", "decode_tp", "slo_ttft", "slo_tpot", "slo_percentile",
              "memory_utilization", "kv_blocks", "quiet")  # fmt: skip
"""Destinations of the flags that only the load mode uses."""


def _shared_load_flags(p: argparse.ArgumentParser, plan: bool) -> None:
    """Flags of the workload, scheduler and SLO that ``serve`` (load mode) and ``plan`` share."""
    w = p.add_argument_group("requests (load mode)")
    w.add_argument("--rate", type=float, default=None, help="mean arrival rate, requests/s (Poisson unless --cv)")
    w.add_argument("--requests", type=int, default=None, help="requests to simulate (default 1000; trace: all)")
    w.add_argument(
        "--cv",
        type=float,
        default=None,
        help="bursty arrivals: gamma-distributed gaps with this coefficient of variation (1 = Poisson)",
    )
    w.add_argument(
        "--trace",
        metavar="FILE",
        default=None,
        help="CSV/JSONL trace of arrival_time,prompt_len,output_len (with --rate: rescaled to that rate)",
    )
    w.add_argument(
        "--prompt-dist",
        dest="prompt_dist",
        choices=["fixed", "uniform", "lognormal"],
        default=None,
        help="prompt lengths: fixed (default), uniform on [P/2, 3P/2], lognormal of mean P (sigma 0.5)",
    )
    w.add_argument(
        "--gen-dist",
        dest="gen_dist",
        choices=["fixed", "uniform", "lognormal"],
        default=None,
        help="output lengths, as --prompt-dist around --gen-len",
    )
    w.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    s = p.add_argument_group("scheduler (load mode)")
    s.add_argument(
        "--max-batch",
        "--max_batch",
        dest="max_batch",
        type=int,
        default=None,
        help="sequences per step (vLLM max_num_seqs; default 256)",
    )
    s.add_argument(
        "--max-tokens",
        "--max_tokens",
        dest="max_tokens",
        type=int,
        default=None,
        help="tokens per step (vLLM max_num_batched_tokens; default: the chunk, else 8192)",
    )
    s.add_argument(
        "--chunked-prefill",
        "--chunked_prefill",
        dest="chunk",
        type=int,
        default=None,
        metavar="C",
        help="chunked prefill: at most C prompt tokens of a request per step",
    )
    s.add_argument(
        "--priority",
        choices=["auto", "decode", "prefill"],
        default=None,
        help="decode first (mixed steps) or prefill first (default: decode with chunking, else prefill)",
    )
    s.add_argument("--block-size", dest="block_size", type=int, default=None, help="tokens per KV block (16)")
    s.add_argument(
        "--preemption",
        choices=["recompute", "reserve"],
        default=None,
        help="recompute (vLLM, default) or reserve each request's whole length at admission",
    )
    s.add_argument(
        "--prefix-hit-rate",
        dest="prefix_hit_rate",
        type=float,
        default=None,
        help="fraction of prompt tokens found in the prefix cache (not computed)",
    )
    s.add_argument(
        "--memory-utilization",
        dest="memory_utilization",
        type=float,
        default=None,
        help="fraction of device memory the engine may use (0.9)",
    )
    s.add_argument("--kv-blocks", dest="kv_blocks", type=int, default=None, help="KV blocks per engine (override)")
    d = p.add_argument_group("deployment and SLO (load mode)")
    if not plan:
        d.add_argument("--replicas", type=int, default=None, help="copies of the model (requests round robin)")
        d.add_argument(
            "--prefill-replicas",
            dest="prefill_replicas",
            type=int,
            default=None,
            help="disaggregated: prefill replicas (needs --decode-replicas)",
        )
        d.add_argument(
            "--decode-replicas", dest="decode_replicas", type=int, default=None, help="disaggregated: decode replicas"
        )
        d.add_argument(
            "--decode-tp",
            dest="decode_tp",
            type=int,
            default=None,
            help="disaggregated: tensor-parallel devices of a decode replica (default --tp)",
        )
    d.add_argument("--slo-ttft", dest="slo_ttft", type=float, default=None, help="TTFT objective, seconds")
    d.add_argument("--slo-tpot", dest="slo_tpot", type=float, default=None, help="TPOT objective, seconds")
    d.add_argument(
        "--slo-percentile",
        dest="slo_percentile",
        type=int,
        choices=[50, 90, 99],
        default=None,
        help="percentile that must meet the objectives (99)",
    )
    d.add_argument("--quiet", action="store_true", default=None, help="no progress bar")  # fmt: skip


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """Give ``llmviewer serve``'s parser the load-mode flags (they change nothing without ``--rate``/``--trace``)."""
    _shared_load_flags(parser, plan=False)


PLAN_HELP = "highest request rate under an SLO, or fewest devices for a target rate"


def configure_plan(p: argparse.ArgumentParser) -> None:
    """The flags of ``llmviewer plan`` beyond the shared model, device, task, precision, ``--tp`` and
    output flags."""
    p.add_argument(
        "--target-rate",
        dest="target_rate",
        type=float,
        default=None,
        help="requests/s to serve: plan the fewest devices (else: the highest rate of --tp x --pp)",
    )
    p.add_argument("--pipeline-parallel", "--pipeline_parallel", "--pp", dest="pipeline_parallel", type=int,
                   default=1, help="pipeline stages")  # fmt: skip
    p.add_argument("--tp-choices", dest="tp_choices", default="1,2,4,8",
                   help="with --target-rate: tensor-parallel sizes to consider, a comma list (1,2,4,8)")  # fmt: skip
    p.add_argument("--pp-choices", dest="pp_choices", default=None,
                   help="with --target-rate: pipeline sizes to consider, a comma list (default: --pp)")  # fmt: skip
    p.add_argument(
        "--no-disaggregated",
        dest="no_disaggregated",
        action="store_true",
        help="with --target-rate: consider aggregated serving only",
    )
    p.add_argument("--iterations", type=int, default=6, help="bisection steps per configuration (6)")
    _shared_load_flags(p, plan=True)


def load_mode(args: argparse.Namespace) -> bool:
    """Whether ``serve`` runs under load (``--rate`` or ``--trace``); load-only flags without them are an error."""
    if args.rate is not None or args.trace is not None:
        return True
    given = [f for f in LOAD_FLAGS if getattr(args, f, None) is not None]
    if given:
        flag = "--" + given[0].replace("_", "-").replace("chunk", "chunked-prefill")
        raise LLMViewerError(f"{flag} belongs to serving under load: add --rate R or --trace FILE")
    return False


# --------------------------------------------------------------------------- building the inputs


def _lengths(kind: str | None, mean: int, name: str) -> Any:
    from ..techniques.loadsim import Lengths

    if mean is None or mean < 1:
        raise LLMViewerError(f"--{name} must be a positive integer, got {mean!r}")
    if kind in (None, "fixed"):
        return mean
    if kind == "uniform":
        return Lengths.uniform(max(mean // 2, 1), max(mean + mean // 2, 1))
    return Lengths.lognormal(mean)


def _workload(args: argparse.Namespace) -> Any:
    from ..techniques.loadsim import Workload

    if args.cv is not None and args.trace is not None:
        raise LLMViewerError("--cv shapes generated arrivals; a --trace brings its own")
    requests = args.requests if args.requests is not None else (None if args.trace is not None else 1000)
    return Workload(
        requests=requests,
        rate=args.rate,
        arrival="gamma" if args.cv is not None else "poisson",
        cv=args.cv if args.cv is not None else 1.0,
        prompt=_lengths(args.prompt_dist, args.prompt_len, "prompt-len"),
        output=_lengths(args.gen_dist, args.gen_len, "gen-len"),
        trace=args.trace,
        seed=args.seed if args.seed is not None else 0,
    )


def _scheduler(args: argparse.Namespace) -> Any:
    from ..techniques.loadsim import SchedulerConfig

    given = {
        "max_batch": args.max_batch,
        "max_tokens": args.max_tokens,
        "chunk": args.chunk,
        "priority": args.priority,
        "block_size": args.block_size,
        "preemption": args.preemption,
        "prefix_hit_rate": args.prefix_hit_rate,
        "memory_utilization": args.memory_utilization,
        "kv_blocks": args.kv_blocks,
    }
    return SchedulerConfig(**{k: v for k, v in given.items() if v is not None})


def _slo(args: argparse.Namespace) -> Any:
    from ..techniques.loadsim import SLO

    return SLO(args.slo_ttft, args.slo_tpot, args.slo_percentile if args.slo_percentile is not None else 99)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"w_bit": args.w_bit}
    if args.kv_bit is not None:
        out["kv_bit"] = args.kv_bit
    from .options import attention_options

    return {**out, **attention_options(args)}


class Progress:
    """A progress bar on stderr that appears only after 2 s: tqdm when it is installed, else one line
    rewritten in place. Call it with (done, total); :meth:`close` at the end."""

    def __init__(self, unit: str, enabled: bool = True) -> None:
        self.unit, self.enabled = unit, enabled
        self.start = time.monotonic()
        self.bar: Any = None
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.start < 2.0:
            return
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is installed in the development environment
            tqdm = None
        if tqdm is not None:
            if self.bar is None:
                self.bar = tqdm(total=total, initial=done, unit=self.unit, file=sys.stderr, leave=False,
                                dynamic_ncols=True)  # fmt: skip
            self.bar.total = total
            self.bar.update(done - self.bar.n)
        else:  # pragma: no cover
            sys.stderr.write(f"\r{done}/{total} {self.unit}s ({100 * done / max(total, 1):.0f}%)")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.close()
        elif self.shown:  # pragma: no cover
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# --------------------------------------------------------------------------- serve under load


def _fmt_s(x: float | None) -> str:
    from .render import si

    return "-" if x is None else si(x, "s")


def _stats_table(summary: Any) -> list[str]:
    lines = [f"  {'':<8}{'mean':>10}{'p50':>10}{'p90':>10}{'p99':>10}"]
    for name, label in (("ttft", "TTFT"), ("tpot", "TPOT"), ("e2e", "e2e"), ("queue", "queue")):
        st = getattr(summary, name)
        lines.append(f"  {label:<8}" + "".join(f"{_fmt_s(getattr(st, k)):>10}" for k in ("mean", "p50", "p90", "p99")))
        if st.reason:
            lines[-1] += f"   ({st.reason})"
    return lines


def _slo_text(slo: Any) -> str:
    parts = [f"TTFT <= {_fmt_s(slo.ttft)}" if slo.ttft is not None else None,
             f"TPOT <= {_fmt_s(slo.tpot)}" if slo.tpot is not None else None]  # fmt: skip
    return " and ".join(p for p in parts if p)


def run_load(args: argparse.Namespace) -> int:
    """Run ``llmviewer serve`` under load (``--rate``/``--trace``)."""
    from ..techniques.loadsim import Deployment, simulate
    from .options import resolve_device

    device = resolve_device(args)

    if getattr(args, "devices", None) is not None:
        raise LLMViewerError("--devices is for static serving; under load give --tp, --pp and --replicas")
    if getattr(args, "micro_batches", None) is not None:
        raise LLMViewerError("--micro-batches is for static serving (under load each pipeline stage runs its own)")
    workload = _workload(args)
    scheduler = _scheduler(args)
    slo = _slo(args)
    deployment = Deployment(
        args.tensor_parallel,
        args.pipeline_parallel,
        args.replicas if args.replicas is not None else 1,
        args.prefill_replicas or 0,
        args.decode_replicas or 0,
        args.decode_tp,
    )
    options = _options(args)
    progress = Progress("request", enabled=not args.quiet)
    try:
        result = simulate(args.model, device, workload, scheduler, deployment, args.calibrated, slo,
                          progress, **options)  # fmt: skip
    finally:
        progress.close()
    if args.json:
        print_json(result.to_dict())
        return 0
    s = result.summary
    w = workload
    if w.arrival == "trace":
        arrivals = f"trace {w.trace}" + (f" rescaled to {w.rate:g} req/s" if w.rate else "")
        lengths = "lengths from the trace"
    else:
        kind = "Poisson" if w.arrival == "poisson" else f"gamma (cv {w.cv:g})"
        arrivals = "all at once (rate inf)" if w.rate == math.inf else f"{kind} {w.rate:g} req/s"
        lengths = f"prompt {_describe(w.prompt)}, output {_describe(w.output)}"
    dep = deployment
    if dep.disaggregated:
        where = (f"{dep.devices} x {result.hardware} disaggregated: {dep.prefill_replicas} prefill replica(s) of tp "
                 f"{dep.tensor_parallel}, {dep.decode_replicas} decode replica(s) of tp {dep.decode_tp}")  # fmt: skip
    else:
        where = f"{dep.devices} x {result.hardware} ({dep.replicas} replica(s) of tp {dep.tensor_parallel}, pp " \
                f"{dep.pipeline_parallel})"  # fmt: skip
    sched = scheduler
    chunk = f"chunked prefill {sched.chunk}" if sched.chunk else "no chunked prefill"
    blocks = ", ".join(f"{k} {v}" for k, v in result.kv_blocks.items())
    print(f"{result.model} on {where}: {s.requests} requests, {arrivals}, {lengths}")
    label = getattr(args, "calibration_class", args.calibrated)  # the class name, also under --decode-graphs
    timing = f"calibrated ({label})" if args.calibrated else "pure roofline"
    print(f"  scheduler: max batch {sched.max_batch}, token budget {sched.token_budget}, {chunk}, "
          f"{sched.effective_priority} priority, {sched.preemption}; KV blocks of {sched.block_size} tokens "
          f"per engine: {blocks}; step times: {timing}")  # fmt: skip
    for line in _stats_table(s):
        print(line)
    print(f"  throughput  {s.throughput:.4g} output tokens/s, {s.total_throughput:.4g} tokens/s with prompts, "
          f"{s.request_throughput:.4g} requests/s over {_fmt_s(s.duration)}")  # fmt: skip
    if s.goodput is not None:
        print(f"  goodput  {s.goodput:.4g} requests/s meet {_slo_text(slo)} ({s.slo_attainment:.1%} of requests); "
              f"p{slo.percentile} {'meets' if slo.met_by(s) else 'misses'} the SLO")  # fmt: skip
    shares = result.bound_share
    top = max(shares, key=lambda k: -1 if math.isnan(shares[k]) else shares[k])
    print(f"  batch {s.mean_batch:.3g} sequences per step on average; KV peak {s.kv_peak:.1%}; "
          f"{s.preemptions} preemptions; {shares[top]:.0%} of busy time {top}-bound")  # fmt: skip
    little = s.littles_law
    print(f"  Little's law: {little['mean_in_system']:.4g} requests in the system on average, arrival rate x "
          f"time in system = {little['rate_x_time']:.4g}")  # fmt: skip
    return 0


def _describe(lengths: Any) -> str:
    if lengths.kind == "fixed":
        return str(int(lengths.mean))
    if lengths.kind == "uniform":
        return f"uniform {lengths.low}-{lengths.high}"
    return f"lognormal mean {lengths.mean:g}"


# --------------------------------------------------------------------------- plan


def _int_list(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in str(text).split(",") if x.strip())
    except ValueError:
        raise LLMViewerError(f"{flag} must be an integer or a comma-separated list of integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise LLMViewerError(f"{flag} must hold positive integers, got {text!r}")
    return values


def run_plan(args: argparse.Namespace) -> int:
    """Run ``llmviewer plan``."""
    from ..techniques.loadsim import Deployment, max_rate, plan_capacity
    from .options import resolve_device

    device = resolve_device(args)

    if args.rate is not None:
        raise LLMViewerError("plan searches the rate itself: give --target-rate (or nothing), not --rate")
    args.rate = 1.0  # placeholder: every search sets its own rate
    workload = _workload(args)
    scheduler = _scheduler(args)
    slo = _slo(args)
    if not slo.stated:
        raise LLMViewerError("plan needs an SLO: --slo-ttft SECONDS and/or --slo-tpot SECONDS")
    options = _options(args)
    progress = Progress("configuration" if args.target_rate is not None else "search", enabled=not args.quiet)
    if args.target_rate is None:
        tp, pp = (args.tensor_parallel,), (args.pipeline_parallel,)
        try:
            r = max_rate(args.model, device, workload, slo, scheduler, Deployment(tp[0], pp[0]),
                         args.calibrated, None, args.iterations, **options)  # fmt: skip
        finally:
            progress.close()
        if args.json:
            print_json(r.to_dict())
            return 0
        print(f"{args.model} on {tp[0] * pp[0]} x {device.name} (tp {tp[0]}, pp {pp[0]}), p{slo.percentile} "
              f"{_slo_text(slo)}:")  # fmt: skip
        print(f"  highest sustained rate  {r.rate:.4g} requests/s (saturation {r.saturation:.4g} requests/s; "
              f"{r.simulations} simulations of {len(workload.sample())} requests)")  # fmt: skip
        print(f"  binds  {r.binding}: {r.reason}")
        return 0
    tps = _int_list(args.tp_choices, "--tp-choices")
    pps = _int_list(args.pp_choices, "--pp-choices") if args.pp_choices else (args.pipeline_parallel,)
    try:
        plan = plan_capacity(args.model, device, workload, slo, args.target_rate, scheduler, tps, pps,
                             not args.no_disaggregated, args.calibrated, args.iterations, True, progress,
                             **options)  # fmt: skip
    finally:
        progress.close()
    if args.json:
        print_json(plan.to_dict())
        return 0
    print(f"{args.model} on {device.name}: {args.target_rate:g} requests/s, p{slo.percentile} {_slo_text(slo)}")
    t = plan.table
    header = (
        f"  {'mode':<14}{'tp':>3}{'pp':>3}{'dec tp':>7}{'req/s per replica':>19}{'replicas':>10}{'devices':>8}  binds"
    )
    print(header)
    for row in t.itertuples():
        if math.isnan(row.devices):
            reps = "-"
        elif row.mode == "disaggregated":
            reps = f"{int(row.prefill_replicas)}+{int(row.decode_replicas)}"
        else:
            reps = str(int(row.replicas))
        rate = "-" if math.isnan(row.rate_per_replica) else f"{row.rate_per_replica:.4g}"
        dtp = "" if row.decode_tp is None or (isinstance(row.decode_tp, float) and math.isnan(row.decode_tp)) else \
            str(int(row.decode_tp))  # fmt: skip
        dev = "-" if math.isnan(row.devices) else str(int(row.devices))
        print(
            f"  {row.mode:<14}{row.tp:>3}{row.pp:>3}{dtp:>7}{rate:>19}{reps:>10}{dev:>8}  {row.binding or row.reason}"
        )
    if plan.deployment is None:
        print(f"  no configuration meets the SLO: {plan.reason}")
        return 0
    print(f"  fewest devices: {plan.devices} ({_deployment_text(plan.deployment)}); binds: {plan.binding}")
    print(f"    {plan.reason}")
    if plan.check is not None:
        c = plan.check
        q = slo.percentile
        verdict = "meets" if plan.meets else "MISSES"
        print(f"  check at {args.target_rate:g} req/s: p{q} TTFT {_fmt_s(c.ttft.percentile(q))}, "
              f"TPOT {_fmt_s(c.tpot.percentile(q))} -> {verdict} the SLO")  # fmt: skip
    return 0


def _deployment_text(d: Any) -> str:
    if d.disaggregated:
        return (f"{d.prefill_replicas} prefill replica(s) of tp {d.tensor_parallel} + {d.decode_replicas} decode "
                f"replica(s) of tp {d.decode_tp}")  # fmt: skip
    return f"{d.replicas} replica(s) of tp {d.tensor_parallel} x pp {d.pipeline_parallel}"
