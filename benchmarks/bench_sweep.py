"""Sweeps: speed of a 10^6-setting sweep and peak memory of a 10^8-setting one.

    python benchmarks/bench_sweep.py [--big 100000000]

(1) sweep() of generate over 1000 batch sizes x 1000 prompt lengths (10^6 settings) into a
DataFrame, median of 5 runs (seconds). (2) iter_sweep() of generate over ``--big`` settings
(default 10^8: 10^4 batch sizes x 10^4 prompt lengths), each chunk reduced as it comes (the
largest throughput and its setting), in a child process whose peak resident memory
(``ru_maxrss``) is reported with its wall time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from common import median_time

MODEL, DEVICE = "Llama-2-7b-hf", "A100-SXM4-80GB"


def big(n: int) -> None:
    """The child: reduce an n-setting sweep chunk by chunk; print wall time, peak RSS, the best row."""
    from llmviewer.studies.sweep import iter_sweep

    side = int(round(n**0.5))
    batch, prompt = np.arange(1, side + 1), np.linspace(128, 32768, side).round()
    start, best, rows = time.perf_counter(), None, 0
    for part in iter_sweep(MODEL, DEVICE, batch_size=batch, prompt_len=prompt, gen_len=256, progress_after=2.0):
        rows += len(part)
        i = int(part["throughput"].to_numpy().argmax())
        if best is None or part["throughput"].iloc[i] > best["throughput"]:
            best = part.iloc[i].to_dict()
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(json.dumps({"settings": rows, "wall_s": wall, "peak_rss_bytes": peak, "best": best}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=10**8, help="settings of the bounded-memory sweep")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        big(args.child)
        return
    import llmviewer
    from llmviewer.studies.sweep import sweep

    m, hw = llmviewer.load_model(MODEL), llmviewer.load_hardware(DEVICE)
    batch = np.repeat([1, 2, 4, 8, 16, 32, 64, 128, 256, 512], 100)
    prompt = np.linspace(128, 32768, 1000).round()
    t = median_time(lambda: sweep(m, hw, batch_size=batch, prompt_len=prompt, gen_len=256), 5)
    print(f"sweep() of generate, 10^6 settings, as a DataFrame: {t:.3f} s (median of 5)")
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(args.big)], check=True, capture_output=True, text=True
    )
    r = json.loads(out.stdout)
    print(f"iter_sweep() of generate, {r['settings']:,} settings reduced chunk by chunk: {r['wall_s']:.1f} s, "
          f"peak RSS {r['peak_rss_bytes'] / 2**30:.2f} GiB")  # fmt: skip


if __name__ == "__main__":
    main()
