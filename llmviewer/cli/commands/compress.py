"""``llmviewer compress``: prefill and decode with sparse weights or a dequantization cost, against the
same workload without them."""

from __future__ import annotations

import argparse

from .. import options

SPARSE_FORMATS = ("dense", "csr", "bitmap", "2:4")
"""The formats of :data:`llmviewer.techniques.compression.SPARSE_FORMATS`, named here so that building
the parser does not import the engine (a test checks that the two agree)."""
HELP = "prefill and decode with sparse weights or a dequantization cost"
PARENTS = (*options.one_pass("prompt length; decode has this many tokens cached"), options.output)


def configure(parser: argparse.ArgumentParser) -> None:
    """The storage format of the block weights and the dequantization cost."""
    parser.add_argument(
        "--sparsity", choices=SPARSE_FORMATS, default="dense", help="storage format of the block weights"
    )
    parser.add_argument("--density", type=float, default=0.5,
                        help="fraction of weights kept (csr, bitmap; 2:4 is 0.5)")  # fmt: skip
    parser.add_argument("--index-bits", "--index_bits", dest="index_bits", type=int, default=16,
                        help="bits of the column index per nonzero (csr)")  # fmt: skip
    parser.add_argument("--dequant-ops", "--dequant_ops", dest="dequant_ops", type=float, default=0.0,
                        help="vector OPs per weight element to dequantize it")  # fmt: skip
    parser.add_argument("--dequant-tile", "--dequant_tile", dest="dequant_tile", type=int, default=None,
                        help="tokens per GEMM tile, each dequantizing its weights (None: once per pass)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Print prefill time, decode-step time and weight bytes, baseline and compressed (or JSON)."""
    from ...specs.models import load_model
    from ...techniques.compression import compare_compression
    from ..render import print_json, si

    opts = options.workload_options(args)
    device = options.resolve_device(args)
    out = compare_compression(
        args.model, device, args.batchsize, args.seqlen, sparsity=args.sparsity, density=args.density,
        index_bits=args.index_bits, dequant_ops=args.dequant_ops, dequant_tile=args.dequant_tile,
        calibration=args.calibrated, **opts,
    )  # fmt: skip
    if args.json:
        extra = {"sparsity": args.sparsity, "density": args.density}
        extra.update(dequant_ops=args.dequant_ops, dequant_tile=args.dequant_tile)
        return print_json({"settings": {**opts, **extra}, **out})
    name = load_model(args.model).name
    print(f"{name} on {device.name}: batch {args.batchsize}, seqlen {args.seqlen}, weights {args.sparsity}")
    for label, r in out.items():
        print(
            f"  {label:<11} prefill {si(r['prefill_s'], 's'):>9}   decode step {si(r['decode_step_s'], 's'):>9}"
            f"   weights {si(r['weight_bytes'], 'B')}"
        )
    return 0
