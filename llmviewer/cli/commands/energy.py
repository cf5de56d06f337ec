"""``llmviewer energy``: joules per token from the device's power figure and the roofline time."""

from __future__ import annotations

import argparse

from .. import options

HELP = "energy per prompt token and per generated token (device power x roofline time)"
PARENTS = (*options.WHOLE_TASK, options.output)


def configure(parser: argparse.ArgumentParser) -> None:
    """``--power``: watts to use instead of the device's stored power figure."""
    parser.add_argument("--power", type=float, default=None,
                        help="device power in watts (default: the stored tdp_watts, with its source)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Print the power model and joules per token (or JSON)."""
    from ...studies.energy import energy_per_token
    from ..render import print_json, si

    e = energy_per_token(
        args.model, options.resolve_device(args), prompt_len=args.prompt_len, gen_len=args.gen_len,
        batch_size=args.batchsize, power_w=args.power, calibration=args.calibrated, **options.workload_options(args),
    )  # fmt: skip
    if args.json:
        return print_json(e.to_dict())
    print(
        f"{e.model} on {e.hardware}: batch {args.batchsize}, prompt {args.prompt_len}, generate {args.gen_len}\n"
        f"  power  {e.power_w:.4g} W ({e.power_source or 'no source stored'})\n"
        f"  prefill  {si(e.prefill_j_per_token, 'J')} per prompt token (time to first token {si(e.ttft, 's')})\n"
        f"  decode  {si(e.decode_j_per_token, 'J')} per generated token ({e.decode_tokens_per_s:.4g} tokens/s)"
    )
    return 0
