"""Speed of the engine: median of repeated runs (seconds), printed as a table.

    python benchmarks/bench_engine.py

Measures (1) one 1024-prompt, 1024-generated-token task on Llama-2-7B, with the objects and by
name (the name lookups cached), (2) one analyze() call, repeated and with a new workload each
call (so that no counts kept from an earlier call help), (3) a sweep of 10^6 settings through
generate() and analyze(decode) in one vectorised call, and through sweep() into a DataFrame,
and (4) the same single task done as a Python loop over decode steps, for the ratio.
"""

from __future__ import annotations

import numpy as np
from common import median_times as median_time

import llmviewer
from llmviewer.specs.workload import make_pass
from llmviewer.studies.sweep import sweep


def main() -> None:
    model = llmviewer.load_model("Llama-2-7b-hf")
    hw = llmviewer.load_hardware("A100-SXM4-80GB")
    batch = np.repeat([1, 2, 4, 8, 16, 32, 64, 128, 256, 512], 100)[:, None]  # 1000
    prompt = np.linspace(128, 32768, 1000).round()[None, :]  # x 1000 = 10^6 settings

    def single():
        return llmviewer.generate(model, hw, batch_size=1, prompt_len=1024, gen_len=1024)

    def loop():
        return sum(llmviewer.evaluate_pass(model, hw, make_pass(1, 1, 1024 + j, 1)).time for j in range(1023))

    seqlens = iter(range(1, 10**9))

    def fresh():  # never the same workload twice: nothing of it is kept from an earlier call
        return llmviewer.analyze("Llama-2-7b-hf", "A100-SXM4-80GB", seqlen=next(seqlens))

    def by_name(fn):
        return lambda: fn("Llama-2-7b-hf", "A100-SXM4-80GB")

    rows = [
        ("generate 1024+1024 tokens, closed form", median_time(single, 200)),
        (
            "load_model + load_hardware by name (cached)",
            median_time(by_name(lambda m, h: (llmviewer.load_model(m), llmviewer.load_hardware(h))), 1000),
        ),  # fmt: skip
        (
            "generate 1024+1024 tokens by name",
            median_time(by_name(lambda m, h: llmviewer.generate(m, h, prompt_len=1024, gen_len=1024)), 200),
        ),  # fmt: skip
        ("analyze by name", median_time(by_name(lambda m, h: llmviewer.analyze(m, h, seqlen=1024)), 1000)),
        ("analyze by name, a new seqlen each call", median_time(fresh, 1000)),
        ("analyze (prefill + decode + memory)", median_time(lambda: llmviewer.analyze(model, hw, seqlen=1024), 200)),
        ("same task as a Python loop of 1023 decode passes", median_time(loop, 5)),
        (
            "generate sweep, 10^6 settings",
            median_time(lambda: llmviewer.generate(model, hw, batch_size=batch, prompt_len=prompt, gen_len=256), 5),
        ),
        (
            "sweep() of generate, 10^6 settings, as a DataFrame",
            median_time(lambda: sweep(model, hw, batch_size=batch.ravel(), prompt_len=prompt.ravel(), gen_len=256), 3),
        ),
        (
            "analyze decode sweep, 10^6 settings",
            median_time(lambda: llmviewer.analyze(model, hw, batch_size=batch, seqlen=prompt, stages=("decode",)), 5),
        ),
    ]
    ref = llmviewer.generate(model, hw, batch_size=1, prompt_len=1024, gen_len=1024).decode_time
    assert abs(loop() - ref) <= 1e-9 * ref, "closed form and loop disagree"
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'median wall':>12}  {'median CPU':>12}")
    for name, (wall, cpu) in rows:
        print(f"{name:<{width}}  {wall * 1e3:9.3f} ms  {cpu * 1e3:9.3f} ms")
    print(f"closed form is {rows[6][1][0] / rows[0][1][0]:.0f}x faster than the loop (wall)")


if __name__ == "__main__":
    main()
