"""The ``llmviewer`` command: its parser, built from the command registry, and the entry point.

Bad input prints one line on stderr and exits with status 2: argparse's own errors (an unknown
flag, a value of the wrong type) name the subcommand and point to its ``--help``; errors found
by the engine (an unknown model, a non-positive size) read ``llmviewer: error: ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import io
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._version import __version__
from ..errors import LLMViewerError
from .commands import COMMANDS
from .options import Formatter, flag_names, validate


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, with a pointer to ``--help``."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see PROG --help)`` on stderr and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``llmviewer`` command: one subparser per registered command,
    made of the shared parent parsers the command lists and its own flags."""
    parser = Parser(prog="llmviewer", description="Roofline analysis of LLM inference.", formatter_class=Formatter)
    parser.add_argument("--version", action="version", version=f"llmviewer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        command = importlib.import_module(f".commands.{name}", __package__)
        p = sub.add_parser(
            name,
            help=command.HELP,
            description=command.HELP,
            parents=[parent() for parent in command.PARENTS],
            formatter_class=Formatter,
        )
        command.configure(p)
        p.set_defaults(run_command=command.run, _flags=flag_names(p))
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status. With ``--calibrated`` the output says which
    calibration class it used and its stored held-out error (:func:`with_calibration`)."""
    args = build_parser().parse_args(argv)
    validate(args, args._flags)
    if getattr(args, "calibrated", None) is None:
        return args.run_command(args)
    from ..engine.efficiency import calibration_info, load_calibration

    info = calibration_info(args.calibrated)  # an unknown class fails here, before any work
    args.calibration_class = args.calibrated
    if getattr(args, "decode_graphs", None) is not None:  # the class's efficiencies, decode launches as asked
        args.calibrated = dataclasses.replace(load_calibration(args.calibrated), graphs=args.decode_graphs)
        info = {**info, "decode_graphs": args.decode_graphs}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = args.run_command(args)
    sys.stdout.write(with_calibration(out.getvalue(), info, bool(getattr(args, "json", False))))
    return status


def with_calibration(printed: str, info: dict, is_json: bool) -> str:
    """A command's output with the calibration it used: a ``"calibration"`` entry ``{"class",
    "held_out_mape_percent", "decode_graphs"}`` in a JSON document (in each record of a JSON list), or a last line
    of text. The held-out error is the class's stored mean absolute percentage error (%) on the
    sources it was not fitted on (``data/calibration.json``)."""
    if is_json and printed.strip():
        try:
            document = json.loads(printed)
        except json.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            return json.dumps({**document, "calibration": info}) + "\n"
        if isinstance(document, list) and all(isinstance(r, dict) for r in document):
            return json.dumps([{**r, "calibration": info} for r in document]) + "\n"
    mape = info["held_out_mape_percent"]
    error = (
        f"held-out error {mape:.1f}% (mean absolute, on sources not fitted)"
        if mape is not None
        else ("no held-out error stored for this class")
    )
    launches = "replayed as graphs" if info.get("decode_graphs") else "launched kernel by kernel"
    return printed + f"calibrated estimate: class {info['class']}, {error}; decode steps {launches}\n"


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
