"""Where llmviewer finds its data (model configs, hardware library, measurements, calibration,
prices): the ``data`` folder inside the installed package, read through ``importlib.resources``.
Set ``LLMVIEWER_DATA`` to a folder of the same layout to use other data."""

from __future__ import annotations

import json
import os
import stat
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

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
    return _package_data()


@lru_cache(maxsize=1)
def _package_data() -> Path:
    """The package's own data folder, found once per process."""
    root = Path(str(resources.files("llmviewer") / "data"))
    if not root.is_dir():
        raise LLMViewerError(
            f"llmviewer's data folder {root} is missing: reinstall the package (pip install llmviewer)"
        )
    return root


MAX_JSON_BYTES = 16 * 2**20
"""Largest JSON file llmviewer reads (bytes): configs, device files and calibration are a few kB."""


def _reject_constant(name: str) -> Any:
    raise LLMViewerError(f"{name} is not a JSON number (write a finite number or null)")


def read_text(path: str | Path, what: str, max_bytes: int) -> str:
    """The text of the file at ``path``, refusing with one line (an :class:`LLMViewerError`
    naming the path and ``what`` it should be) anything that is not a regular UTF-8 text file of
    at most ``max_bytes`` bytes: a missing file, a folder, a device such as ``/dev/zero``, a
    symlink loop, binary or UTF-16 text."""
    path = Path(path)
    try:
        real = path.resolve(strict=True)
        st = os.stat(real)
    except FileNotFoundError:
        raise LLMViewerError(f"{path}: no such file") from None
    except RuntimeError:  # symlink loop (Python < 3.13)
        raise LLMViewerError(f"{path}: symlink loop, not a {what}") from None
    except OSError as e:
        raise LLMViewerError(f"{path}: cannot read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise LLMViewerError(f"{path}: is {kind}, not a {what}")
    if st.st_size > max_bytes:
        raise LLMViewerError(f"{path}: {st.st_size} bytes is too large for a {what} (at most {max_bytes})")
    try:
        with open(real, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise LLMViewerError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > max_bytes:
        raise LLMViewerError(f"{path}: too large for a {what} (at most {max_bytes} bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LLMViewerError(f"{path}: not UTF-8 text (binary or UTF-16?), not a {what}") from None
    return text


def read_json(path: str | Path, what: str = "JSON file", max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse the JSON file at ``path``, refusing with one line (an :class:`LLMViewerError`
    naming the path) anything that is not a regular UTF-8 JSON file of at most ``max_bytes``
    bytes (see :func:`read_text`), ``NaN``/``Infinity``, nesting too deep or integers too long
    to parse."""
    text = read_text(path, what, max_bytes)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise LLMViewerError(f"{path}: malformed JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise LLMViewerError(f"{path}: JSON nested too deeply for a {what}") from None
    except LLMViewerError as e:
        raise LLMViewerError(f"{path}: {e}") from None
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise LLMViewerError(f"{path}: malformed JSON ({str(e).split(';')[0]})") from None
