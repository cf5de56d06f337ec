"""Calibrated estimate: what real engines achieve of the roofline, fitted to measurements.

The pure roofline is a bound ("speed of light": fused causal attention, ideal element-wise
fusion, 16-bit all-reduces). The calibrated estimate derates it with an
:class:`~llmviewer.roofline.Efficiency` per engine class: the fraction of memory bandwidth
and of peak compute reached (compute falling for small matrix products, by their own rows:
``lm_head`` on its logits rows), and a fixed overhead per operator instance (kernel launches,
synchronisation). Link efficiency follows bandwidth. Each class is counted as its engines run:
serving engines fuse element-wise work, llama.cpp and PyTorch eager give it its own memory
passes (``fusion="none"``). Every all-reduce adds the documented, not fitted,
:data:`~llmviewer.engine.efficiency.COLLECTIVE_LATENCY`.

Fitting: on the *training* sources only; the *held-out* sources (a fixed list, whole sources,
never random rows) judge it. Each source weighs the same, and the loss on the log speed ratio
is robust (soft L1), so that a few rows dominated by effects the model leaves out (queueing
under load) do not steer it. Rerun with ``python -m llmviewer.calibration``; it rewrites
``data/calibration.json``.

The fit is posed so that it has one optimum, and the optimum (not where the optimiser happened
to stop) is what is stored; a refit on any machine lands on the stored values within
:data:`REFIT_RTOL`. Without these measures some parameters wandered with floating-point
details (numpy's SIMD paths, the BLAS kernels of the CPU), because the data cannot identify them:

* **Bounds** (:data:`BOUNDS`), physical limits: no engine streams memory faster than 95% of
  the datasheet bandwidth (our own H100 runs reach 90-92%, ``data/measurements/h100_kernels/
  bandwidth.csv``). The llama.cpp CUDA data would rather trade a bandwidth fraction above 1
  against a larger overhead per kernel; the bound stops it at 0.95 instead of at the logistic's
  limit (0.99999995 before).
* **Fixed per class** (:data:`FIXED`): ``compute_half_tokens`` for the llama.cpp classes, at 0
  (no small-pass derating). Their data (llama-bench) has single-token decode, at the memory
  roof, and prompts of about 500 tokens, nothing between, so it sees only
  ``compute * T / (T + compute_half_tokens)`` at T of about 500: any value below about 5 tokens
  fits exactly as well (the cost is flat to 1e-16), and the fit drifted there (3.4 or 4.2 on
  CUDA, 3e-7 on Metal). ``compute`` is then the fraction reached by prompt-sized passes.
* **A weak prior** (:data:`PRIOR`, :data:`PRIOR_WEIGHT`) on every fitted parameter, in log
  space, toward a physically sensible value: a parameter a decade from its prior costs as much
  as one whole source predicted 10% off. It moves the well-identified parameters by 0.1-6% (the
  most: the overhead per kernel), and keeps a parameter finite and unique where a training set
  cannot pin it (leave one source out: without the TensorRT-LLM v0.9 tables the serving overhead
  per kernel fell toward 0, and the fit crawled without converging).

Parameters are fitted as logarithms (positive, comparable steps), within the bounds, from the
prior, with tolerances of 1e-12 on cost, step and gradient (:data:`TOLERANCE`).
"""

from __future__ import annotations

