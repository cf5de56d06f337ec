"""Speed of the serving simulator (llmviewer.loadsim): 20,000 requests, median of repeated runs (seconds).

    python benchmarks/bench_simulator.py [--repeat 5]

Cases (Llama-3.1-8B on one H100 unless said; Poisson arrivals; pure roofline step times):

1. chat-like: prompts log-normal of mean 1024 tokens, outputs log-normal of mean 256, 20 requests/s, max batch
   256, chunked prefill 512 (vLLM V1-like): continuous batching near two thirds of capacity;
2. the same without chunked prefill (prefill priority, vLLM V0-like);
3. the issue's example shape: fixed 2048-token prompts, 256-token outputs, 8 requests/s, on tp 2;
4. one request in flight (max batch 1, Llama-3.2-1B on A100, 256 + 32 tokens, half load), the M/D/1 test's
   setting: two scheduler iterations per request.

Also prints the steps simulated and the microseconds per request; the machine's load matters (the runs share
its cores with whatever else runs): report the median and the range.
"""

from __future__ import annotations

import argparse
import statistics
import time

import llmviewer
from llmviewer.techniques.loadsim import Deployment, Lengths, SchedulerConfig, Workload, simulate

N = 20_000


def cases() -> list[tuple[str, dict]]:
    """(name, simulate() arguments) of every case."""
    chat = Workload(requests=N, rate=20, prompt=Lengths.lognormal(1024), output=Lengths.lognormal(256), seed=0)
    service = float(llmviewer.generate("Llama-3.2-1B", "A100", 1, 256, 32, use_flashattention=True,
                                       causal_attention=True).total_time)  # fmt: skip
    return [
        ("chat, chunked prefill 512", dict(model="Llama-3.1-8B", hardware="H100", workload=chat,
                                           scheduler=SchedulerConfig(max_batch=256, chunk=512))),
        ("chat, no chunking", dict(model="Llama-3.1-8B", hardware="H100", workload=chat,
                                   scheduler=SchedulerConfig(max_batch=256))),
        ("2048 + 256 fixed, 8 req/s, tp 2", dict(model="Llama-3.1-8B", hardware="H100",
                                                workload=Workload(requests=N, rate=8, prompt=2048, output=256),
                                                scheduler=SchedulerConfig(max_batch=256, chunk=512),
                                                deployment=Deployment(tensor_parallel=2))),
        ("max batch 1 (M/D/1), 1B on A100", dict(model="Llama-3.2-1B", hardware="A100",
                                                 workload=Workload(requests=N, rate=0.5 / service, prompt=256,
                                                                   output=32, seed=1),
                                                 scheduler=SchedulerConfig(max_batch=1))),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (median reported)")
    args = parser.parse_args()
    print(f"{'case':<36}{'median s':>10}{'min s':>8}{'max s':>8}{'steps':>10}{'us/request':>12}")
    for name, kw in cases():
        times, cpu = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            r = simulate(**kw)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        med = statistics.median(times)
        print(f"{name:<36}{med:>10.2f}{min(times):>8.2f}{max(times):>8.2f}{len(r.step_columns['start']):>10}"
              f"{1e6 * med / N:>12.0f}   (CPU median {statistics.median(cpu):.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
