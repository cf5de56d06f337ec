"""``llmviewer hardware``: the shipped devices."""

from __future__ import annotations

import argparse

from .. import options

HELP = "list the shipped devices"
PARENTS = (options.output,)


def configure(parser: argparse.ArgumentParser) -> None:
    """No flags beyond the shared ones."""


def run(args: argparse.Namespace) -> int:
    """Print one name per line, or with ``--json`` one object per device: name, vendor, kind,
    year, memory (bytes), bandwidth (bytes/s), dense peaks (OPs/s per data type), aliases."""
    from ...specs.hardware import hardware_library

    library = hardware_library()
    if not args.json:
        print("\n".join(library))
        return 0
    from ..render import print_json

    fields = ("name", "vendor", "kind", "year", "memory_bytes", "memory_bandwidth", "peak_ops", "aliases")
    return print_json([{f: getattr(hw, f) for f in fields} for hw in library.values()])
