"""The ``llmviewer`` command line: analyze, generate, models, hardware, and one subcommand per
technique (speculative, moe, compress, serve, rank).

Flag names follow LLM-Viewer's (``--batchsize``, ``--w_bit``, ``--use_flashattention``) so
its users can switch; dashed aliases are accepted too. Bad input prints one line on stderr
and exits with status 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

from .analysis import NUMERIC_FIELDS, Analysis, analyze
from .errors import LLMViewerError
from .generation import generate
from .hardware import hardware_from_dict, hardware_library, load_hardware
from .models import shipped_models

_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float, unit: str = "") -> str:
    """``value`` with an SI prefix, 3 significant digits (e.g. ``1.23 G``)."""
    if value == 0:
        return f"0 {unit}".rstrip()
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    if abs(value) < 1e-3 and unit == "s":
        return f"{value * 1e6:.3g} us"
    if abs(value) < 1 and unit == "s":
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} {unit}".rstrip()


def add_precision_flags(p: argparse.ArgumentParser) -> None:
    """Bit widths, FlashAttention and the calibrated estimate: the flags every subcommand shares."""
    p.add_argument("--w_bit", "--w-bit", dest="w_bit", type=int, default=16, help="weight bits (1-16, 32)")
    p.add_argument("--a_bit", "--a-bit", dest="a_bit", type=int, default=16, help="activation bits (4, 8, 16, 32)")
    p.add_argument("--kv_bit", "--kv-bit", dest="kv_bit", type=int, default=None, help="KV-cache bits (default: a_bit)")
    p.add_argument("--use_flashattention", "--use-flashattention", dest="flash", action="store_true",
                   help="fused attention")  # fmt: skip
    p.add_argument("--calibrated", nargs="?", const="serving", metavar="ENGINE_CLASS",
                   help="calibrated estimate instead of the pure roofline (engine class: serving [default], "
                   "llama.cpp-cuda, llama.cpp-metal)")  # fmt: skip


def _add_workload_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="shipped model name (see `llmviewer models`) or path to a config.json or its folder")
    p.add_argument(
        "hardware", help="shipped device name or alias (see `llmviewer hardware`), a device JSON file, or 'custom'"
    )
    p.add_argument("--batchsize", "--batch-size", dest="batchsize", type=int, default=1, help="sequences per batch")
    add_precision_flags(p)
    p.add_argument("--causal", action="store_true", help="attention computes only the causal (lower) triangle")
    p.add_argument("--group-size", "--group_size", dest="group_size", type=int, help="weights per quantization group")
    p.add_argument("--group-bits", "--group_bits", dest="group_bits", type=int, default=16,
                   help="metadata bits per group (16: an FP16 scale; 32: scale and zero point)")  # fmt: skip
    p.add_argument("--tensor-parallel", "--tp", dest="tensor_parallel", type=int, default=1,
                   help="devices sharing each layer (results are per device)")  # fmt: skip
    p.add_argument("--hardware-file", help="JSON file of extra devices (same schema as llmviewer/data/hardware.json)")
    custom = p.add_argument_group("a custom device (HARDWARE = custom)")
    custom.add_argument("--bandwidth", type=float, help="memory bandwidth, bytes/s")
    custom.add_argument("--peak", type=float, help="dense 16-bit peak, OPs/s")
    custom.add_argument("--memory", type=float, help="memory capacity, bytes")


_OPTION_FLAGS = {
    "w_bit": "w_bit",
    "a_bit": "a_bit",
    "kv_bit": "kv_bit",
    "use_flashattention": "flash",
    "causal_attention": "causal",
    "w_group_size": "group_size",
    "w_group_bits": "group_bits",
    "tensor_parallel": "tensor_parallel",
}


def workload_options(args: argparse.Namespace) -> dict[str, Any]:
    """The workload options (:data:`llmviewer.workload.OPTIONS`) that the parsed subcommand has flags for."""
    return {option: getattr(args, flag) for option, flag in _OPTION_FLAGS.items() if hasattr(args, flag)}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``llmviewer`` command."""
    parser = argparse.ArgumentParser(prog="llmviewer", description="Roofline analysis of LLM inference.")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="per-layer roofline of prefill and one decode step")
    _add_workload_flags(a)
    a.add_argument("--seqlen", type=int, default=1024, help="prompt length; decode has this many tokens cached")
    out = a.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--csv", metavar="FILE", help="write per-layer rows of both stages to FILE")
    g = sub.add_parser("generate", help="latency and throughput of a whole generation task")
    _add_workload_flags(g)
    g.add_argument(
        "--prompt-len", "--prompt_len", dest="prompt_len", type=int, default=1024, help="prompt tokens (default 1024)"
    )
    g.add_argument(
        "--gen-len", "--gen_len", dest="gen_len", type=int, default=256, help="generated tokens (default 256)"
    )
    g.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_parser("models", help="list shipped models")
    sub.add_parser("hardware", help="list shipped devices")
    from .speculative import add_cli_parser as _add_speculative_parser

    _add_speculative_parser(sub)
    _add_rank_parser(sub)
    from .serving import add_cli_parser as _add_serve_parser

    _add_serve_parser(sub)
    from .cli_load import add_load_arguments, add_plan_parser

    add_load_arguments(sub.choices["serve"])
    add_plan_parser(sub)
    from .compression import add_cli_parser as _add_compress_parser

    _add_compress_parser(sub)
    from .moe import add_cli_parser as _add_moe_parser

    _add_moe_parser(sub)
    return parser


