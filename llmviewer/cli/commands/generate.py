"""``llmviewer generate``: latency and throughput of a whole generation task."""

from __future__ import annotations

import argparse

from .. import options

HELP = "latency and throughput of a whole generation task"
PARENTS = (*options.WHOLE_TASK, options.output)


def configure(parser: argparse.ArgumentParser) -> None:
    """No flags beyond the shared ones."""


def run(args: argparse.Namespace) -> int:
    """Time the task and print TTFT, mean TPOT, total time and throughput (or JSON)."""
    from ...engine.generation import generate
    from ..render import UNDEFINED, print_json, si

    gen = generate(
        args.model, options.resolve_device(args), batch_size=args.batchsize, prompt_len=args.prompt_len,
        gen_len=args.gen_len, calibration=args.calibrated, **options.workload_options(args),
    )  # fmt: skip
    if args.json:
        return print_json(gen.to_dict())
    print(
        f"{gen.model.name} on {gen.hardware.name}: batch {args.batchsize}, prompt {args.prompt_len},"
        f" generate {args.gen_len}\n  time to first token  {si(gen.ttft, 's')}\n"
        f"  time per output token (mean)  {si(gen.tpot_mean, 's', UNDEFINED['tpot_mean'])}\n"
        f"  total  {si(gen.total_time, 's')}\n"
        f"  throughput  {gen.throughput:.4g} tokens/s"
    )
    return 0
