"""Published measurements set beside the roofline, for the book's "checked against" sections.

Each function selects rows of the measurement table (``llmviewer/data/measurements``), runs the
engine on the same model, device and options, and returns one row per comparison. Times are in
milliseconds in the returned tables (column names say so), ratios are plain numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..engine.analysis import analyze
from ..errors import LLMViewerError
from .measurements import load_measurements

DEVICE_ALIASES = {"Jetson-Orin-unspecified": "Jetson-AGX-Orin-64GB"}
"""Devices a source names loosely, mapped to the library's device: TinyChat's README says
"Jetson Orin" without the module; the 64 GB AGX Orin is assumed (the largest, and the one NVIDIA
benchmarks LLMs on)."""


def _rows(source_id: str) -> pd.DataFrame:
    table = load_measurements()
    rows = table[table["source_id"] == source_id]
    if rows.empty:
        valid = ", ".join(sorted(table["source_id"].unique()))
        raise LLMViewerError(f"source_id {source_id!r} has no measurements; valid: {valid}")
    return rows


def quantized_decode_check(source_id: str = "awq_tinychat_readme", seqlen: int = 512, **options) -> pd.DataFrame:
    """Decode time per token measured in FP16 and with group-quantized 4-bit weights (AWQ's
    TinyChat), against the roofline of one decode step at batch 1 with ``seqlen`` cached tokens
    (``options`` go to :func:`llmviewer.analyze`, e.g. ``use_flashattention``). One row per model
    and device measured both ways: measured and roofline milliseconds, the two speed-ups
    (FP16 / W4) and the share of the roofline each implementation reaches (roofline / measured)."""
    rows = []
    for (model, device), group in _rows(source_id).groupby(["model_config", "device"], sort=False):
        fp16, w4 = group[group["w_bit"] == 16], group[group["w_bit"] == 4]
        if fp16.empty or w4.empty:
            continue
        fp16, w4 = fp16.iloc[0], w4.iloc[0]
        group_size = int(str(w4["precision"]).rsplit("g", 1)[1])
        device = DEVICE_ALIASES.get(device, device)
        est = {
            bits: analyze(model, device, 1, seqlen, w_bit=bits, w_group_size=size, **options).decode.time
            for bits, size in ((16, None), (4, group_size))
        }
        rows.append(
            {
                "model": model,
                "device": device,
                "measured FP16 ms": fp16["value"] * 1e3,
                "measured AWQ ms": w4["value"] * 1e3,
                "roofline FP16 ms": est[16] * 1e3,
                "roofline W4 ms": est[4] * 1e3,
                "measured speed-up": fp16["value"] / w4["value"],
                "roofline speed-up": est[16] / est[4],
                "FP16: share of roofline": est[16] / fp16["value"],
                "AWQ: share of roofline": est[4] / w4["value"],
            }
        )
    return pd.DataFrame(rows)


def prefill_check(
    source_id: str, model: str, input_len: int, devices: Sequence[str], bits: int = 16, **options
) -> pd.DataFrame:
    """Measured time to first token at batch 1 (metric ``ttft_s``) of ``model`` with ``input_len``
    prompt tokens on ``devices``, against the roofline of the prefill with weights, activations and
    KV cache in ``bits`` bits (``options`` go to :func:`llmviewer.analyze`). Indexed by device:
    roofline and measured milliseconds and their ratio (the share of the bound the engine reached)."""
    rows = _rows(source_id)
    rows = rows[
        (rows["metric"] == "ttft_s")
        & (rows["model_config"] == model)
        & (rows["input_len"] == input_len)
        & rows["device"].isin(list(devices))
    ]
    if rows.empty:
        raise LLMViewerError(
            f"{source_id!r} has no ttft_s rows for {model} at input_len {input_len} on {list(devices)}"
        )
    out = pd.DataFrame(
        {
            "device": rows["device"].to_numpy(),
            "roofline_ms": [
                analyze(
                    model, d, batch_size=1, seqlen=input_len, w_bit=bits, a_bit=bits, kv_bit=bits, **options
                ).prefill.time
                * 1e3
                for d in rows["device"]
            ],  # fmt: skip
            "measured_ms": rows["value"].to_numpy() * 1e3,
        }
    )
    out["share of peak"] = out["roofline_ms"] / out["measured_ms"]
    return out.set_index("device")
