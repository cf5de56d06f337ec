"""What a real engine achieves of the roofline: the :class:`Efficiency` that derates it, and the
stored, fitted efficiencies of each engine class read from ``data/calibration.json``.

Reading the stored values needs neither pandas nor scipy: the fit that writes them lives in
:mod:`llmviewer.calibration.fitting`, above the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import LLMViewerError
from ..paths import data_dir

CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Efficiency:
    """What a real engine achieves of the roofline (1.0 and 0 overhead = the pure roofline).

    ``bandwidth``: fraction of memory bandwidth reached; ``compute``: fraction of peak reached
    by large matrix products, reduced for small ones as ``compute * T / (T + compute_half_tokens)``
    with ``T`` the tokens in the pass; ``link``: fraction of link bandwidth; ``kernel_overhead``:
    seconds added per operator instance (launch and synchronisation); ``fuse_elementwise``:
    element-wise operators are fused into their neighbours' kernels (cost nothing by themselves),
    as serving engines do.
    """

    bandwidth: float = 1.0
    compute: float = 1.0
    compute_half_tokens: float = 0.0
    link: float = 1.0
    kernel_overhead: float = 0.0
    fuse_elementwise: bool = False


PURE = Efficiency()
"""The pure roofline: every roof reached, no overhead."""


@lru_cache(maxsize=4)
def _stored(path: Path, mtime: float) -> dict[str, Any]:
    return json.loads(path.read_text())


def stored_calibration() -> dict[str, Any]:
    """The content of ``data/calibration.json`` (re-read when the file changes)."""
    path = data_dir() / CALIBRATION_FILE
    if not path.is_file():
        raise LLMViewerError(f"{path} not found: run `python -m llmviewer.calibration` to fit it")
    return _stored(path, path.stat().st_mtime)


def load_calibration(engine_class: str = "serving") -> Efficiency:
    """The stored efficiencies of ``engine_class`` ("serving", "llama.cpp-cuda", "llama.cpp-metal", ...).
    Fractions in (0, 1], ``compute_half_tokens`` in tokens, ``kernel_overhead`` in seconds; the
    link reaches the same fraction as memory bandwidth unless the file says otherwise."""
    classes = stored_calibration()["classes"]
    if engine_class not in classes:
        raise LLMViewerError(f"no calibration for engine class {engine_class!r}; fitted: {', '.join(sorted(classes))}")
    entry = classes[engine_class]
    return Efficiency(
        bandwidth=entry["bandwidth"],
        compute=entry["compute"],
        compute_half_tokens=entry["compute_half_tokens"],
        link=entry.get("link", entry["bandwidth"]),
        kernel_overhead=entry["kernel_overhead"],
        fuse_elementwise=bool(entry.get("fuse_elementwise", False)),
    )


def stored_efficiencies() -> dict[str, Efficiency]:
    """Every stored engine class's efficiencies, by class name."""
    return {cls: load_calibration(cls) for cls in stored_calibration()["classes"]}


def resolve_efficiency(calibration: Efficiency | str | None) -> Efficiency:
    """None -> the pure roofline; a name -> that engine class's stored efficiencies; an
    :class:`Efficiency` passes through."""
    if calibration is None:
        return PURE
    if isinstance(calibration, Efficiency):
        return calibration
    return load_calibration(calibration)


def calibration_name(calibration: Efficiency | str | None) -> str | None:
    """How a report names the calibration: None (pure roofline), a class name, or "custom"."""
    return calibration if calibration is None or isinstance(calibration, str) else "custom"
