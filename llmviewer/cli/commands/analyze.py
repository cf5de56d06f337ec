"""``llmviewer analyze``: the per-layer roofline of prefill and of one decode step, and the memory footprint."""

from __future__ import annotations

import argparse

from .. import options

HELP = "per-layer roofline of prefill and one decode step, and the memory footprint"
PARENTS = (*options.one_pass("prompt length; decode has this many tokens cached"), lambda: options.output(csv=True))


def configure(parser: argparse.ArgumentParser) -> None:
    """``--arch``: read the config as this model_type and list the fields it ignored."""
    parser.add_argument(
        "--arch",
        default=None,
        help="read the config as this model_type (e.g. llama); the output lists every config field not interpreted",
    )


def run(args: argparse.Namespace) -> int:
    """Analyse and print a table per stage (or JSON, or write CSV rows of both stages)."""
    import math

    import pandas as pd

    from ...engine.analysis import analyze
    from ..render import print_json, si, table_text, write_csv

    result = analyze(
        args.model, options.resolve_device(args), batch_size=args.batchsize, seqlen=args.seqlen,
        calibration=args.calibrated, arch=args.arch, **options.workload_options(args),
    )  # fmt: skip
    if args.json:
        return print_json(result.to_dict())
    if args.csv:
        return write_csv(result.to_frame(), args.csv)
    s = result.settings
    lines = [
        f"{result.model.name} on {result.hardware.name}: batch {s['batch_size']}, seqlen {s['seqlen']},"
        f" W{s['w_bit']}A{s['a_bit']} KV{s['kv_bit']}{', FlashAttention' if s['use_flashattention'] else ''}"
    ]
    formats = {
        "name": str,
        "count": str,
        "OPs": si,
        "memory_access": lambda v: si(v, "B"),
        "arithmetic_intensity": lambda v: f"{v:.3g}" if math.isfinite(v) else "n/a (no bytes moved)",
        "bound": str,
        "inference_time": lambda v: si(v, "s"),
    }
    headers = {"name": "layer", "memory_access": "bytes", "arithmetic_intensity": "OPs/B", "inference_time": "time"}
    for stage in (result.prefill, result.decode):
        total = {"name": "total", "count": "", **{k: stage.total[k] for k in formats if k in stage.total}}
        frame = pd.DataFrame([*stage.to_records(), total])
        lines += ["", f"[{stage.stage}]  (one instance of each layer; total = all instances)"]
        lines.append(table_text(frame, formats, headers, left=("name",)))
    mem = result.memory
    lines += [
        "",
        "memory: "
        + ", ".join(f"{k} {si(mem[k], 'B')}" for k in ("weights", "kv_cache", "activations", "total"))
        + f" (device holds {si(result.hardware.memory_bytes, 'B')})",
    ]
    vision = result.to_dict().get("vision_encoder_per_image") if result.model.vision is not None else None
    if vision:
        lines += [
            "",
            f"vision encoder (apart from the decoder), per image: {si(vision['matmul_OPs'])}OPs,"
            f" weights {si(vision['weight_bytes'], 'B')}, activations {si(vision['activation_bytes'], 'B')},"
            f" {vision['tokens']} image tokens",
        ]
    if result.model.ignored_fields is not None:
        ignored = ", ".join(result.model.ignored_fields) or "none"
        lines += ["", f"note: read as --arch {result.model.model_type}; config fields not interpreted: {ignored}"]
    print("\n".join(lines))
    return 0