def _device(args: argparse.Namespace) -> Any:
    if args.hardware.lower() == "custom":
        missing = [f"--{f}" for f in ("bandwidth", "peak") if getattr(args, f) is None]
        if missing:
            raise LLMViewerError(f"a custom device needs {' and '.join(missing)}")
        entry = {"name": "custom", "memory_bandwidth": args.bandwidth, "peak_ops": {"fp16": args.peak}}
        if args.memory is not None:
            entry["memory_bytes"] = args.memory
        return hardware_from_dict(entry, origin="command line")
    return load_hardware(args.hardware, library_file=args.hardware_file)


def _table(result: Analysis) -> str:
    lines = [
        f"{result.model.name} on {result.hardware.name}: batch {result.settings['batch_size']},"
        f" seqlen {result.settings['seqlen']}, W{result.settings['w_bit']}A{result.settings['a_bit']}"
        f" KV{result.settings['kv_bit']}{', FlashAttention' if result.settings['use_flashattention'] else ''}"
    ]
    header = f"{'layer':<24}{'count':>6}{'OPs':>11}{'bytes':>11}{'OPs/B':>9}  {'bound':<8}{'time':>10}"
    for stage in (result.prefill, result.decode):
        lines += ["", f"[{stage.stage}]  (one instance of each layer; total = all instances)", header]
        for r in stage.layers:
            lines.append(
                f"{r['name']:<24}{r['count']:>6}{si(r['OPs']):>11}{si(r['memory_access'], 'B'):>11}"
                f"{r['arithmetic_intensity']:>9.3g}  {r['bound']:<8}{si(r['inference_time'], 's'):>10}"
            )
        t = stage.total
        lines.append(
            f"{'total':<24}{'':>6}{si(t['OPs']):>11}{si(t['memory_access'], 'B'):>11}"
            f"{t['arithmetic_intensity']:>9.3g}  {t['bound']:<8}{si(t['inference_time'], 's'):>10}"
        )
    mem = result.memory
    lines += [
        "",
        "memory: "
        + ", ".join(f"{k} {si(mem[k], 'B')}" for k in ("weights", "kv_cache", "activations", "total"))
        + f" (device holds {si(result.hardware.memory_bytes, 'B')})",
    ]
    return "\n".join(lines)


