"""What a real engine achieves of the roofline: the :class:`Efficiency` that derates it, and the
stored, fitted efficiencies of each engine class read from ``data/calibration.json``.

Reading the stored values needs neither pandas nor scipy: the fit that writes them lives in
:mod:`llmviewer.calibration.fitting`, above the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import LLMViewerError
from ..paths import data_dir, read_json

CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Efficiency:
    """What a real engine achieves of the roofline (1.0 and 0 overhead = the pure roofline).

    ``bandwidth``: fraction of memory bandwidth reached; ``compute``: fraction of peak reached
    by large matrix products, reduced for small ones as ``compute * T / (T + compute_half_tokens)``
    with ``T`` the tokens in the pass; ``link``: fraction of link bandwidth; ``kernel_overhead``:
    seconds added per operator instance (launch and synchronisation); ``collective_latency``:
    seconds added per tensor-parallel all-reduce (its fixed latency, whatever its size; see
    :data:`COLLECTIVE_LATENCY`); ``fuse_elementwise``: element-wise operators are fused into
    their neighbours' kernels and cost nothing at all (not even their OPs), as serving engines do.
    ``compute_half_tokens`` applies to an operator's own rows where it has them (``lm_head``:
    the positions it computes logits for).

    Element-wise *bytes* are set by the workload's ``fusion`` option, not here: the pure roofline
    runs with ideal fusion by default (:data:`llmviewer.specs.workload.FUSIONS`).
    """

    bandwidth: float = 1.0
    compute: float = 1.0
    compute_half_tokens: float = 0.0
    link: float = 1.0
    kernel_overhead: float = 0.0
    fuse_elementwise: bool = False
    collective_latency: float = 0.0

    def __post_init__(self) -> None:
        """Reject efficiencies that would give non-finite or negative times (one clear line)."""
        for name in ("bandwidth", "compute", "link"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
                raise LLMViewerError(f"efficiency {name} must be a fraction > 0 (1: the roof), got {v!r}")
        for name in ("compute_half_tokens", "kernel_overhead"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
                raise LLMViewerError(f"efficiency {name} must be a finite number >= 0, got {v!r}")


PURE = Efficiency()
"""The pure roofline: every roof reached, no overhead, no collective latency (the bound stays a
bound: an all-reduce of a few KB captured in a CUDA graph has been measured at 0.5 us on 4 NVLink
H800s, https://github.com/NVIDIA/nccl/issues/1984, so no fixed latency is safe to add)."""

COLLECTIVE_LATENCY = 8e-6
"""Seconds of fixed latency per tensor-parallel all-reduce in the calibrated estimate (not
fitted: the data cannot separate it from the per-kernel overhead). Source: all-reduce latency
of small messages (512 B to 32 KB, decode-sized) on H100 with NVLink, TP 2/4/8, measured in
https://github.com/sgl-project/sglang/pull/2904: vLLM's custom all-reduce 8.5-11.8 us, the
TensorRT-LLM-derived kernel 3.7-7.8 us; 8 us sits between the two families that serving
engines use (NCCL's ring for such sizes is slower, ~25 us by its own tuner model,
https://github.com/NVIDIA/nccl/issues/1453)."""


@lru_cache(maxsize=4)
def _stored(path: Path, mtime: float) -> dict[str, Any]:
    raw = read_json(path, "calibration file")
    if not isinstance(raw, dict) or not isinstance(raw.get("classes"), dict):
        raise LLMViewerError(f"{path}: expected an object with 'classes' (engine class -> efficiencies)")
    return raw


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
    try:
        return Efficiency(
            bandwidth=entry["bandwidth"],
            compute=entry["compute"],
            compute_half_tokens=entry["compute_half_tokens"],
            link=entry.get("link", entry["bandwidth"]),
            kernel_overhead=entry["kernel_overhead"],
            fuse_elementwise=bool(entry.get("fuse_elementwise", False)),
            collective_latency=entry.get("collective_latency", COLLECTIVE_LATENCY),
        )
    except (KeyError, TypeError, AttributeError, LLMViewerError) as e:
        problem = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise LLMViewerError(f"{CALIBRATION_FILE}: engine class {engine_class!r}: {problem}") from None


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


def calibration_info(calibration: Efficiency | str | None) -> dict[str, Any] | None:
    """What a report says of the calibration it used: None for the pure roofline, else
    ``{"class": name, "held_out_mape_percent": stored mean absolute percentage error (%) of the
    class on the held-out sources, or None when it has no held-out rows or is custom}``."""
    if calibration is None:
        return None
    if not isinstance(calibration, str):
        return {"class": "custom", "held_out_mape_percent": None}
    entry = stored_calibration()["classes"].get(calibration, {})
    return {"class": calibration, "held_out_mape_percent": entry.get("held_out_mape_percent")}


def elementwise_fusion(calibration: Efficiency | str | None, options: dict[str, Any]) -> dict[str, Any]:
    """Workload ``options`` with the ``fusion`` that the timing assumes when the caller gave none:
    ideal for the pure roofline (the bound) and for engines that fuse element-wise work; ``"none"``
    for a calibrated class whose kernels do not (llama.cpp, PyTorch eager), as it was fitted."""
    if "fusion" in options or calibration is None:
        return options
    eff = resolve_efficiency(calibration)
    return options if eff.fuse_elementwise else {**options, "fusion": "none"}


def calibration_name(calibration: Efficiency | str | None) -> str | None:
    """How a report names the calibration: None (pure roofline), a class name, or "custom"."""
    return calibration if calibration is None or isinstance(calibration, str) else "custom"
