"""``llmviewer models``: the shipped model configs."""

from __future__ import annotations

import argparse

from .. import options

HELP = "list the shipped models"
PARENTS = (options.output,)


def configure(parser: argparse.ArgumentParser) -> None:
    """``--no-params``: leave out total and active parameters (reads the configs only)."""
    parser.add_argument(
        "--no-params",
        dest="params",
        action="store_false",
        help="leave out total and active parameters: read the configs only, without loading the engine",
    )


def run(args: argparse.Namespace) -> int:
    """Print a table (or with ``--json`` one object per model): name, family, layer mix (distinct
    token mixers and MLPs with their layer counts) and total and active parameters (routed experts
    counted at top_k / experts). With ``--no-params`` (table only) the listing reads the configs
    only (no numpy, no pandas). Never pandas: a 45-row table is not worth its import time."""
    from ...specs.models import FAMILIES, layer_mix, load_model, shipped_models

    rows = []
    for name in shipped_models():
        m = load_model(name)
        rows.append({"name": m.name, "family": FAMILIES.get(m.model_type, m.model_type), "model_type": m.model_type,
                     "num_layers": m.num_layers, "hidden_size": m.hidden_size, "moe": m.is_moe,
                     "layer_mix": layer_mix(m).describe()})  # fmt: skip
    if args.params or args.json:
        from ...engine.graph import parameter_count
        from ...techniques.moe import active_parameters

        for row in rows:
            m = load_model(row["name"])
            row.update(parameters=parameter_count(m), active_parameters=active_parameters(m))
    if args.json:
        from ..render import print_json

        return print_json(rows)
    from ..render import si

    columns = ["name", "family"] + (["parameters", "active_parameters"] if args.params else []) + ["layer_mix"]
    titles = {"parameters": "total", "active_parameters": "active", "layer_mix": "layers"}
    cells = [[titles.get(c, c) for c in columns]]
    cells += [[si(r[c]) if c.endswith("parameters") else str(r[c]) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        parts = [
            v.rjust(w) if c.endswith("parameters") else v.ljust(w) for v, w, c in zip(row, widths, columns, strict=True)
        ]
        print("  ".join(parts).rstrip())
    return 0
