"""Where llmviewer finds its data (model configs, hardware library, measurements)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import LLMViewerError


def data_dir() -> Path:
    """The data folder: ``$LLMVIEWER_DATA`` if set, else ``data/`` beside the package source."""
    root = Path(os.environ.get("LLMVIEWER_DATA", Path(__file__).resolve().parent.parent / "data"))
    if not root.is_dir():
        raise LLMViewerError(
            f"data folder {root} not found: install llmviewer from its repository with"
            " `pip install -e .`, or set LLMVIEWER_DATA to the repository's data/ folder"
        )
    return root