import json
import platform
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..engine.efficiency import COLLECTIVE_LATENCY, Efficiency
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
FUSING_CLASSES = ("serving",)
"""Engine classes whose kernels fuse element-wise work into matrix products (no cost of its own)."""
PRIOR = {"bandwidth": 0.7, "compute": 0.6, "compute_half_tokens": 64.0, "kernel_overhead": 5e-6}
"""Physically sensible values, set before fitting: 70% of the memory bandwidth and 60% of peak
compute, compute halved at 64-token passes (a tensor-core tile), 5 us per kernel (a launch).
Every fit starts here and is drawn weakly toward them (:data:`PRIOR_WEIGHT`)."""
PRIOR_WEIGHT = 0.01
"""Weight of the prior residual ``log10(value / prior)`` of each fitted parameter, in units of
one source (a source's row weights square-sum to 1): a decade off costs as much as a source
predicted 10% off."""
BOUNDS = {
    "bandwidth": (0.05, 0.95),
    "compute": (0.01, 1.0),
    "compute_half_tokens": (1.0, 4096.0),
    "kernel_overhead": (1e-7, 1e-3),
}
"""Physical limits of each fitted parameter (seconds for the overhead, tokens for the half)."""
FIXED = {
    "llama.cpp-cuda": {"compute_half_tokens": 0.0},
    "llama.cpp-metal": {"compute_half_tokens": 0.0},
}
"""Parameters that a class's data cannot identify, fixed (see the module docstring)."""
LOSS_SCALE = 0.1
"""Soft-L1 scale on the log speed ratio: rows more than about 10% off count linearly, not squared."""
TOLERANCE = 1e-12
"""``ftol``, ``xtol`` and ``gtol`` of the least-squares fit: it stops at the optimum, not near it."""
MAX_EVALUATIONS = 200
"""Cost evaluations allowed per fit; the fits converge in about 10-20 (a fit that does not is
refused by :func:`fit` and flagged by :func:`leave_one_source_out`)."""
REFIT_RTOL = 1e-4
"""Relative agreement of a refit with the stored parameters, on any machine (measured: within
1e-6 under other numpy SIMD paths, other OpenBLAS kernels and a perturbed start)."""
REFIT_ERRORS_ATOL = 0.1
"""Agreement of a refit's ``errors_percent`` with the stored ones, in percentage points."""


def usable(work: pd.DataFrame) -> pd.Series:
    """Rows that the engine models and that fits and headline errors use: not skipped, not
    marked suspect by the dataset, not queueing-dominated."""
    return work["skip"].isna() & ~work["suspect"] & ~work["queueing"]


def is_held_out(work: pd.DataFrame) -> pd.Series:
    """Rows of the held-out sources."""
    return work["source_id"].isin(HELD_OUT_SOURCES)


def _efficiency(values: dict[str, float], engine_class: str) -> Efficiency:
    """The :class:`Efficiency` of ``engine_class`` with fitted ``values`` (link as bandwidth, the
    documented per-all-reduce latency :data:`~llmviewer.engine.efficiency.COLLECTIVE_LATENCY`)."""
    return Efficiency(
        link=values["bandwidth"],
        fuse_elementwise=engine_class in FUSING_CLASSES,
        collective_latency=COLLECTIVE_LATENCY,
        **values,
    )


def _soft_l1(r: np.ndarray) -> np.ndarray:
    """Residuals whose half sum of squares is the soft-L1 cost of ``r`` (scipy's ``soft_l1``
    at ``f_scale`` :data:`LOSS_SCALE`), written without cancellation for small ``r``."""
    return r * np.sqrt(2 / (1 + np.sqrt(1 + (r / LOSS_SCALE) ** 2)))


