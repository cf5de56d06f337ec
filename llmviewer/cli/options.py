"""The flags that mean the same in every subcommand, defined once as parent parsers.

A subcommand lists the parents whose flags apply to it (see :mod:`llmviewer.cli.commands`):
the model, the device (a shipped name, a JSON file, or ``custom`` with its numbers), the
batch, the precision (bit widths, quantization groups, attention kernel, calibrated
estimate), tensor parallelism, the tokens of one pass or of a whole task, and the output
format. Flag names follow LLM-Viewer's (``--batchsize``, ``--w_bit``,
``--use_flashattention``); dashed aliases are accepted too.
"""

from __future__ import annotations

import argparse
from typing import Any

Parent = argparse.ArgumentParser


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help text with each flag's default.

    The default is appended only where it says something: not for on/off switches (False), not for
    flags without a value (None), and not where the help text already names its default.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False) or "default" in text.lower():
            return text
        return super()._get_help_string(action)


def _parent() -> Parent:
    return argparse.ArgumentParser(add_help=False, formatter_class=Formatter)


def model_argument(value: str) -> str:
    """A model argument as given, after checking that a path to a config reads as one: a device
    such as ``/dev/zero``, a symlink loop, binary text or an oversized file is one clear line
    (read with the size cap of :func:`llmviewer.paths.read_json`) instead of a hang or an
    "unknown model". Names of shipped models pass through unchanged."""
    from pathlib import Path

    from ..errors import LLMViewerError
    from ..paths import read_json

    if len(value) > 4096:
        raise argparse.ArgumentTypeError(f"a model name or path of {len(value)} characters is too long (at most 4096)")
    path = Path(value)
    try:
        present = path.exists() or path.is_symlink()
        target = path / "config.json" if path.is_dir() else path
    except OSError:
        present, target = True, path
    if present:
        try:
            read_json(target, "model config")
        except LLMViewerError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return value


def model(name: str = "model", what: str = "model") -> Parent:
    """One positional model argument called ``name``."""
    p = _parent()
    where = "shipped name (see `llmviewer models`) or path to a config.json or its folder"
    p.add_argument(name, type=model_argument, help=f"{what}: {where}")
    return p


def device(positional: bool = True) -> Parent:
    """The device: a positional name (unless ``positional`` is False), extra device files, and
    the numbers of a ``custom`` device."""
    p = _parent()
    if positional:
        p.add_argument("hardware", help="shipped device name or alias (see `llmviewer hardware`), a device JSON file, "
                       "or 'custom' (with --bandwidth and --peak)")  # fmt: skip
    p.add_argument("--hardware-file", "--hardware_file", dest="hardware_file", default=None,
                   help="JSON file of extra devices (same schema as llmviewer/data/hardware.json)")  # fmt: skip
    if positional:
        custom = p.add_argument_group("a custom device (HARDWARE = custom)")
        custom.add_argument("--bandwidth", type=float, default=None, help="memory bandwidth, bytes/s")
        custom.add_argument("--peak", type=float, default=None, help="dense 16-bit peak, OPs/s")
        custom.add_argument("--memory", type=float, default=None, help="memory capacity, bytes")
    return p


def batch() -> Parent:
    """Sequences per batch."""
    p = _parent()
    p.add_argument("--batchsize", "--batch-size", dest="batchsize", type=int, default=1, help="sequences per batch")
    return p


def precision() -> Parent:
    """Bit widths, quantization groups, the attention kernel and the calibrated estimate."""
    p = _parent()
    p.add_argument("--w_bit", "--w-bit", dest="w_bit", type=int, default=16, help="weight bits (1-16, 32)")
    p.add_argument("--a_bit", "--a-bit", dest="a_bit", type=int, default=16, help="activation bits (4, 8, 16, 32)")
    p.add_argument("--kv_bit", "--kv-bit", dest="kv_bit", type=int, default=None,
                   help="KV-cache bits (None: the activation bits)")  # fmt: skip
    p.add_argument("--group-size", "--group_size", dest="group_size", type=int, default=None,
                   help="weights per quantization group (None: one scale per tensor, not counted)")  # fmt: skip
    p.add_argument("--group-bits", "--group_bits", dest="group_bits", type=int, default=16,
                   help="metadata bits per group (16: an FP16 scale; 32: scale and zero point)")  # fmt: skip
    p.add_argument("--use_flashattention", "--use-flashattention", dest="flash", action="store_true", default=None,
                   help="fused (FlashAttention-style) attention: the default, kept for older scripts")  # fmt: skip
    p.add_argument("--causal", action="store_true", default=None,
                   help="causal attention (lower triangle of scores): the default, kept for older scripts")  # fmt: skip
    p.add_argument("--unfused-attention", "--unfused_attention", dest="unfused_attention", action="store_true",
                   help="unfused attention: Q K^T, softmax and P V each through memory, the score matrix written "
                   "and read (default: one fused, FlashAttention-style kernel)")  # fmt: skip
    p.add_argument("--non-causal", "--non_causal", dest="non_causal", action="store_true",
                   help="attention computes the full new x keys score block (default: the causal "
                   "triangle)")  # fmt: skip
    p.add_argument("--no-fusion", "--no_fusion", dest="no_fusion", action="store_true",
                   help="every element-wise operator (norms, residual adds, activation x up, rotary) reads and "
                   "writes its activations in a memory pass of its own (default: ideal fusion, the bound)")  # fmt: skip
    p.add_argument("--unfused", dest="unfused", action="store_true",
                   help="the unfused accounting of the survey's comparisons: --unfused-attention and --no-fusion "
                   "(add --non-causal for full score blocks). The default is the speed of light")  # fmt: skip
    p.add_argument("--calibrated", nargs="?", const="serving", default=None, metavar="ENGINE_CLASS",
                   help="calibrated estimate instead of the pure roofline (engine class: serving [when given "
                   "without a value], llama.cpp-cuda, llama.cpp-metal)")  # fmt: skip
    p.add_argument("--decode-graphs", "--decode_graphs", dest="decode_graphs",
                   action=argparse.BooleanOptionalAction, default=None,
                   help="with --calibrated: each decode step is replayed as one captured graph (CUDA/HIP graphs, "
                   "as vLLM and SGLang do) and costs the class's fitted per-step overhead instead of a launch "
                   "overhead per kernel; --no-decode-graphs: kernel by kernel (default: the class's stored "
                   "choice, printed with the result)")  # fmt: skip
    return p


