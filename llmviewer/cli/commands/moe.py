"""``llmviewer moe``: one decode step of a mixture-of-experts model: experts touched, bytes, time."""

from __future__ import annotations

import argparse

from .. import options

HELP = "one decode step of a mixture-of-experts model: experts touched, bytes, time"
PARENTS = (
    lambda: options.model("model", "MoE model"),
    options.device,
    options.batch,
    options.context,
    options.precision,
    options.output,
)


def configure(parser: argparse.ArgumentParser) -> None:
    """``--zipf``: the routing skew."""
    parser.add_argument("--zipf", type=float, default=0.0,
                        help="routing skew: Zipf exponent of expert popularity (0: uniform)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Print parameters (active of total), experts touched, weights read and the step time."""
    from ...engine.graph import parameter_count
    from ...specs.models import load_model
    from ...techniques.moe import active_parameters, moe_decode
    from ..render import print_json, si

    m = load_model(args.model)
    r = moe_decode(m, options.resolve_device(args), batch_size=args.batchsize, context=args.seqlen,
                   zipf_s=args.zipf, calibration=args.calibrated, **options.workload_options(args))  # fmt: skip
    out = {"model": m.name, "experts": m.num_experts, "top_k": m.experts_per_token,
           "active_parameters": active_parameters(m), "total_parameters": parameter_count(m),
           **{k: float(v) for k, v in dict(r).items()}}  # fmt: skip
    if args.json:
        return print_json(out)
    print(
        f"{m.name}: {m.num_experts} experts, top-{m.experts_per_token}; batch {args.batchsize},"
        f" {args.seqlen} cached tokens, routing skew {args.zipf:g}\n"
        f"  parameters  {si(out['active_parameters'])} active of {si(out['total_parameters'])}\n"
        f"  experts touched per MoE layer  {out['experts_touched']:.2f}\n"
        f"  weights read per step  {si(out['weight_bytes'], 'B')}\n"
        f"  step  {si(out['step_time'], 's')}, per generated token {si(out['time_per_token'], 's')}"
    )
    return 0