def fit_class(
    work: pd.DataFrame, engine_class: str, start: dict[str, float] | None = None
) -> tuple[Efficiency, dict[str, Any]]:
    """Fit one engine class's efficiencies on ``work`` (its training rows). Returns the
    efficiency and a summary (rows, sources, cost, fixed parameters, parameters at a bound,
    whether the fit converged). ``start``: starting values of the fitted parameters (default
    :data:`PRIOR`); the optimum does not depend on them."""
    from scipy.optimize import least_squares

    rows = work[usable(work)]
    weight = 1 / np.sqrt(rows.groupby("source_id")["source_id"].transform("size").to_numpy(float))
    counted = prepare(rows)
    fixed = FIXED.get(engine_class, {})
    free = [k for k in PARAMETERS if k not in fixed]
    prior = np.log([PRIOR[k] for k in free])

    def values(x: np.ndarray) -> dict[str, float]:
        return {k: fixed[k] if k in fixed else float(np.exp(x[free.index(k)])) for k in PARAMETERS}

    def data_residuals(x: np.ndarray) -> np.ndarray:
        predicted = predict(rows, _efficiency(values(x), engine_class), counted)
        return _soft_l1(weight * np.log(speed_ratio(rows, predicted).to_numpy(float)))

    def residuals(x: np.ndarray) -> np.ndarray:
        return np.concatenate([data_residuals(x), np.sqrt(PRIOR_WEIGHT) * (x - prior) / np.log(10)])

    x0 = np.log([(start or PRIOR)[k] for k in free])
    bounds = np.log([BOUNDS[k] for k in free]).T
    result = least_squares(
        residuals,
        x0,
        bounds=(bounds[0], bounds[1]),
        method="trf",
        ftol=TOLERANCE,
        xtol=TOLERANCE,
        gtol=TOLERANCE,
        max_nfev=MAX_EVALUATIONS,
    )
    return _efficiency(values(result.x), engine_class), {
        "rows": len(rows),
        "sources": sorted(rows["source_id"].unique()),
        "cost": 0.5 * float(np.sum(data_residuals(result.x) ** 2)),
        "fixed": dict(fixed),
        "at_bound": [k for k, active in zip(free, result.active_mask, strict=True) if active],
        "converged": bool(result.status > 0),
    }


def fit(table: pd.DataFrame | None = None) -> dict[str, Any]:
    """Fit every engine class that has training rows; returns the content of
    ``data/calibration.json``. Raises if a fit does not converge."""
    work = workloads(load_measurements() if table is None else table)
    train = work[~is_held_out(work)]
    classes = {}
    for cls, rows in train.groupby("engine_class"):
        if usable(rows).sum() < 2 * len(PARAMETERS):
            continue  # too few rows to fit
        eff, summary = fit_class(rows, cls)
        if not summary["converged"]:
            raise LLMViewerError(f"the fit of {cls!r} did not converge in {MAX_EVALUATIONS} evaluations")
        classes[cls] = {
            **{k: getattr(eff, k) for k in PARAMETERS},
            "fuse_elementwise": eff.fuse_elementwise,
            "collective_latency": eff.collective_latency,
            "fitted_on": summary,
        }
    return {
        "description": __doc__.strip().splitlines()[0],
        "method": (
            f"scipy least_squares (trf), soft-L1 loss (f_scale {LOSS_SCALE}) on log(predicted speed / measured "
            "speed), rows weighted 1/sqrt(rows of their source). Parameters fitted as logarithms, from the prior, "
            f"within physical bounds ({_ranges(BOUNDS)}; no engine streams memory above 0.95 of the datasheet "
            f"bandwidth), with a weak prior residual sqrt({PRIOR_WEIGHT}) * log10(value / prior) per fitted "
            f"parameter ({_ranges(PRIOR)}) that pins what the data cannot. Fixed where a class's data cannot "
            f"identify it ({_fixed()}): llama-bench has only 1-token passes (memory-bound) and ~500-token prompts, "
            "so only compute * T / (T + compute_half_tokens) at T ~ 500 is seen. ftol = xtol = gtol = "
            f"{TOLERANCE:g}, so that the optimum is stored: a refit agrees to rel {REFIT_RTOL:g} on any machine. "
            "Counted with fused causal attention; element-wise work fused for serving engines, in its own memory "
            "passes for llama.cpp and PyTorch eager; all-reduces at 16 bits or more, each adding a fixed "
            f"{COLLECTIVE_LATENCY * 1e6:g} us (collective_latency, not fitted; see llmviewer.engine.efficiency). "
            "held_out_mape_percent: the class's calibrated mean absolute percentage error on the held-out sources"
        ),
        "held_out_sources": list(HELD_OUT_SOURCES),
        "fitted": date.today().isoformat(),
        "classes": classes,
    }