def parallel() -> Parent:
    """Tensor parallelism."""
    p = _parent()
    p.add_argument("--tensor-parallel", "--tensor_parallel", "--tp", dest="tensor_parallel", type=int, default=1,
                   help="devices sharing each layer, Megatron-style (results are per device)")  # fmt: skip
    return p


def context(what: str = "tokens already in the KV cache per sequence") -> Parent:
    """The tokens of one pass: ``--seqlen`` (alias ``--context``)."""
    p = _parent()
    p.add_argument("--seqlen", "--context", dest="seqlen", type=int, default=1024, help=what)
    return p


def task() -> Parent:
    """The tokens of a whole generation task: prompt and generated."""
    p = _parent()
    p.add_argument("--prompt-len", "--prompt_len", dest="prompt_len", type=int, default=1024, help="prompt tokens")
    p.add_argument("--gen-len", "--gen_len", dest="gen_len", type=int, default=256, help="generated tokens")
    return p


def output(csv: bool = False) -> Parent:
    """``--json`` (and ``--csv FILE`` for tables)."""
    p = _parent()
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    if csv:
        group.add_argument("--csv", metavar="FILE", default=None, help="write the table to FILE")
    return p


WHOLE_TASK = (model, device, batch, task, precision, parallel)
"""The parents of a command that times a whole generation task on one device or a group."""


def one_pass(context_help: str) -> tuple:
    """The parents of a command that analyses single passes: ``--seqlen`` described as ``context_help``."""
    return (model, device, batch, lambda: context(context_help), precision, parallel)


_OPTION_FLAGS = {
    "w_bit": "w_bit",
    "a_bit": "a_bit",
    "kv_bit": "kv_bit",
    "w_group_size": "group_size",
    "w_group_bits": "group_bits",
    "tensor_parallel": "tensor_parallel",
}
"""Workload option (:data:`llmviewer.specs.workload.OPTIONS`) -> the flag's destination."""


def workload_options(args: argparse.Namespace) -> dict[str, Any]:
    """The workload options that the parsed subcommand has flags for, named as
    :func:`llmviewer.analyze` takes them."""
    out = {option: getattr(args, flag) for option, flag in _OPTION_FLAGS.items() if hasattr(args, flag)}
    if hasattr(args, "unfused"):
        out.update(attention_options(args))
    return out


def attention_options(args: argparse.Namespace) -> dict[str, Any]:
    """``use_flashattention``, ``causal_attention`` and ``fusion`` from the flags: the speed of
    light unless ``--unfused``, ``--unfused-attention``, ``--non-causal`` or ``--no-fusion``."""
    from ..errors import LLMViewerError

    unfused_attention = bool(args.unfused or args.unfused_attention)
    if args.flash and unfused_attention:
        raise LLMViewerError("--use_flashattention contradicts --unfused/--unfused-attention")
    if args.causal and args.non_causal:
        raise LLMViewerError("--causal and --non-causal contradict each other")
    out: dict[str, Any] = {"use_flashattention": not unfused_attention, "causal_attention": not args.non_causal}
    if args.unfused or args.no_fusion:  # else each timing's own default (ideal, or as a calibrated class runs)
        out["fusion"] = "none"
    return out


