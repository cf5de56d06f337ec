"""What-if devices: a library device with scaled or replaced numbers, or a device built from
a few published figures, to ask what a hardware direction would change.

The roofline sees a device only through its memory bandwidth (bytes/s), its peaks per data
type (OPs/s), its capacity (bytes) and its link bandwidth (bytes/s). A what-if device changes
those and nothing else, so it answers "what if the roof were here", not "what would this chip
measure": processing-in-memory appears as a higher effective bandwidth, an on-chip-SRAM
dataflow chip as a device whose memory IS its SRAM, a new number format as a new peak.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..engine.analysis import memory_footprint
from ..errors import LLMViewerError, unknown_name_error
from ..paths import data_dir
from ..specs.hardware import DTYPES, Hardware, load_hardware, read_devices
from ..specs.models import ModelSpec


def _scale(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise LLMViewerError(f"{what} must be a positive finite number, got {value!r}")
    return float(value)


def whatif(
    hardware: str | Hardware,
    name: str | None = None,
    bandwidth_scale: float = 1.0,
    peak_scale: float = 1.0,
    memory_scale: float = 1.0,
    memory_bandwidth: float | None = None,
    peak_ops: dict[str, float] | None = None,
    memory_bytes: float | None = None,
    extra_peaks: dict[str, float] | None = None,
) -> Hardware:
    """A copy of ``hardware`` with memory bandwidth (bytes/s), every peak (OPs/s) and capacity
    (bytes) multiplied by the ``*_scale`` factors, or replaced by explicit ``memory_bandwidth``,
    ``peak_ops`` (the whole table) and ``memory_bytes``; ``extra_peaks`` adds or overrides
    single data types (e.g. ``{"fp4": 2 * peak_fp8}``). Explicit values are applied before the
    scales. The result has kind ``"what-if"`` and a note saying how it was derived."""
    base = load_hardware(hardware)
    bw = _scale(memory_bandwidth, "memory_bandwidth") if memory_bandwidth is not None else base.memory_bandwidth
    peaks = dict(base.peak_ops) if peak_ops is None else {k: _scale(v, f"peak_ops[{k!r}]") for k, v in peak_ops.items()}
    peaks.update({k: _scale(v, f"extra_peaks[{k!r}]") for k, v in (extra_peaks or {}).items()})
    unknown = set(peaks) - set(DTYPES)
    if unknown or not peaks:
        raise LLMViewerError(f"peaks must map data types ({', '.join(DTYPES)}) to OPs/s, got {sorted(peaks)}")
    mem = _scale(memory_bytes, "memory_bytes") if memory_bytes is not None else base.memory_bytes
    b, p, m = (_scale(x, w) for x, w in ((bandwidth_scale, "bandwidth_scale"), (peak_scale, "peak_scale"),
                                          (memory_scale, "memory_scale")))  # fmt: skip
    changes = [
        f"bandwidth x{b:g}" if b != 1 else "",
        f"peaks x{p:g}" if p != 1 else "",
        f"memory x{m:g}" if m != 1 else "",
    ]
    if memory_bandwidth is not None or peak_ops is not None or memory_bytes is not None or extra_peaks:
        changes.append("explicit values")
    label = ", ".join(c for c in changes if c) or "unchanged"
    return replace(
        base,
        name=name or f"{base.name} ({label})",
        memory_bandwidth=bw * b,
        peak_ops={k: v * p for k, v in peaks.items()},
        memory_bytes=mem * m,
        kind="what-if",
        aliases=(),
        sources={},
        notes=f"what-if device derived from {base.name}: {label}",
    )


def sram_device(
    name: str,
    sram_bytes: float,
    sram_bandwidth: float,
    peak_ops: dict[str, float],
    interconnect_bandwidth: float | None = None,
) -> Hardware:
    """A dataflow chip that keeps the model in on-chip SRAM: its memory is ``sram_bytes`` (bytes)
    read at ``sram_bandwidth`` (bytes/s), with ``peak_ops`` (OPs/s per data type) and an optional
    chip-to-chip link (bytes/s per direction)."""
    unknown = set(peak_ops) - set(DTYPES)
    if unknown or not peak_ops:
        raise LLMViewerError(f"peak_ops must map data types ({', '.join(DTYPES)}) to OPs/s")
    return Hardware(
        name=name,
        memory_bandwidth=_scale(sram_bandwidth, "sram_bandwidth"),
        peak_ops={k: _scale(v, f"peak_ops[{k!r}]") for k, v in peak_ops.items()},
        memory_bytes=_scale(sram_bytes, "sram_bytes"),
        onchip_buffer_bytes=float(sram_bytes),
        interconnect_bandwidth=None if interconnect_bandwidth is None else _scale(interconnect_bandwidth, "link"),
        kind="what-if",
        notes="on-chip SRAM is the device memory",
    )


REFERENCE_FILE = "whatif_devices.json"
"""Devices the what-if studies use beyond the ranked library, each number with its source."""


def reference_devices() -> dict[str, Hardware]:
    """The devices of ``data/whatif_devices.json`` by name (same schema as the hardware library)."""
    return {d.name: d for d in read_devices(data_dir() / REFERENCE_FILE)}


def reference_device(name: str) -> Hardware:
    """One device of ``data/whatif_devices.json`` (e.g. ``"Groq LPU (what-if)"``, ``"T4"``)."""
    devices = reference_devices()
    if name not in devices:
        raise unknown_name_error("what-if device", name, devices, "llmviewer.techniques.whatif.reference_devices()")
    return devices[name]


def devices_to_hold(
    model: str | ModelSpec, hardware: str | Hardware, batch_size: int = 1, seqlen: int = 1024, **options: Any
) -> int:
    """Fewest devices whose memories together hold the footprint (weights + KV cache +
    activations, bytes) of ``batch_size`` sequences of ``seqlen`` tokens, the model split by
    capacity alone (layers placed across chips, as dataflow systems do): ceil(need / capacity)."""
    hw = load_hardware(hardware)
    need = memory_footprint(model, batch_size=batch_size, seqlen=seqlen, **options)["total"]
    return max(math.ceil(float(need) / hw.memory_bytes), 1)


def unlimited(hardware: str | Hardware) -> Hardware:
    """``hardware`` with unbounded capacity: the roof of a group of such chips that pipelines the
    layers (each token visits every chip in turn, so one token's time is the whole model's
    traffic over ONE chip's bandwidth) once :func:`devices_to_hold` chips hold the model."""
    hw = load_hardware(hardware)
    return replace(hw, name=f"{hw.name} (layer pipeline)", memory_bytes=math.inf)
