"""``llmviewer serve``: latency, throughput and memory on several devices (tensor and pipeline parallel)."""

from __future__ import annotations

import argparse

from ...errors import LLMViewerError
from .. import options

HELP = (
    "latency, throughput and memory on several devices (tensor/pipeline parallel); with --rate or --trace,"
    " requests arriving over time (continuous batching, queues, percentiles)"
)
PARENTS = (*options.WHOLE_TASK, options.output)


def configure(parser: argparse.ArgumentParser) -> None:
    """Pipeline stages, micro-batches and the device count."""
    parser.add_argument("--pipeline-parallel", "--pipeline_parallel", "--pp", dest="pipeline_parallel", type=int,
                        default=1, help="pipeline stages")  # fmt: skip
    parser.add_argument("--micro-batches", "--micro_batches", dest="micro_batches", type=int, default=None,
                        help="pipeline micro-batches (None: min(pp, batch))")  # fmt: skip
    parser.add_argument("--devices", type=int, default=None,
                        help="devices in all, a check: must equal tp x pp (None: not checked)")  # fmt: skip
    from ..load import add_load_arguments

    add_load_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Print TTFT, TPOT (with what bounds them), throughput, bubble and memory per device (or JSON)."""
    from ...techniques.serving import serve
    from ..load import load_mode, run_load
    from ..render import UNDEFINED, print_json, si

    if load_mode(args):
        return run_load(args)

    opts = options.workload_options(args)
    tp, pp = opts.pop("tensor_parallel"), args.pipeline_parallel
    if args.devices is not None and args.devices != tp * pp:
        raise LLMViewerError(f"--devices {args.devices} must equal --tp x --pp = {tp * pp}")
    device = options.resolve_device(args)
    r = serve(args.model, device, tp, pp, args.batchsize, args.prompt_len, args.gen_len,
              micro_batches=args.micro_batches, calibration=args.calibrated, **opts)  # fmt: skip
    if args.json:
        return print_json(dict(r))
    print(f"{args.model} on {r['devices']} x {device.name} (tp {tp}, pp {pp}), batch {args.batchsize}")
    print(f"  time to first token  {si(r['ttft'], 's')}  ({r['prefill_bound']}-bound)")
    print(f"  time per output token  {si(r['tpot'], 's', UNDEFINED['tpot'])}  ({r['decode_bound']}-bound)")
    print(f"  throughput  {r['throughput']:.4g} tokens/s; pipeline bubble {r['bubble']:.0%}")
    print(f"  memory per device  {si(r['memory_per_device'], 'B')}  ({'fits' if r['fits'] else 'does NOT fit'})")
    return 0
