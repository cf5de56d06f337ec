"""Calibrated estimate: what real engines achieve of the roofline, fitted to measurements.

The pure roofline is a bound ("speed of light"). The calibrated estimate derates it with an
:class:`~llmviewer.roofline.Efficiency` per engine class: the fraction of memory bandwidth
and of peak compute reached (compute falling for small passes), and a fixed overhead per
operator instance (kernel launches, synchronisation). Link efficiency follows bandwidth.

Fitting: on the *training* sources only; the *held-out* sources (a fixed list, whole sources,
never random rows) judge it. Each source weighs the same, and the loss on the log speed ratio
is robust (soft L1), so that a few rows dominated by effects the model leaves out (queueing
under load) do not steer it. Rerun with ``python -m llmviewer.calibration``; it rewrites
``data/calibration.json``.
"""

from __future__ import annotations

import json
import math
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..engine.efficiency import Efficiency
from ..errors import LLMViewerError
from ..paths import data_dir
from .measurements import load_measurements, predict, prepare, speed_ratio, workloads

CALIBRATION_FILE = "calibration.json"
HELD_OUT_SOURCES = ("trtllm_perf_v0.17", "xiongjiedai_llamacpp_llama3")
"""Sources never used for fitting: they judge the calibrated estimate. One per engine family
with the most rows (TensorRT-LLM throughput tables; llama.cpp's Llama-3 tables), so that each
family is judged on a source it was not fitted on; NIM stays in training as the only serving
source with batch-1 decode."""
PARAMETERS = ("bandwidth", "compute", "compute_half_tokens", "kernel_overhead")
# parameter <-> unconstrained value: efficiencies in (0, 1) by a logistic, the rest by exp
_TO_FREE = {
    "bandwidth": lambda v: math.log(v / (1 - v)),
    "compute": lambda v: math.log(v / (1 - v)),
    "compute_half_tokens": lambda v: math.log(v),
    "kernel_overhead": lambda v: math.log(v),
}
_FROM_FREE = {
    "bandwidth": lambda x: 1 / (1 + math.exp(-x)),
    "compute": lambda x: 1 / (1 + math.exp(-x)),
    "compute_half_tokens": math.exp,
    "kernel_overhead": math.exp,
}
FUSING_CLASSES = ("serving",)
"""Engine classes whose kernels fuse element-wise work into matrix products (no cost of its own)."""
_START = {"bandwidth": 0.7, "compute": 0.6, "compute_half_tokens": 64.0, "kernel_overhead": 5e-6}


def usable(work: pd.DataFrame) -> pd.Series:
    """Rows that the engine models and that fits and headline errors use: not skipped, not
    marked suspect by the dataset, not queueing-dominated."""
    return work["skip"].isna() & ~work["suspect"] & ~work["queueing"]


def is_held_out(work: pd.DataFrame) -> pd.Series:
    """Rows of the held-out sources."""
    return work["source_id"].isin(HELD_OUT_SOURCES)


def _efficiency(values: dict[str, float], engine_class: str) -> Efficiency:
    return Efficiency(link=values["bandwidth"], fuse_elementwise=engine_class in FUSING_CLASSES, **values)


def fit_class(work: pd.DataFrame, engine_class: str) -> tuple[Efficiency, dict[str, Any]]:
    """Fit one engine class's efficiencies on ``work`` (its training rows). Returns the
    efficiency and a summary (rows, sources, cost)."""
    from scipy.optimize import least_squares

    rows = work[usable(work)]
    weight = 1 / np.sqrt(rows.groupby("source_id")["source_id"].transform("size").to_numpy(float))
    counted = prepare(rows)

    def residuals(x: np.ndarray) -> np.ndarray:
        eff = _efficiency({k: _FROM_FREE[k](v) for k, v in zip(PARAMETERS, x, strict=True)}, engine_class)
        return weight * np.log(speed_ratio(rows, predict(rows, eff, counted)).to_numpy(float))

    x0 = np.array([_TO_FREE[k](_START[k]) for k in PARAMETERS])
    result = least_squares(residuals, x0, loss="soft_l1", f_scale=0.1, x_scale=1.0, max_nfev=60)
    values = {k: _FROM_FREE[k](v) for k, v in zip(PARAMETERS, result.x, strict=True)}
    return _efficiency(values, engine_class), {
        "rows": len(rows),
        "sources": sorted(rows["source_id"].unique()),
        "cost": result.cost,
    }


