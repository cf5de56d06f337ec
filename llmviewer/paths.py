"""Where llmviewer finds its data (model configs, hardware library, measurements, calibration,
prices): the ``data`` folder inside the installed package, read through ``importlib.resources``.
Set ``LLMVIEWER_DATA`` to a folder of the same layout to use other data."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .errors import LLMViewerError

DATA_ENV = "LLMVIEWER_DATA"


def data_dir() -> Path:
    """The data folder: ``$LLMVIEWER_DATA`` if set, else the package's own ``llmviewer/data``."""
    override = os.environ.get(DATA_ENV)
    if override:
        root = Path(override)
        if not root.is_dir():
            raise LLMViewerError(f"{DATA_ENV}={override!r} is not a folder: unset it or point it at a data folder")
        return root
    root = Path(str(resources.files("llmviewer") / "data"))
    if not root.is_dir():
        raise LLMViewerError(
            f"llmviewer's data folder {root} is missing: reinstall the package (pip install llmviewer)"
        )
    return root
