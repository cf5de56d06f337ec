"""``llmviewer speculative``: expected speed-up of speculative decoding (draft + target)."""

from __future__ import annotations

import argparse

from .. import options

HELP = "expected speed-up of speculative decoding (draft + target)"
PARENTS = (
    lambda: options.model("target", "target model"),
    lambda: options.model("draft", "draft model"),
    options.device,
    options.batch,
    options.context,
    options.precision,
    options.parallel,
    options.output,
)


def configure(parser: argparse.ArgumentParser) -> None:
    """``--alpha`` and ``--gamma`` (required)."""
    parser.add_argument(
        "--alpha", required=True, type=float, help="acceptance probability of a drafted token, in [0, 1)"
    )
    parser.add_argument("--gamma", required=True, type=int, help="tokens drafted per step (positive integer)")


def run(args: argparse.Namespace) -> int:
    """Print the expected tokens per step, the draft, verification and step times and the speed-up."""
    from ...techniques.speculative import check_alpha, check_gamma, speculative_decoding
    from ..render import print_json, si

    s = speculative_decoding(
        args.target, args.draft, options.resolve_device(args), check_alpha(args.alpha), check_gamma(args.gamma),
        batch_size=args.batchsize, context=args.seqlen, calibration=args.calibrated, **options.workload_options(args),
    )  # fmt: skip
    if args.json:
        return print_json(s.to_dict())
    g = s.settings["gamma"]
    print(
        f"{s.target} with draft {s.draft} on {s.hardware}: alpha {args.alpha:g}, gamma {g},"
        f" batch {s.settings['batch_size']}, {s.settings['context']} cached tokens\n"
        f"  expected tokens per step  {s.tokens_per_step:.3f}\n"
        f"  draft ({g} steps)  {si(s.draft_time, 's')}\n"
        f"  target verification ({g + 1} tokens)  {si(s.verify_time, 's')}\n"
        f"  step  {si(s.step_time, 's')}\n"
        f"  time per token  {si(s.time_per_token, 's')} (plain decode {si(s.baseline_time_per_token, 's')})\n"
        f"  expected speed-up  {s.speedup:.2f}x"
    )
    return 0
