"""Devices: memory, bandwidth and peak OPs/s per data type, from ``data/hardware.json``.

Units are SI throughout: bytes, bytes/s, OPs/s (GB = 1e9 bytes). Peaks are dense
(never the 2:4-sparse figures). Link bandwidths are per direction.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import LLMViewerError, unknown_name_error
from ..paths import data_dir

HARDWARE_FILE = "hardware.json"
DTYPES = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4")
"""Data types a device may list a peak for."""

# For a given operand width, the data types that can run it, best first. A narrower
# operand that the device cannot compute natively runs on the next wider units.
_UNITS_BY_BITS = {
    4: ("int4", "fp4"),
    8: ("int8", "fp8"),
    16: ("fp16", "bf16"),
    32: ("fp32",),
}
_WIDER = {4: 8, 8: 16, 16: 32}


@dataclass(frozen=True)
class Hardware:
    """One device. ``peak_ops`` maps a data type (see :data:`DTYPES`) to dense OPs/s."""

    name: str
    memory_bandwidth: float  # bytes/s
    peak_ops: dict[str, float] = field(hash=False)  # OPs/s per data type
    memory_bytes: float = math.inf  # bytes
    onchip_buffer_bytes: float | None = None  # bytes
    interconnect_bandwidth: float | None = None  # bytes/s per direction
    host_link_bandwidth: float | None = None  # bytes/s per direction
    vendor: str = ""
    kind: str = "gpu"
    year: int | None = None
    aliases: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    notes: str = field(default="", compare=False)
    tdp_watts: float | None = field(default=None, compare=False)  # watts: vendor power limit (board/module/package)

    def __hash__(self) -> int:
        return hash((self.name, self.memory_bandwidth, tuple(sorted(self.peak_ops.items()))))

    def compute_dtype(self, bits: int) -> str:
        """The data type whose units run operands of ``bits`` bits (4, 8, 16 or 32) on this device.

        A width the device cannot compute natively falls back to the next wider one it can
        (for example 4-bit activations on a device with no 4-bit units run at its INT8 peak).
        """
        b = bits
        while b is not None:
            for dtype in _UNITS_BY_BITS[b]:
                if dtype in self.peak_ops:
                    return dtype
            b = _WIDER.get(b)
        raise LLMViewerError(
            f"{self.name} has no peak for {bits}-bit operands (it lists {', '.join(self.peak_ops)}); "
            f"use narrower bit widths or add a peak of at least {bits} bits to the device"
        )

    def peak(self, dtype: str) -> float:
        """Dense peak of ``dtype`` in OPs/s."""
        try:
            return self.peak_ops[dtype]
        except KeyError:
            raise LLMViewerError(f"{self.name} has no {dtype} peak; it lists {', '.join(self.peak_ops)}") from None

    @property
    def vector_peak(self) -> float:
        """OPs/s for element-wise work (normalisation, activations, softmax): the FP32 peak,
        else the lowest listed peak when FP32 is not published."""
        return self.peak_ops.get("fp32", min(self.peak_ops.values()))

    def ridge_point(self, dtype: str = "fp16") -> float:
        """Arithmetic intensity (OPs/byte) at which the ``dtype`` roof meets the memory roof."""
        return ridge_point(self.peak(self.compute_dtype(_bits_of(dtype))), self.memory_bandwidth)


def ridge_point(peak: Any, bandwidth: Any) -> Any:
    """Arithmetic intensity (OPs/byte) where a compute roof of ``peak`` OPs/s meets a memory roof
    of ``bandwidth`` bytes/s. An operator exactly AT the ridge is memory-bound (see
    :func:`llmviewer.engine.roofline.combine`: compute-bound only when compute takes longer)."""
    return peak / bandwidth


def _bits_of(dtype: str) -> int:
    for bits, names in _UNITS_BY_BITS.items():
        if dtype in names:
            return bits
    if dtype == "tf32":
        return 32
    raise LLMViewerError(f"unknown data type {dtype!r}; valid: {', '.join(DTYPES)}")


SCHEMA_FILE = "hardware.schema.json"
"""The published JSON Schema (draft 2020-12) of device files, shipped in the package's data folder."""
MAX_NAME = 200
"""Longest device name or alias (characters)."""
SIXTEEN_BIT_CAPABLE = ("fp16", "bf16", "fp32")
"""Peaks that can run 16-bit matmuls: a device must list at least one."""


