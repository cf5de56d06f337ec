"""What a real engine achieves of the roofline: the :class:`Efficiency` that derates it, and the
stored, fitted efficiencies of each engine class read from ``data/calibration.json``.

Reading the stored values needs neither pandas nor scipy: the fit that writes them lives in
:mod:`llmviewer.calibration.fitting`, above the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..arrays import maximum
from ..errors import LLMViewerError
from ..paths import data_dir, read_json

CALIBRATION_FILE = "calibration.json"
MAX_BANDWIDTH_FRACTION = 0.95
"""No kernel streams memory faster than this fraction of the datasheet bandwidth (our own H100
runs reach 0.90-0.92, ``data/measurements/h100_kernels/bandwidth.csv``)."""

DEVICE_FAMILIES = (
    "nvidia-hbm",
    "nvidia-hbm-pre-hopper",
    "nvidia-gddr",
    "nvidia-geforce",
    "nvidia-edge",
    "amd-instinct",
    "intel-gaudi",
    "apple",
    "google-tpu",
    "cpu",
)
"""Device families whose achievable fractions of bandwidth and peak a calibration may set apart
(:func:`device_family`): memory technology and kernel libraries differ between them."""

_GDDR_PREFIXES = ("RTX", "L4-", "L40", "A10-", "A40-")
_PRE_HOPPER_PREFIXES = ("V100", "A100", "A800", "A30")
"""NVIDIA HBM parts before Hopper (Volta, Ampere): HBM2/HBM2e, and tensor cores driven by the warp-level
``mma.sync`` instructions. Hopper and later parts (H100, H200, GH200, B200) reach their datasheet peak
only through warpgroup MMA (``wgmma``, Blackwell's ``tcgen05``), which a kernel written for Ampere does
not use (the CUDA PTX ISA documents ``wgmma`` as Hopper-only; llama.cpp's kernels of 2023-2024 are
``mma.sync`` kernels), so what a kernel library reaches of peak differs between the two generations:
:func:`device_family` sets them apart."""
_GEFORCE = re.compile(r"RTX-\d{4}")
"""GeForce cards (RTX-3090, RTX-4090, RTX-5090...): their datasheet FP16 tensor peak, the one the
hardware library records, is the FP32-accumulate rate, half the FP16-accumulate rate; workstation
and data-centre cards (RTX-A6000, L40S, A10, A40) run both at full rate (each device's notes in
``data/hardware.json``)."""


def device_family(hw: Any) -> str:
    """The family of a device (one of :data:`DEVICE_FAMILIES`), from its vendor, kind and name:
    NVIDIA data-centre parts with HBM from Hopper on (``nvidia-hbm``), NVIDIA HBM parts before
    Hopper (V100, A100: ``nvidia-hbm-pre-hopper``, :data:`_PRE_HOPPER_PREFIXES`), NVIDIA GDDR
    workstation and data-centre cards (RTX A-series, L4/L40/A10/A40), NVIDIA GeForce cards
    (``RTX-`` and four digits: a kernel that accumulates in FP16, as llama.cpp's cuBLAS path
    does, runs at twice their recorded FP16 peak, so what they reach of it is not what the other
    GDDR cards reach), NVIDIA Jetson modules, AMD Instinct, Intel Gaudi,
    Apple silicon, Google TPUs, CPUs."""
    vendor, kind, name = hw.vendor, hw.kind, hw.name
    if kind == "cpu":
        return "cpu"
    if vendor == "NVIDIA":
        if kind == "soc":
            return "nvidia-edge"
        if _GEFORCE.match(name):
            return "nvidia-geforce"
        if name.startswith(_GDDR_PREFIXES):
            return "nvidia-gddr"
        return "nvidia-hbm-pre-hopper" if name.startswith(_PRE_HOPPER_PREFIXES) else "nvidia-hbm"
    return {"AMD": "amd-instinct", "Intel": "intel-gaudi", "Apple": "apple", "Google": "google-tpu"}.get(vendor, "")


@dataclass(frozen=True)
class Efficiency:
    """What a real engine achieves of the roofline (1.0 and 0 overhead = the pure roofline), per
    kind of kernel.

    ``bandwidth``: fraction of memory bandwidth reached (matrix-vector products, attention over the
    cache, every memory-bound kernel); ``compute``: fraction of peak reached by large matrix
    products; ``attention_compute``: fraction of peak reached by fused attention kernels (None: as
    ``compute``); ``tile_rows``: matrix products are computed in tiles of this many rows, so a
    product of ``T`` rows costs the OPs of ``max(T, tile_rows)`` rows (tile quantisation; 0: none);
    ``compute_half_tokens``: an older, smooth derating ``compute * T / (T + compute_half_tokens)``
    of matrix products and attention (0: none); ``link``: fraction of link bandwidth;
    ``kernel_overhead``: seconds added per operator instance launched on its own (launch and
    synchronisation); ``graphs``: the engine replays each decode step as one captured graph (CUDA
    graphs, HIP graphs), and ``step_overhead``: the seconds such a replayed step costs as a whole
    (the graph's launch and the host's scheduling of the step), charged once per decode step *in
    place of* every operator's ``kernel_overhead`` (prefill passes, and engines without graphs, pay
    ``kernel_overhead`` per operator instance); ``replaying``: set per pass by :meth:`for_pass`;
    ``collective_latency``: seconds added per tensor-parallel all-reduce (its fixed latency,
    whatever its size; see :data:`COLLECTIVE_LATENCY`); ``fuse_elementwise``: element-wise
    operators are fused into their neighbours' kernels and cost nothing at all (not even their
    OPs), as serving engines do; ``dequant_bandwidth`` and ``dequant_compute``: factors on the
    bandwidth and compute reached by matrix products that dequantise narrower weights than their
    activations (weight-only formats: AWQ, GPTQ, llama.cpp's Q4), applied where ``weight_only``
    (set per pass by :meth:`for_pass`; the attained bandwidth stays within
    :data:`MAX_BANDWIDTH_FRACTION` of the datasheet's);
    ``families``: ``(family, bandwidth, compute)`` triples that replace
    ``bandwidth`` and ``compute`` on devices of that :func:`device_family` (achievable bandwidth is
    a property of the memory system). Row counts ``T`` are an operator's own rows where it has
    them (``lm_head``: the positions it computes logits for), else the pass's tokens.

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
    attention_compute: float | None = None
    tile_rows: float = 0.0
    families: tuple[tuple[str, float, float], ...] = ()
    dequant_bandwidth: float = 1.0
    dequant_compute: float = 1.0
    weight_only: bool = False
    step_overhead: float = 0.0
    graphs: bool = False
    replaying: bool = False

    def __post_init__(self) -> None:
        """Reject efficiencies that would give non-finite or negative times (one clear line)."""
        fractions = [(name, getattr(self, name)) for name in ("bandwidth", "compute", "link")]
        if self.attention_compute is not None:
            fractions.append(("attention_compute", self.attention_compute))
        for family in self.families:
            if not (isinstance(family, tuple) and len(family) == 3 and family[0] in DEVICE_FAMILIES):
                raise LLMViewerError(
                    f"efficiency families must be (family, bandwidth, compute) with a family in "
                    f"{', '.join(DEVICE_FAMILIES)}, got {family!r}"
                )
            fractions += [(f"bandwidth of {family[0]}", family[1]), (f"compute of {family[0]}", family[2])]
        fractions += [(name, getattr(self, name)) for name in ("dequant_bandwidth", "dequant_compute")]
        for name, v in fractions:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
                raise LLMViewerError(f"efficiency {name} must be a fraction > 0 (1: the roof), got {v!r}")
        for name in ("compute_half_tokens", "kernel_overhead", "collective_latency", "tile_rows", "step_overhead"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
                raise LLMViewerError(f"efficiency {name} must be a finite number >= 0, got {v!r}")

    def on(self, hw: Any) -> Efficiency:
        """These efficiencies on device ``hw``: ``bandwidth`` and ``compute`` of its family where
        :attr:`families` lists it."""
        if not self.families:
            return self
        return _on_family(self, device_family(hw))

    def for_pass(self, p: Any, decode: bool = False) -> Efficiency:
        """These efficiencies for the pass ``p``: its matrix products dequantise (``weight_only``)
        when every weight width of ``p`` is below its activation width; ``decode``: ``p`` is a
        decode step (one or a few new tokens per sequence), replayed as a graph (``replaying``)
        when the engine captures them (``graphs``). Every calibrated pass time goes through here
        (:func:`llmviewer.engine.roofline.forward_time`)."""
        replaying = self.graphs and decode
        if self.dequant_bandwidth == 1 and self.dequant_compute == 1:
            weight_only = self.weight_only
        else:
            weight_only = bool(np.all(np.asarray(p.w_bits) < np.asarray(p.a_bits)))
        if weight_only == self.weight_only and replaying == self.replaying:
            return self
        return replace(self, weight_only=weight_only, replaying=replaying)

    @property
    def operator_overhead(self) -> float:
        """Seconds added to each operator instance of this pass: ``kernel_overhead``, or none in a
        replayed graph (:attr:`step_cost` instead)."""
        return 0.0 if self.replaying else self.kernel_overhead

    @property
    def step_cost(self) -> float:
        """Seconds added once to this pass: ``step_overhead`` when it is a replayed graph, else 0."""
        return self.step_overhead if self.replaying else 0.0

    def attained_bandwidth(self, kind: str, hw: Any) -> float:
        """Bytes/s that an operator of ``kind`` reaches of ``hw``'s memory bandwidth."""
        fraction = self.bandwidth
        if self.weight_only and kind == "matmul":
            fraction = min(fraction * self.dequant_bandwidth, MAX_BANDWIDTH_FRACTION)
        return hw.memory_bandwidth * fraction

    def attained_peak(self, kind: str, peak: Any, rows: Any) -> Any:
        """OPs/s that an operator of ``kind`` reaches of ``peak`` OPs/s with ``rows`` rows (the
        compute roof of the calibrated estimate; ``peak`` itself for :data:`PURE`)."""
        fraction = self.attention_compute if kind == "fused" and self.attention_compute is not None else self.compute
        if self.weight_only and kind == "matmul":
            fraction = min(fraction * self.dequant_compute, 1.0)
        attained = peak * fraction
        if self.compute_half_tokens and kind in ("matmul", "fused"):
            attained = attained * rows / (rows + self.compute_half_tokens)
        if self.tile_rows and kind == "matmul":
            attained = attained * rows / maximum(rows, self.tile_rows)
        return attained


@lru_cache(maxsize=256)
def _on_family(eff: Efficiency, family: str) -> Efficiency:
    for name, bandwidth, compute in eff.families:
        if name == family:
            return replace(eff, bandwidth=bandwidth, compute=compute, families=())
    return replace(eff, families=())


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
        return efficiency_from_entry(entry)
    except (KeyError, TypeError, AttributeError, ValueError, LLMViewerError) as e:
        problem = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise LLMViewerError(f"{CALIBRATION_FILE}: engine class {engine_class!r}: {problem}") from None


def efficiency_from_entry(entry: dict[str, Any]) -> Efficiency:
    """The :class:`Efficiency` of one class's entry in ``data/calibration.json`` (fractions,
    seconds, rows; ``families``: family -> ``{"bandwidth", "compute"}``)."""
    return Efficiency(
        bandwidth=entry["bandwidth"],
        compute=entry["compute"],
        compute_half_tokens=entry.get("compute_half_tokens", 0.0),
        link=entry.get("link", entry["bandwidth"]),
        kernel_overhead=entry["kernel_overhead"],
        fuse_elementwise=bool(entry.get("fuse_elementwise", False)),
        collective_latency=entry.get("collective_latency", COLLECTIVE_LATENCY),
        attention_compute=entry.get("attention_compute"),
        tile_rows=entry.get("tile_rows", 0.0),
        families=tuple((f, v["bandwidth"], v["compute"]) for f, v in sorted(entry.get("families", {}).items())),
        dequant_bandwidth=entry.get("dequant_bandwidth", 1.0),
        dequant_compute=entry.get("dequant_compute", 1.0),
        step_overhead=entry.get("step_overhead", 0.0),
        graphs=bool(entry.get("graphs", False)),
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


def calibration_info(calibration: Efficiency | str | None) -> dict[str, Any] | None:
    """What a report says of the calibration it used: None for the pure roofline, else
    ``{"class": name, "held_out_mape_percent": stored mean absolute percentage error (%) of the
    class on the held-out sources, or None when it has no held-out rows or is custom,
    "decode_graphs": whether its decode steps are timed as replayed graphs}``."""
    if calibration is None:
        return None
    if not isinstance(calibration, str):
        return {"class": "custom", "held_out_mape_percent": None, "decode_graphs": calibration.graphs}
    entry = stored_calibration()["classes"].get(calibration, {})
    return {
        "class": calibration,
        "held_out_mape_percent": entry.get("held_out_mape_percent"),
        "decode_graphs": bool(entry.get("graphs", False)),
    }


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
