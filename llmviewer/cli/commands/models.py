"""``llmviewer models``: the shipped model configs."""

from __future__ import annotations

import argparse

from .. import options

HELP = "list the shipped models"
PARENTS = (options.output,)


def configure(parser: argparse.ArgumentParser) -> None:
    """No flags beyond the shared ones."""


def run(args: argparse.Namespace) -> int:
    """Print one name per line, or with ``--json`` one object per model: name, model_type,
    layers, hidden size, parameters and whether it routes to experts."""
    from ...specs.models import shipped_models

    if not args.json:
        print("\n".join(shipped_models()))
        return 0
    from ...engine.graph import parameter_count
    from ...specs.models import load_model
    from ..render import print_json

    rows = []
    for name in shipped_models():
        m = load_model(name)
        rows.append({"name": m.name, "model_type": m.model_type, "num_layers": m.num_layers,
                     "hidden_size": m.hidden_size, "parameters": parameter_count(m), "moe": m.is_moe})  # fmt: skip
    return print_json(rows)