def fit(table: pd.DataFrame | None = None) -> dict[str, Any]:
    """Fit every engine class that has training rows; returns the content of
    ``data/calibration.json``."""
    work = workloads(load_measurements() if table is None else table)
    train = work[~is_held_out(work)]
    classes = {}
    for cls, rows in train.groupby("engine_class"):
        if usable(rows).sum() < 2 * len(PARAMETERS):
            continue  # too few rows to fit
        eff, summary = fit_class(rows, cls)
        classes[cls] = {
            **{k: getattr(eff, k) for k in PARAMETERS},
            "fuse_elementwise": eff.fuse_elementwise,
            "fitted_on": summary,
        }
    return {
        "description": __doc__.strip().splitlines()[0],
        "method": "scipy least_squares, soft-L1 loss (f_scale 0.1) on log(predicted speed / measured speed), "
        "rows weighted 1/sqrt(rows of their source); efficiencies through a logistic, the rest through exp",
        "held_out_sources": list(HELD_OUT_SOURCES),
        "fitted": date.today().isoformat(),
        "classes": classes,
    }


@lru_cache(maxsize=4)
def _stored() -> dict[str, Any]:
    path = data_dir() / CALIBRATION_FILE
    if not path.is_file():
        raise LLMViewerError(f"{path} not found: run `python -m llmviewer.calibration` to fit it")
    return json.loads(path.read_text())


def load_calibration(engine_class: str = "serving") -> Efficiency:
    """The stored efficiencies of ``engine_class`` ("serving", "llama.cpp-cuda", "llama.cpp-metal", ...)."""
    classes = _stored()["classes"]
    if engine_class not in classes:
        raise LLMViewerError(f"no calibration for engine class {engine_class!r}; fitted: {', '.join(sorted(classes))}")
    return _efficiency({k: classes[engine_class][k] for k in PARAMETERS}, engine_class)


def stored_efficiencies() -> dict[str, Efficiency]:
    """Every stored engine class's efficiencies."""
    return {cls: load_calibration(cls) for cls in _stored()["classes"]}


def evaluate(table: pd.DataFrame | None = None, efficiencies: dict[str, Efficiency] | None = None) -> pd.DataFrame:
    """Every measurement with its pure and calibrated prediction, speed ratios, absolute
    percentage errors (of the time, i.e. of 1/speed) and split."""
    work = workloads(load_measurements() if table is None else table)
    eff = stored_efficiencies() if efficiencies is None else efficiencies
    counted = prepare(work)
    pure, calibrated = predict(work, prepared=counted), predict(work, eff, counted)
    out = work.assign(
        split=np.where(is_held_out(work), "held-out", "train"),
        pure=pure,
        calibrated=calibrated,
        pure_ratio=speed_ratio(work, pure),
        calibrated_ratio=speed_ratio(work, calibrated),
    )
    for kind in ("pure", "calibrated"):
        out[f"{kind}_error"] = (1 / out[f"{kind}_ratio"] - 1).abs()  # |predicted time / measured time - 1|
    return out


def error_summary(evaluated: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute percentage error and worst case, pure and calibrated, per split (%), over
    the :func:`usable` rows."""
    rows = evaluated[usable(evaluated)]
    summary = rows.groupby("split").agg(
        rows=("pure_error", "size"),
        pure_mape=("pure_error", "mean"),
        pure_worst=("pure_error", "max"),
        calibrated_mape=("calibrated_error", "mean"),
        calibrated_median=("calibrated_error", "median"),
        calibrated_worst=("calibrated_error", "max"),
    )
    pct = [c for c in summary.columns if c != "rows"]
    summary[pct] = summary[pct] * 100
    return summary


def main() -> None:
    """Refit and rewrite data/calibration.json."""
    fitted = fit()
    effs = {cls: _efficiency({k: v[k] for k in PARAMETERS}, cls) for cls, v in fitted["classes"].items()}
    summary = error_summary(evaluate(efficiencies=effs))
    fitted["errors_percent"] = summary.round(2).to_dict(orient="index")
    path = data_dir() / CALIBRATION_FILE
    path.write_text(json.dumps(fitted, indent=1) + "\n")
    _stored.cache_clear()
    print(f"wrote {path}")
    print(summary.round(1).to_string())


if __name__ == "__main__":
    main()


def leave_one_source_out(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """For every source: refit on all the others, then judge on it. A stricter check than the
    fixed split. Per source: usable rows, pure and calibrated mean absolute error (%)."""
    work = workloads(load_measurements() if table is None else table)
    rows = []
    for source in sorted(work.loc[usable(work), "source_id"].unique()):
        train, test = work[work["source_id"] != source], work[work["source_id"] == source]
        effs = {}
        for cls, grp in train.groupby("engine_class"):
            if usable(grp).sum() >= 2 * len(PARAMETERS):
                effs[cls] = fit_class(grp, cls)[0]
        judged = test[usable(test)]
        counted = prepare(judged)
        pure = (1 / speed_ratio(judged, predict(judged, prepared=counted)) - 1).abs()
        cal = (1 / speed_ratio(judged, predict(judged, effs, counted)) - 1).abs()
        covered = judged["engine_class"].isin(effs)
        rows.append(
            {
                "source": source,
                "rows": len(judged),
                "pure_mape": 100 * pure.mean(),
                "calibrated_mape": 100 * cal[covered].mean() if covered.any() else np.nan,
                "calibrated_median": 100 * cal[covered].median() if covered.any() else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("source")
