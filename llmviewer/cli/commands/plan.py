"""``llmviewer plan``: the highest request rate one deployment sustains under an SLO, or the fewest
devices for a target rate (request-level simulation, :mod:`llmviewer.techniques.loadsim`)."""

from __future__ import annotations

import argparse

from .. import options
from ..load import PLAN_HELP, configure_plan, run_plan

HELP = PLAN_HELP
PARENTS = (options.model, options.device, options.task, options.precision, options.parallel, options.output)


def configure(parser: argparse.ArgumentParser) -> None:
    """Model, device, workload, scheduler, SLO and the deployments to consider."""
    configure_plan(parser)


def run(args: argparse.Namespace) -> int:
    """Print the plan (or JSON)."""
    return run_plan(args)
