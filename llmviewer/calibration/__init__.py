"""The calibrated estimate: published measurements (:mod:`.measurements`) and the fit of each
engine class's efficiencies to them (:mod:`.fitting`; refit with ``python -m llmviewer.calibration``).
The engine reads the stored result without importing this package
(:mod:`llmviewer.engine.efficiency`).

Every name of the fit, public or private, reads through this package too, so that
``from llmviewer import calibration`` then ``calibration.evaluate()`` works as before the
package was split.
"""

from typing import Any

from . import fitting as _fitting
from .fitting import *  # noqa: F403


def __getattr__(name: str) -> Any:
    """The fit's other names (its private helpers included)."""
    return getattr(_fitting, name)
