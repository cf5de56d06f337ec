"""The calibrated estimate: published measurements (:mod:`.measurements`) and the fit of each
engine class's efficiencies to them (:mod:`.fitting`; refit with ``python -m llmviewer.calibration``).
The engine reads the stored result without importing this package
(:mod:`llmviewer.engine.efficiency`).

The fit's public names are re-exported here, so ``from llmviewer import calibration`` then
``calibration.evaluate()`` reads as before the package was split.
"""

from .fitting import *  # noqa: F403