def _write_csv(result: Analysis, path: str) -> None:
    fields = ["stage", "name", "kind", "count", *NUMERIC_FIELDS, "bound", "compute_dtype"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for stage in (result.prefill, result.decode):
            for row in stage.to_records():
                w.writerow({"stage": stage.stage, **row})


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "models":
        print("\n".join(shipped_models()))
        return 0
    if args.command == "hardware":
        print("\n".join(hardware_library()))
        return 0
    if args.command == "speculative":
        from .speculative import run_cli as _run_speculative

        return _run_speculative(args)
    if args.command == "moe":
        from .moe import run_cli as _run_moe

        return _run_moe(args)
    if args.command == "rank":
        return _run_rank(args)
    if args.command == "serve":
        from .cli_load import load_mode, run_load
        from .serving import run_cli as _run_serve

        return run_load(args) if load_mode(args) else _run_serve(args)
    if args.command == "plan":
        from .cli_load import run_plan

        return run_plan(args)
    if args.command == "compress":
        from .compression import run_cli as _run_compress

        return _run_compress(args)
    common = workload_options(args)
    device = _device(args)
    common["calibration"] = args.calibrated
    if args.command == "analyze":
        result = analyze(args.model, device, batch_size=args.batchsize, seqlen=args.seqlen, **common)
        if args.json:
            print(json.dumps(result.to_dict()))
        elif args.csv:
            _write_csv(result, args.csv)
            print(f"wrote {args.csv}")
        else:
            print(_table(result))
        return 0
    gen = generate(
        args.model, device, batch_size=args.batchsize, prompt_len=args.prompt_len, gen_len=args.gen_len, **common
    )
    if args.json:
        print(json.dumps(gen.to_dict()))
    else:
        print(
            f"{gen.model.name} on {gen.hardware.name}: batch {args.batchsize}, prompt {args.prompt_len},"
            f" generate {args.gen_len}\n  time to first token  {si(gen.ttft, 's')}\n"
            f"  time per output token (mean)  {si(gen.tpot_mean, 's')}\n  total  {si(gen.total_time, 's')}\n"
            f"  throughput  {gen.throughput:.4g} tokens/s"
        )
    return 0


def _add_rank_parser(sub: Any) -> None:
    r = sub.add_parser("rank", help="rank every device of the library on one generation task")
    r.add_argument("model", help="shipped model name or path to a config.json or its folder")
    r.add_argument("--batchsize", "--batch-size", dest="batchsize", type=int, default=1, help="sequences per batch")
    r.add_argument("--prompt-len", "--prompt_len", dest="prompt_len", type=int, default=1024)
    r.add_argument("--gen-len", "--gen_len", dest="gen_len", type=int, default=256)
    add_precision_flags(r)
    r.add_argument("--by", choices=["throughput", "ttft", "tpot", "cost"], default="throughput",
                   help="ranking metric; cost: USD per million generated tokens, priced devices only")  # fmt: skip
    r.add_argument("--max-devices", "--max_devices", dest="max_devices", type=int, default=1,
                   help="largest tensor-parallel group a device may use to hold the model")  # fmt: skip
    out = r.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON list, one object per device")
    out.add_argument("--csv", metavar="FILE", help="write the ranked table to FILE")


_RANK_COLUMNS = {
    "rank": [("#", 3, lambda r: r.rank), ("", 2, lambda r: ""), ("device", -22, lambda r: r.device),
             ("n", 3, lambda r: r.devices),
             ("TTFT", 11, lambda r: si(r.ttft, "s")), ("TPOT", 11, lambda r: si(r.tpot_mean, "s")),
             ("tokens/s", 11, lambda r: f"{r.throughput:.4g}"), ("  fits", 6, lambda r: "yes" if r.fits else "no")],
    "cost": [("device", -22, lambda r: r.device), ("n", 3, lambda r: r.devices),
             ("tokens/s", 11, lambda r: f"{r.throughput:.4g}"), ("USD/h", 8, lambda r: f"{r.usd_per_device_hour:.2f}"),
             ("USD per 1M tokens", 19, lambda r: f"{r.usd_per_million_tokens:.3f}"),
             ("  price source (date)", -1, lambda r: f"  {r.price_source} ({r.price_date})")],
}  # fmt: skip
"""Columns of the ``rank`` table: header, width (negative: left-aligned), cell."""


def _run_rank(args: argparse.Namespace) -> int:
    from .compare import rank_devices
    from .pricing import cost_table

    if args.max_devices < 1:
        raise LLMViewerError(f"--max-devices must be a positive integer, got {args.max_devices}")
    task = dict(batch_size=args.batchsize, prompt_len=args.prompt_len, gen_len=args.gen_len,
                max_devices=args.max_devices, calibration=args.calibrated, **workload_options(args))  # fmt: skip
    if args.by == "cost":
        table, columns = cost_table(args.model, **task), _RANK_COLUMNS["cost"]
    else:
        by = "tpot_mean" if args.by == "tpot" else args.by
        table, columns = rank_devices(args.model, by=by, **task), _RANK_COLUMNS["rank"]
    if args.json:
        print(table.to_json(orient="records"))
    elif args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    else:

        def line(cells: list[str]) -> str:
            return "".join(f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, (_, w, _) in zip(cells, columns, strict=True))

        print(line([h for h, _, _ in columns]))
        for r in table.itertuples():
            print(line([str(cell(r)) for _, _, cell in columns]))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: errors in the input become one line on stderr and exit status 2."""
    try:
        status = run(argv)
    except LLMViewerError as e:
        print(f"llmviewer: error: {e}", file=sys.stderr)
        status = 2
    except BrokenPipeError:
        status = 0
    sys.exit(status)


if __name__ == "__main__":
    main()