def _ranges(values: dict[str, Any]) -> str:
    """``{"a": (1, 2), "b": 3}`` -> ``"a 1 to 2, b 3"``, for the method text."""
    return ", ".join(f"{k} {' to '.join(f'{v:g}' for v in np.atleast_1d(r))}" for k, r in values.items())


def _fixed() -> str:
    """The fixed parameters, for the method text."""
    return "; ".join(f"{cls}: " + ", ".join(f"{k} = {v:g}" for k, v in fixed.items()) for cls, fixed in FIXED.items())


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
    pure, calibrated = predict(work, prepared=prepare(work, bound=True)), predict(work, eff, counted)
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


def held_out_by_class(evaluated: pd.DataFrame) -> dict[str, float | None]:
    """Calibrated mean absolute percentage error (%, 2 decimals) of each engine class on its
    usable held-out rows; None for a class without any (the CLI reports it with the class)."""
    rows = evaluated[usable(evaluated) & (evaluated["split"] == "held-out")]
    out: dict[str, float | None] = {}
    for cls in evaluated["engine_class"].unique():
        errors = rows.loc[rows["engine_class"] == cls, "calibrated_error"]
        out[cls] = round(100 * float(errors.mean()), 2) if len(errors) else None
    return out


def main() -> None:
    """Refit and rewrite data/calibration.json, with the versions it was fitted with."""
    import scipy

    fitted = fit()
    effs = {cls: _efficiency({k: v[k] for k in PARAMETERS}, cls) for cls, v in fitted["classes"].items()}
    evaluated = evaluate(efficiencies=effs)
    summary = error_summary(evaluated)
    classes = fitted.pop("classes")
    fitted["versions"] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
    }
    for cls, mape in held_out_by_class(evaluated).items():
        if cls in classes:
            classes[cls]["held_out_mape_percent"] = mape
    fitted["classes"] = classes
    fitted["errors_percent"] = summary.round(2).to_dict(orient="index")
    path = data_dir() / CALIBRATION_FILE
    path.write_text(json.dumps(fitted, indent=1) + "\n")
    _stored.cache_clear()
    print(f"wrote {path}")
    print(summary.round(1).to_string())


def leave_one_source_out(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """For every source: refit on all the others, then judge on it. A stricter check than the
    fixed split. Per source: usable rows, pure and calibrated mean absolute error (%) and whether
    every refit it used converged (``fit_converged``). A refit that stops at its evaluation limit
    has no reproducible optimum (its last digits would depend on the machine), so its calibrated
    errors are left undefined (NaN) rather than reported."""
    work = workloads(load_measurements() if table is None else table)
    rows, fits = [], {}
    for source in sorted(work.loc[usable(work), "source_id"].unique()):
        train, test = work[work["source_id"] != source], work[work["source_id"] == source]
        effs, converged = {}, True
        for cls, grp in train.groupby("engine_class"):
            if usable(grp).sum() >= 2 * len(PARAMETERS):
                key = (cls, tuple(grp.index))  # the same rows as for another source: the same fit
                if key not in fits:
                    fits[key] = fit_class(grp, cls)
                effs[cls] = fits[key][0]
                converged = converged and fits[key][1]["converged"]
        judged = test[usable(test)]
        counted = prepare(judged)
        pure = (1 / speed_ratio(judged, predict(judged, prepared=prepare(judged, bound=True))) - 1).abs()
        cal = (1 / speed_ratio(judged, predict(judged, effs, counted)) - 1).abs()
        covered = judged["engine_class"].isin(effs) & converged
        rows.append(
            {
                "source": source,
                "rows": len(judged),
                "pure_mape": 100 * pure.mean(),
                "calibrated_mape": 100 * cal[covered].mean() if covered.any() else np.nan,
                "calibrated_median": 100 * cal[covered].median() if covered.any() else np.nan,
                "fit_converged": converged,
            }
        )
    return pd.DataFrame(rows).set_index("source")


if __name__ == "__main__":
    main()
