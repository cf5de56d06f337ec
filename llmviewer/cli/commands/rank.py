"""``llmviewer rank``: every device of the library (and of ``--hardware-file``) on one generation task."""

from __future__ import annotations

import argparse

from ...errors import LLMViewerError
from .. import options

HELP = "rank every device of the library on one generation task (by speed or by cost)"
PARENTS = (
    options.model,
    lambda: options.device(positional=False),
    options.batch,
    options.task,
    options.precision,
    lambda: options.output(csv=True),
)


def configure(parser: argparse.ArgumentParser) -> None:
    """``--by`` and ``--max-devices``."""
    parser.add_argument("--by", choices=["throughput", "ttft", "tpot", "cost"], default="throughput",
                        help="ranking metric; cost: USD per million generated tokens, priced devices only")  # fmt: skip
    parser.add_argument("--max-devices", "--max_devices", dest="max_devices", type=int, default=1,
                        help="largest tensor-parallel group a device may use to hold the model")  # fmt: skip


def _devices(args: argparse.Namespace) -> list | None:
    """The devices to rank: None (the shipped library), or the library plus ``--hardware-file``'s."""
    if args.hardware_file is None:
        return None
    from ...specs.hardware import hardware_library, read_devices

    return [*hardware_library().values(), *read_devices(args.hardware_file)]


def _text(table, by: str) -> str:  # noqa: ANN001 - a pandas DataFrame
    from ..render import si, table_text

    if by == "cost":
        formats = {
            "device": str,
            "devices": str,
            "throughput": lambda v: f"{v:.4g}",
            "usd_per_device_hour": lambda v: f"{v:.2f}",
            "usd_per_million_tokens": lambda v: f"{v:.3f}",
            "price_source": str,
            "price_date": str,
        }
        headers = {"devices": "n", "throughput": "tokens/s", "usd_per_device_hour": "USD/h",
                   "usd_per_million_tokens": "USD per 1M tokens", "price_source": "price source",
                   "price_date": "date"}  # fmt: skip
    else:
        formats = {
            "rank": str,
            "device": str,
            "devices": str,
            "ttft": lambda v: si(v, "s"),
            "tpot_mean": lambda v: si(v, "s", "one token generated"),
            "throughput": lambda v: f"{v:.4g}",
            "fits": lambda v: "yes" if v else "no",
        }
        headers = {"rank": "#", "devices": "n", "ttft": "TTFT", "tpot_mean": "TPOT", "throughput": "tokens/s"}
    return table_text(table, formats, headers, left=("device", "price_source"))


def run(args: argparse.Namespace) -> int:
    """Rank and print the table (or JSON records, or write CSV)."""
    from ...studies.compare import rank_devices
    from ...studies.pricing import cost_table
    from ..render import print_json, write_csv

    if args.by == "tpot" and args.gen_len < 2:
        raise LLMViewerError(
            f"--by tpot needs --gen-len of at least 2 (one generated token has no TPOT), got {args.gen_len}"
        )
    if args.max_devices < 1:
        raise LLMViewerError(f"--max-devices must be a positive integer, got {args.max_devices}")
    task = dict(batch_size=args.batchsize, prompt_len=args.prompt_len, gen_len=args.gen_len,
                max_devices=args.max_devices, calibration=args.calibrated,
                **options.workload_options(args))  # fmt: skip
    devices = _devices(args)
    if args.by == "cost":
        table = cost_table(args.model, devices, **task)
    else:
        table = rank_devices(args.model, devices, by="tpot_mean" if args.by == "tpot" else args.by, **task)
    if args.json:
        return print_json(table.to_dict(orient="records"))
    if args.csv:
        return write_csv(table, args.csv)
    print(_text(table, args.by))
    return 0