def resolve_device(args: argparse.Namespace) -> Any:
    """The :class:`~llmviewer.specs.hardware.Hardware` the flags name: ``custom`` built from
    ``--bandwidth``/``--peak``/``--memory``, else a name looked up in ``--hardware-file`` first,
    then in the shipped library, or a device JSON file."""
    from ..errors import LLMViewerError
    from ..specs.hardware import hardware_from_dict, load_hardware

    if args.hardware.lower() == "custom":
        missing = [f"--{f}" for f in ("bandwidth", "peak") if getattr(args, f) is None]
        if missing:
            raise LLMViewerError(f"a custom device needs {' and '.join(missing)}")
        entry = {"name": "custom", "memory_bandwidth": args.bandwidth, "peak_ops": {"fp16": args.peak}}
        if args.memory is not None:
            entry["memory_bytes"] = args.memory
        return hardware_from_dict(entry, origin="command line")
    return load_hardware(args.hardware, library_file=args.hardware_file)


MAX_COUNT = 10**12
"""Largest size a flag may give (sequences, tokens, devices): far beyond any real workload, small
enough that every result stays a finite float."""

_POSITIVE_INT = (
    "batchsize", "seqlen", "prompt_len", "gen_len", "tensor_parallel", "group_size", "group_bits",
    "max_devices", "pipeline_parallel", "micro_batches", "devices", "dequant_tile", "gamma", "iterations",
    "replicas", "prefill_replicas", "decode_replicas", "requests", "block_size", "kv_blocks",
)  # fmt: skip
"""Flags (by destination) that count something: integers in 1..MAX_COUNT."""

_RANGES: dict[str, tuple[float, float, str]] = {
    "bandwidth": (1e3, 1e18, "a memory bandwidth in bytes/s, in [1e3, 1e18]"),
    "peak": (1e3, 1e21, "a dense 16-bit peak in OPs/s, in [1e3, 1e21]"),
    "memory": (1.0, 1e18, "a memory capacity in bytes, in [1, 1e18]"),
    "density": (0.0, 1.0, "a fraction of weights kept, in (0, 1]"),
    "dequant_ops": (0.0, 1e6, "vector OPs per weight element, in [0, 1e6]"),
    "zipf": (0.0, 100.0, "a Zipf exponent of expert popularity, in [0, 100] (0: uniform)"),
    "index_bits": (1, 64, "bits per column index, an integer in 1..64"),
    "group_bits": (1, 64, "metadata bits per quantization group, an integer in 1..64"),
    "seed": (0, 2**32 - 1, "a random seed, an integer in 0..4294967295"),
}
"""Flags (by destination) with a closed range [low, high] (density: low excluded) and what is valid."""


def flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each destination of ``parser``'s optional flags -> the flag as written in ``--help`` (its
    first dashed spelling)."""
    names = {}
    for action in parser._actions:
        if action.option_strings:
            dashed = [s for s in action.option_strings if "-" in s.lstrip("-")]
            names[action.dest] = (dashed or action.option_strings)[0]
    return names


def validate(args: argparse.Namespace, flags: dict[str, str]) -> None:
    """Check every numeric flag once, before any work: finite numbers, sizes that are positive
    integers up to :data:`MAX_COUNT`, ranges of :data:`_RANGES`, and flags that only mean something
    together (``--bandwidth``/``--peak``/``--memory`` with ``custom``; ``--group-size`` with
    quantized weights). Raises :class:`~llmviewer.errors.LLMViewerError` naming the flag and value."""
    import math

    from ..errors import LLMViewerError

    def fail(dest: str, value: Any, valid: str) -> None:
        raise LLMViewerError(f"{flags.get(dest, '--' + dest)} must be {valid}, got {value!r}")

    for dest, value in vars(args).items():
        if value is None or isinstance(value, bool) or dest.startswith("_"):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            fail(dest, value, _RANGES.get(dest, (0, 0, "a finite number"))[2])
        if dest in _POSITIVE_INT and not 1 <= value <= MAX_COUNT:
            fail(dest, value, f"a positive integer (at most {MAX_COUNT:.0e})")
        if dest in _RANGES:
            low, high, valid = _RANGES[dest]
            if not (low < value if dest == "density" else low <= value) or value > high:
                fail(dest, value, valid)
        elif isinstance(value, int) and abs(value) > MAX_COUNT:
            fail(dest, value, f"at most {MAX_COUNT:.0e} in size")
    if getattr(args, "decode_graphs", None) is not None and getattr(args, "calibrated", None) is None:
        flag = "--decode-graphs" if args.decode_graphs else "--no-decode-graphs"
        raise LLMViewerError(
            f"{flag} applies only with --calibrated [ENGINE_CLASS] (the pure roofline has no launch cost)"
        )
    hardware = getattr(args, "hardware", None)
    if hardware is not None and hardware.lower() != "custom":
        given = [flags.get(d, d) for d in ("bandwidth", "peak", "memory") if getattr(args, d, None) is not None]
        if given:
            raise LLMViewerError(
                f"{' and '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to HARDWARE 'custom' "
                f"(got {hardware!r}): use custom, or drop {'the flag' if len(given) == 1 else 'the flags'}"
            )
    w_bit = getattr(args, "w_bit", None)
    if getattr(args, "group_size", None) is not None and w_bit is not None and w_bit >= 16:
        raise LLMViewerError(
            f"--group-size {args.group_size} needs quantized weights (--w_bit below 16), got --w_bit {w_bit}: "
            "16-bit weights carry no group scales"
        )
