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
    token mixers and MLPs with their layer counts), total and active parameters (routed experts
    counted at top_k / experts) of the text model and, for multimodal configs, the vision tower's
    parameters (with its projector; JSON: ``vision`` with its style, parameters, image size in pixels
    and image tokens, null without one). With ``--no-params`` (table only) the listing reads the
    configs only (no numpy, no pandas). Never pandas: a 45-row table is not worth its import time."""
    from ...specs.models import FAMILIES, layer_mix, load_model, shipped_models

    rows = []
    for name in shipped_models():
        m = load_model(name)
        rows.append({"name": m.name, "family": FAMILIES.get(m.model_type, m.model_type), "model_type": m.model_type,
                     "num_layers": m.num_layers, "hidden_size": m.hidden_size, "moe": m.is_moe,
                     "layer_mix": layer_mix(m).describe()})  # fmt: skip
    if args.params or args.json:
        from ...engine.graph import parameter_count
        from ...engine.vision import vision_parameters
        from ...techniques.moe import active_parameters

        for row in rows:
            m = load_model(row["name"])
            row.update(parameters=parameter_count(m), active_parameters=active_parameters(m))
            v = m.vision
            row["vision"] = (
                None
                if v is None
                else {"style": v.style, "parameters": vision_parameters(v), "image_size": v.image_size,
                      "tokens_per_image": v.tokens_per_image}
            )  # fmt: skip
    if args.json:
        from ..render import print_json

        return print_json(rows)
    from ..render import si

    numeric = ("parameters", "active_parameters", "vision")
    columns = ["name", "family"] + (list(numeric) if args.params else []) + ["layer_mix"]
    titles = {"parameters": "total", "active_parameters": "active", "layer_mix": "layers"}

    def cell(r: dict, c: str) -> str:
        if c == "vision":
            return "-" if r[c] is None else si(r[c]["parameters"])
        return si(r[c]) if c.endswith("parameters") else str(r[c])

    cells = [[titles.get(c, c) for c in columns]]
    cells += [[cell(r, c) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        parts = [v.rjust(w) if c in numeric else v.ljust(w) for v, w, c in zip(row, widths, columns, strict=True)]
        print("  ".join(parts).rstrip())
    return 0
