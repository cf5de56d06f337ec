"""The hardware library: coverage, sources, units and peak selection."""

from __future__ import annotations

import json
import re

import pytest

import llmviewer
from llmviewer.paths import data_dir
from llmviewer.specs.hardware import DTYPES, HARDWARE_FILE

LIB = llmviewer.hardware_library()
RAW = json.loads((data_dir() / HARDWARE_FILE).read_text())["devices"]
URL = re.compile(r"^https?://\S+$")


def test_library_covers_the_device_families():
    assert len(LIB) >= 25
    for needed in ("V100", "A100-40GB", "A100", "H100", "H100-PCIe", "H200", "B200", "L4", "L40S", "A10", "A40",
                   "A6000", "RTX-3090", "RTX-4090", "RTX-5090", "MI250X", "MI300X", "MI325X", "Gaudi2", "Gaudi3",
                   "v5e", "v5p", "v6e", "M2-Ultra", "AGX-Orin", "Xeon-8480+"):  # fmt: skip
        llmviewer.load_hardware(needed)
    kinds = {d.kind for d in LIB.values()}
    assert {"gpu", "tpu", "cpu"} <= kinds


@pytest.mark.parametrize("entry", RAW, ids=[d["name"] for d in RAW])
def test_every_number_has_a_source(entry):
    sources = entry["sources"]
    assert URL.match(sources["memory"]) and URL.match(sources["peak_ops"])
    for field, key in (("onchip_buffer_bytes", "onchip_buffer"), ("interconnect_bandwidth", "interconnect")):
        if entry.get(field) is not None:
            assert URL.match(sources[key]), f"{entry['name']}: {field} has no source URL"
    assert set(entry["peak_ops"]) <= set(DTYPES)
    assert any(k in entry["peak_ops"] for k in ("fp16", "bf16", "fp32"))


@pytest.mark.parametrize("device", LIB.values(), ids=list(LIB))
def test_units_are_plausible(device):
    """Bytes, bytes/s and OPs/s in SI units: catches GB/GiB, TB/s and TFLOPS slips."""
    assert 1e9 <= device.memory_bytes <= 1e13
    assert 1e10 <= device.memory_bandwidth <= 2e13  # a board (Raspberry Pi 5: 17 GB/s) up to a B200
    for dtype, peak in device.peak_ops.items():
        assert 1e11 <= peak <= 2e16, dtype  # a four-core Arm CPU (154 GFLOPS) up to an accelerator
    low = device.peak_ops.get("int8") or device.peak_ops.get("fp8")
    if low and "fp16" in device.peak_ops:
        assert low >= device.peak_ops["fp16"]


def test_datasheet_traps():
    """Values LLM-Viewer and marketing pages get wrong: dense (not 2:4-sparse) peaks, real bandwidths."""
    h100 = llmviewer.load_hardware("H100-SXM5-80GB")
    assert h100.memory_bandwidth == 3.35e12
    assert h100.peak_ops["bf16"] == pytest.approx(989.4e12)
    assert llmviewer.load_hardware("A100-SXM4-80GB").memory_bandwidth == 2.039e12


def test_peak_selection_falls_back_to_wider_units():
    h100 = llmviewer.load_hardware("H100")
    assert h100.compute_dtype(4) == "int8"  # Hopper has no 4-bit units
    assert h100.compute_dtype(8) == "int8"
    assert llmviewer.load_hardware("Gaudi2").compute_dtype(16) == "bf16"
    assert llmviewer.load_hardware("EPYC-9654").compute_dtype(16) == "fp32"


def test_custom_device_from_file(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "my-npu", "memory_bandwidth": 5e11, "peak_ops": {"int8": 1e14, "fp16": 5e13}}))
    hw = llmviewer.load_hardware(path)
    assert hw.name == "my-npu" and hw.ridge_point("fp16") == 100
    lib = tmp_path / "lib.json"
    lib.write_text(json.dumps({"devices": [{"name": "npu-a", "memory_bandwidth": 1e12, "peak_ops": {"fp16": 1e14}}]}))
    assert llmviewer.load_hardware("NPU-A", library_file=lib).memory_bandwidth == 1e12
