"""The ``llmviewer`` command: its parser, built from the command registry, and the entry point.

Bad input prints one line on stderr and exits with status 2: argparse's own errors (an unknown
flag, a value of the wrong type) name the subcommand and point to its ``--help``; errors found
by the engine (an unknown model, a non-positive size) read ``llmviewer: error: ...``.
"""

from __future__ import annotations

import argparse
import importlib
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
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    validate(args, args._flags)
    return args.run_command(args)


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
