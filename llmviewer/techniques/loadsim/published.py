"""Published latency-under-load curves (``data/measurements/serving_curves.csv``) beside the simulator's."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from llmviewer.errors import LLMViewerError

from .arrivals import Workload
from .planning import latency_vs_rate
from .scheduler import SchedulerConfig
from .simulate import Deployment

CURVES = Path(__file__).resolve().parents[2] / "data" / "measurements" / "serving_curves.csv"


def serving_curves() -> Any:
    """The published curves, one row per load point (see ``serving_curves.md``); a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(CURVES)


def compare_serving_curve(
    curve_id: str,
    calibrations: dict[str, Any] | None = None,
    scheduler: SchedulerConfig | None = None,
    requests: int | None = None,
    seed: int = 0,
) -> Any:
    """Simulate every finite request-rate point of the published curve ``curve_id`` with the curve's model,
    device, tensor-parallel size and input/output lengths (fixed; Poisson arrivals; ``requests`` per point,
    default the source's), once per entry of ``calibrations`` (label -> None for the pure roofline or an
    engine class; default ``{"pure": None, "calibrated": "serving"}``). Returns a pandas DataFrame, one row per
    rate: ``qps``, ``measured_ttft_ms``, ``measured_tpot_ms`` (the source's mean TTFT and mean inter-token
    latency), ``measured_rps`` and, for each label, ``<label>_ttft_ms``, ``<label>_tpot_ms`` (simulated means),
    ``<label>_rps`` and the relative errors ``<label>_ttft_err``, ``<label>_tpot_err`` (simulated / measured
    - 1)."""
    import numpy as np
    import pandas as pd

    calibrations = {"pure": None, "calibrated": "serving"} if calibrations is None else calibrations
    curves = serving_curves()
    rows = curves[(curves["curve_id"] == curve_id) & (curves["load_kind"] == "request_rate")]
    rows = rows[np.isfinite(rows["load"].astype(float))]
    if rows.empty:
        raise LLMViewerError(f"no finite request-rate points for serving curve {curve_id!r}")
    first = rows.iloc[0]
    n = int(requests if requests is not None else first["requests"])
    prompt, output = int(first["input_len"]), int(first["output_len"])
    workload = Workload(requests=n, rate=1.0, prompt=prompt, output=output, seed=seed)
    rates = rows["load"].astype(float).to_numpy()
    out = pd.DataFrame(
        {
            "qps": rates,
            "measured_ttft_ms": rows["mean_ttft_ms"].to_numpy(dtype=float),
            "measured_tpot_ms": rows["mean_itl_ms"].to_numpy(dtype=float),
            "measured_rps": rows["request_throughput"].to_numpy(dtype=float),
        }
    )
    deployment = Deployment(tensor_parallel=int(first["tensor_parallel"]))
    for label, calibration in calibrations.items():
        sim = latency_vs_rate(first["model_config"], first["device"], workload, rates,
                              {label: scheduler or SchedulerConfig()}, deployment, calibration)  # fmt: skip
        out[f"{label}_ttft_ms"] = sim["ttft_mean"].to_numpy() * 1e3
        out[f"{label}_tpot_ms"] = sim["tpot_mean"].to_numpy() * 1e3
        out[f"{label}_rps"] = sim["request_throughput"].to_numpy()
        for m in ("ttft", "tpot"):
            out[f"{label}_{m}_err"] = out[f"{label}_{m}_ms"] / out[f"measured_{m}_ms"] - 1
    if not math.isfinite(float(out["measured_ttft_ms"].sum())):
        raise LLMViewerError(f"serving curve {curve_id!r} lacks mean TTFT")
    return out