@lru_cache(maxsize=1)
def device_schema() -> dict[str, Any]:
    """The JSON Schema of one device entry (``$defs/device`` of :data:`SCHEMA_FILE`)."""
    from ..paths import _package_data, read_json

    full = read_json(_package_data() / SCHEMA_FILE, "JSON Schema")
    return {"$schema": full["$schema"], "$defs": full["$defs"], "$ref": "#/$defs/device"}


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The compiled validator of :func:`device_schema` (built once per process)."""
    import jsonschema

    return jsonschema.Draft202012Validator(device_schema())


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters (an integer too long to print: its digit count)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _schema_error(entry: dict[str, Any], origin: str) -> LLMViewerError | None:
    """The first violation of the device schema as one line naming the field, the value and
    what is valid; None when ``entry`` conforms."""
    import jsonschema

    peaks = entry.get("peak_ops")
    fields = [*entry.items(), *((f"peak_ops.{k}", v) for k, v in (peaks.items() if isinstance(peaks, dict) else ()))]
    for key, value in fields:
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
            return LLMViewerError(f"{origin}: {key} must be a number in [1, 1e21], got {_short(value)}")
    validator = _validator()
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(entry))
    except (RecursionError, OverflowError, ValueError):
        return LLMViewerError(f"{origin}: device entry is nested too deeply or holds numbers too large to check")
    if error is None:
        return None
    name = entry.get("name")
    where = f"{origin}: device {_short(name)}" if isinstance(name, str) and name else f"{origin}: device"
    if error.validator == "required":
        missing = [f for f in error.validator_value if f not in error.instance]
        return LLMViewerError(
            f"{where} is missing the required field {missing[0]!r} (see llmviewer/data/{SCHEMA_FILE})"
        )
    field = ".".join(str(p) for p in error.absolute_path) or "device"
    if error.validator == "propertyNames" or (error.validator == "enum" and "peak_ops" in field):
        unknown = sorted(set(entry.get("peak_ops", {})) - set(DTYPES))
        return LLMViewerError(f"{where}: unknown data types {unknown} in peak_ops; valid: {', '.join(DTYPES)}")
    valid = error.schema.get("description") if isinstance(error.schema, dict) else None
    if field == "device":
        return LLMViewerError(f"{where}: a device must be a JSON object with name, memory_bandwidth and peak_ops")
    return LLMViewerError(f"{where}: {field} must be {valid or error.message}, got {_short(error.instance)}")


def _positive(value: Any, what: str, origin: str, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:
        number = math.inf
    if not number > 0 or math.isinf(number):
        raise LLMViewerError(f"{origin}: {what} must be a positive finite number, got {_short(value)}")
    return number


def hardware_from_dict(entry: dict[str, Any], origin: str = "<hardware>") -> Hardware:
    """Build a :class:`Hardware` from one device entry, validated against the published schema
    (:data:`SCHEMA_FILE`) and then for what a schema cannot say: every number finite, and a
    peak that can run 16-bit matmuls (fp16, bf16 or fp32), so that a device listing only an FP8
    peak is refused rather than run 16-bit matmuls at its FP8 rate. Units: bytes, bytes/s, OPs/s."""
    if not isinstance(entry, dict):
        raise LLMViewerError(f"{origin}: a device must be a JSON object, got {type(entry).__name__}")
    error = _schema_error(entry, origin)
    if error is not None:
        raise error
    name = entry["name"]
    where = f"{origin}: device {name!r}"
    peaks = entry["peak_ops"]
    if not any(k in peaks for k in SIXTEEN_BIT_CAPABLE):
        raise LLMViewerError(
            f"{where}: peak_ops lists only {', '.join(peaks)}; 16-bit matmuls need an fp16, bf16 or fp32 peak "
            "(OPs/s): add one (a device without them would run 16-bit work at a narrower type's rate)"
        )
    return Hardware(
        name=name,
        memory_bandwidth=_positive(entry["memory_bandwidth"], "memory_bandwidth", where),
        peak_ops={k: _positive(v, f"peak_ops[{k!r}]", where) for k, v in peaks.items()},
        memory_bytes=_positive(entry.get("memory_bytes"), "memory_bytes", where, optional=True) or math.inf,
        onchip_buffer_bytes=_positive(entry.get("onchip_buffer_bytes"), "onchip_buffer_bytes", where, True),
        interconnect_bandwidth=_positive(entry.get("interconnect_bandwidth"), "interconnect_bandwidth", where, True),
        host_link_bandwidth=_positive(entry.get("host_link_bandwidth"), "host_link_bandwidth", where, True),
        vendor=entry.get("vendor", ""),
        kind=entry.get("kind", "gpu"),
        year=entry.get("year"),
        aliases=tuple(entry.get("aliases", ())),
        sources=dict(entry.get("sources", {})),
        notes=entry.get("notes", ""),
        tdp_watts=_positive(entry.get("tdp_watts"), "tdp_watts", where, True),
    )


def read_devices(path: str | Path) -> list[Hardware]:
    """Every device of a JSON file: one device object, a list of them, or ``{"devices": [...]}``.
    The file is read with a size cap (:func:`llmviewer.paths.read_json`) and every entry is
    validated (:func:`hardware_from_dict`)."""
    from ..paths import read_json

    path = Path(path)
    raw = read_json(path, "device file")
    entries = raw.get("devices", [raw]) if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not entries:
        raise LLMViewerError(f"{path}: expected a device object, a list of them or {{'devices': [...]}}")
    return [hardware_from_dict(e, origin=str(path)) for e in entries]


@lru_cache(maxsize=8)
def _library(path: Path, mtime: float) -> dict[str, Hardware]:
    devices = read_devices(path)
    by_name: dict[str, Hardware] = {}
    for d in devices:
        for key in (d.name, *d.aliases):
            if key.lower() in by_name:
                raise LLMViewerError(f"{path}: device name or alias {key!r} is used twice")
            by_name[key.lower()] = d
    return by_name


def hardware_library() -> dict[str, Hardware]:
    """Every shipped device by its canonical name, in file order."""
    path = data_dir() / HARDWARE_FILE
    seen: dict[str, Hardware] = {}
    for d in _library(path, path.stat().st_mtime).values():
        seen.setdefault(d.name, d)
    return seen


def load_hardware(hardware: str | Path | dict | Hardware, library_file: str | Path | None = None) -> Hardware:
    """Load a device by shipped name or alias (case-insensitive), from a JSON file holding one
    device (or a ``{"devices": [...]}`` library with exactly one), from a dict, or pass it through.
    With ``library_file``, names are looked up in that file (same schema) before the shipped library."""
    if isinstance(hardware, Hardware):
        return hardware
    if type(hardware) is str and library_file is None and not hardware.endswith(".json"):
        found = _shipped_by_name(hardware)  # the common case: a shipped name, two stats
        if found is not None:
            return found
    if isinstance(hardware, dict):
        return hardware_from_dict(hardware)
    if not isinstance(hardware, (str, Path)):
        raise LLMViewerError(f"hardware must be a name, a path or a dict, got {type(hardware).__name__}")
    if len(str(hardware)) > MAX_NAME and not str(hardware).endswith(".json"):
        raise LLMViewerError(f"hardware name of {len(str(hardware))} characters; a name has at most {MAX_NAME}")
    path = Path(hardware)
    if path.suffix == ".json" or _exists(path):
        devices = read_devices(path)
        if len(devices) != 1:
            raise LLMViewerError(f"{path}: holds {len(devices)} devices; name one of them instead")
        return devices[0]
    lib_path = data_dir() / HARDWARE_FILE
    lib = _library(lib_path, lib_path.stat().st_mtime)
    if library_file is not None:
        lib = dict(lib)
        extra = Path(library_file)
        read_devices(extra)  # one clear line for a missing, special or malformed file
        lib.update(_library(extra.resolve(), extra.stat().st_mtime))
    found = lib.get(str(hardware).lower())
    if found is None:
        names = {d.name for d in lib.values()}
        raise unknown_name_error("hardware", str(hardware), names, "llmviewer hardware")
    return found


def _shipped_by_name(name: str) -> Hardware | None:
    """The shipped device named ``name`` when nothing on disk has that name, else None (the caller
    then takes the general path, with its messages). The library is re-read when hardware.json's
    mtime changes."""
    if len(name) > MAX_NAME:
        return None
    try:
        os.lstat(name)
        return None  # a local file or folder of that name: read as a device file
    except (FileNotFoundError, NotADirectoryError):
        pass
    except (OSError, ValueError):
        return None
    path = os.path.join(str(data_dir()), HARDWARE_FILE)
    mtime = os.stat(path).st_mtime
    kept = _SHIPPED.get(path)
    if kept is None or kept[0] != mtime:
        kept = _SHIPPED[path] = (mtime, _library(Path(path), mtime))
    return kept[1].get(name.lower())


_SHIPPED: dict[str, tuple[float, dict[str, Hardware]]] = {}


def _exists(path: Path) -> bool:
    """Whether ``path`` names something on disk (a symlink loop counts: it is reported when read)."""
    try:
        return path.exists() or path.is_symlink()
    except OSError:
        return True
