"""Calibrated estimate: what real engines achieve of the roofline, fitted to measurements.

The pure roofline is a bound ("speed of light": fused causal attention, ideal element-wise
fusion, 16-bit all-reduces). The calibrated estimate derates it with an
:class:`~llmviewer.engine.efficiency.Efficiency` per engine class, a model of kernels:

* memory-bound kernels (the matrix-vector products of decode, attention over the cache) reach a
  fraction ``bandwidth`` of the memory bandwidth, a property of the device family (HBM data-centre
  GPUs from Hopper on, HBM GPUs before Hopper, GDDR cards, Jetson, AMD Instinct, Gaudi, Apple;
  :data:`MIN_FAMILY_ROWS`);
* compute-bound matrix products reach ``compute`` of peak (also per family: AMD's FP8 GEMMs reach
  a smaller share than NVIDIA's), with their rows padded to ``tile_rows`` (tile quantisation: a
  one-token pass is not derated below its matrix-vector speed), and fused attention kernels
  ``attention_compute``;
* matrix products that dequantise weight-only formats (AWQ, GPTQ, llama.cpp's Q4) reach
  ``dequant_bandwidth`` and ``dequant_compute`` times those fractions;
* each operator instance launched on its own adds ``kernel_overhead`` seconds (its launch); a decode
  step that the row's engine replays as one captured graph (a documented rule per engine and
  version, :data:`~llmviewer.calibration.measurements.GRAPH_RULES`) adds ``step_overhead`` seconds
  instead, whatever its number of kernels; each all-reduce adds ``collective_latency``;
* GeForce cards are a device family of their own: their recorded FP16 peak is the FP32-accumulate
  rate, half the rate of kernels that accumulate in FP16 (llama.cpp's cuBLAS path).

Serving engines fuse element-wise work; llama.cpp and PyTorch eager give it its own memory
passes (``fusion="none"``). TensorRT-LLM attends over the whole context of a sliding-window model
(:data:`~llmviewer.calibration.measurements.FULL_ATTENTION_ENGINES`). The engine reads the stored result
(:mod:`llmviewer.engine.efficiency`) and never imports this module.

Fitting: on the *training* sources only; the *held-out* sources (a fixed list, whole sources,
never random rows) judge it, and :func:`leave_one_source_out` leaves each source out in turn.
Each source weighs the same, and the loss on the log speed ratio is robust (soft L1), so that a
few rows dominated by effects the model leaves out (queueing under load) do not steer it.
Rerun with ``python -m llmviewer.calibration``; it rewrites ``data/calibration.json``, with the
leave-one-source-out table.

The fit is posed so that it has one optimum, and the optimum (not where the optimiser happened
to stop) is what is stored; a refit on any machine lands on the stored values within
:data:`REFIT_RTOL`:

* **Bounds** (:data:`BOUNDS`), physical limits: no engine streams memory faster than 95% of
  the datasheet bandwidth (our own H100 runs reach 90-92%, ``data/measurements/h100_kernels/
  bandwidth.csv``).
* **Fixed per class** (:data:`FIXED`) what its data cannot identify: llama.cpp's matrix-vector
  kernels have no tile; no llama.cpp or eager row uses tensor parallelism.
* **A weak prior** (:data:`PRIOR`, :data:`PRIOR_WEIGHT`) on every fitted parameter, in log
  space, toward a physically sensible value: a parameter a decade from its prior costs as much
  as one whole source predicted 10% off. It keeps a parameter finite and unique where a training
  set cannot pin it (its stored uncertainty then says so: of the order of 1, i.e. a factor e).
* **A Jacobian by grouped forward differences** (:func:`fit_class`), with tolerances of
  :data:`TOLERANCE`: the trust-region solver converges in a few dozen evaluations.

Each parameter is stored with its relative 1-sigma uncertainty (Gauss-Newton covariance at the
optimum, scaled by the residual variance).
"""

from __future__ import annotations

import json
import platform
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ..engine.efficiency import (
    COLLECTIVE_LATENCY,
    MAX_BANDWIDTH_FRACTION,
    Efficiency,
    efficiency_from_entry,
    load_calibration,  # noqa: F401 (re-exported: calibration.load_calibration)
    stored_calibration,
    stored_efficiencies,
)
from ..errors import LLMViewerError
from ..paths import data_dir
from .measurements import load_measurements, predict, prepare, speed_ratio, workloads

CALIBRATION_FILE = "calibration.json"
HELD_OUT_SOURCES = (
    "trtllm_perf_v0.17",
    "xiongjiedai_llamacpp_llama3",
    "intel_gaudi3_perf_1.18",
    "oracle_oci_mi300x_llama31_405b",
)
"""Sources never used for fitting: they judge the calibrated estimate. The two with the most rows
of their engine family (TensorRT-LLM throughput tables; llama.cpp's Llama-3 tables), and two of
the sources added in November 2026, each on a device family that a training source covers
(Gaudi 3: Intel's Gaudi 2 page; Oracle's MI300X: AMD's own vLLM tables), so that the fitted
family fractions are judged on a source they were not fitted on. TensorRT-LLM on Jetson Orin
stays in training: it is the only source on an edge board with stated lengths."""
PARAMETERS = (
    "bandwidth",
    "compute",
    "attention_compute",
    "tile_rows",
    "dequant_bandwidth",
    "dequant_compute",
    "kernel_overhead",
    "step_overhead",
    "collective_latency",
)
"""The fitted parameters of a class (each device family adds its own ``bandwidth`` and ``compute``)."""
FAMILY_PARAMETERS = ("bandwidth", "compute")
"""The parameters a device family sets apart (:func:`llmviewer.engine.efficiency.device_family`)."""
MIN_FAMILY_ROWS = 6
"""Usable training rows a device family needs in a class to get its own fractions; a family with
fewer, and the class's most frequent family, use the class's ``bandwidth`` and ``compute``."""
FUSING_CLASSES = ("serving",)
"""Engine classes whose kernels fuse element-wise work into matrix products (no cost of its own)."""
PRIOR = {
    "bandwidth": 0.7,
    "compute": 0.6,
    "attention_compute": 0.5,
    "tile_rows": 16.0,
    "dequant_bandwidth": 1.0,
    "dequant_compute": 1.0,
    "kernel_overhead": 5e-6,
    "step_overhead": 5e-5,
    "collective_latency": COLLECTIVE_LATENCY,
}
"""Physically sensible values, set before fitting: 70% of the memory bandwidth, 60% of peak for
matrix products and 50% for fused attention (FlashAttention-2 reaches 50-73% of an A100's peak,
its paper's own figure), tiles of 16 rows (the row dimension of a tensor-core MMA), dequantising
kernels as fast as the others (factors 1, their upper bound), 5 us per
kernel (a launch), 50 us per decode step replayed as a graph (a graph launch, a few us, plus the
host's scheduling and sampling of the step), the documented all-reduce latency. Every fit starts
here and is drawn weakly toward them (:data:`PRIOR_WEIGHT`); device families' fractions have the class's prior."""
PRIOR_WEIGHT = 0.01
"""Weight of the prior residual ``log10(value / prior)`` of each fitted parameter, in units of
one source (a source's row weights square-sum to 1): a decade off costs as much as a source
predicted 10% off."""
BOUNDS = {
    "bandwidth": (0.05, MAX_BANDWIDTH_FRACTION),
    "compute": (0.01, 1.0),
    "attention_compute": (0.01, 1.0),
    "tile_rows": (1.0, 256.0),
    "dequant_bandwidth": (0.2, 1.0),
    "dequant_compute": (0.1, 1.0),
    "kernel_overhead": (1e-7, 1e-3),
    "step_overhead": (1e-6, 1e-2),
    "collective_latency": (1e-6, 2e-4),
}
"""Physical limits of each fitted parameter (seconds for overheads and latencies, rows for tiles).
A dequantising kernel is at most as fast as the class's other kernels (factors up to 1): above
1 the fit would trade its factor against the class's bandwidth up to the cap
:data:`~llmviewer.engine.efficiency.MAX_BANDWIDTH_FRACTION`, where the cost is flat and the
optimum not unique (llama.cpp on Metal did)."""
FIXED = {
    "llama.cpp-cuda": {"tile_rows": 1.0, "collective_latency": COLLECTIVE_LATENCY},
    "llama.cpp-metal": {"tile_rows": 1.0, "collective_latency": COLLECTIVE_LATENCY},
    "pytorch-eager": {"collective_latency": COLLECTIVE_LATENCY},
}
"""Parameters that a class's data cannot identify, fixed: llama.cpp multiplies one row with its
matrix-vector kernels (no tile), and no llama.cpp or eager row uses tensor parallelism. Besides,
a class none of whose training rows replays decode steps as graphs
(:data:`~llmviewer.calibration.measurements.GRAPH_RULES`) has its ``step_overhead`` fixed at its
prior (it is never used on its own rows)."""
LOSS_SCALE = 0.1
"""Soft-L1 scale on the log speed ratio: rows more than about 10% off count linearly, not squared."""
TOLERANCE = 1e-10
"""``ftol``, ``xtol`` and ``gtol`` of the least-squares fit: it stops at the optimum, not near it."""
MAX_EVALUATIONS = 400
"""Cost evaluations allowed per fit (the Jacobian's are not counted); a fit that does not
converge is refused by :func:`fit` and flagged by :func:`leave_one_source_out`."""
REFIT_RTOL = 1e-3
"""Relative agreement of a refit with the stored parameters, on any machine."""
REFIT_ERRORS_ATOL = 0.1
"""Agreement of a refit's ``errors_percent`` with the stored ones, in percentage points."""
AT_BOUND_RTOL = 1e-6
"""A fitted parameter this close to a bound (relative) is reported at it (``at_bound``)."""
UNCERTAINTY_DIGITS = 2
"""Significant digits stored for each parameter's relative uncertainty (1 sigma)."""


def usable(work: pd.DataFrame) -> pd.Series:
    """Rows that the engine models and that fits and headline errors use: not skipped, not
    marked suspect by the dataset, not queueing-dominated."""
    return work["skip"].isna() & ~work["suspect"] & ~work["queueing"]


def is_held_out(work: pd.DataFrame) -> pd.Series:
    """Rows of the held-out sources."""
    return work["source_id"].isin(HELD_OUT_SOURCES)


def _efficiency(values: dict[str, Any], engine_class: str) -> Efficiency:
    """The :class:`Efficiency` of ``engine_class`` with fitted ``values`` (:data:`PARAMETERS`
    and ``families``: family -> ``{"bandwidth", "compute"}``; link as bandwidth)."""
    return efficiency_from_entry({**values, "fuse_elementwise": engine_class in FUSING_CLASSES})


def _soft_l1(r: np.ndarray) -> np.ndarray:
    """Residuals whose half sum of squares is the soft-L1 cost of ``r`` (scipy's ``soft_l1``
    at ``f_scale`` :data:`LOSS_SCALE`), written without cancellation for small ``r``."""
    return r * np.sqrt(2 / (1 + np.sqrt(1 + (r / LOSS_SCALE) ** 2)))


def _sig(x: float, digits: int = UNCERTAINTY_DIGITS) -> float:
    """``x`` rounded to ``digits`` significant digits (stored uncertainties)."""
    return float(f"{x:.{digits - 1}e}") if np.isfinite(x) and x else float(x)


def fit_class(
    work: pd.DataFrame, engine_class: str, start: dict[str, float] | None = None
) -> tuple[Efficiency, dict[str, Any]]:
    """Fit one engine class's efficiencies on ``work`` (its training rows). Returns the
    efficiency and a summary (parameters by name with ``families``, their relative 1-sigma
    uncertainties, rows, sources, cost, fixed parameters, parameters at a bound, whether the fit
    converged). ``start``: starting values of the class parameters (default :data:`PRIOR`); the
    optimum does not depend on them.

    The Jacobian is taken by forward differences, one evaluation per group of parameters that
    touch disjoint rows (every family's bandwidth at once, every family's compute at once), so a
    class with many device families costs no more than one with a single family."""
    from scipy.optimize import least_squares

    rows = work[usable(work)]
    weight = 1 / np.sqrt(rows.groupby("source_id")["source_id"].transform("size").to_numpy(float))
    counted = prepare(rows)
    fixed = dict(FIXED.get(engine_class, {}))
    if not rows["graphs"].any():  # nothing to identify a replayed step's cost with
        fixed["step_overhead"] = PRIOR["step_overhead"]
    counts = rows["family"].value_counts()
    reference = sorted(counts.index, key=lambda f: (-counts[f], f))[0] if len(counts) else ""
    families = sorted(f for f, n in counts.items() if n >= MIN_FAMILY_ROWS and f != reference)
    free = [k for k in PARAMETERS if k not in fixed] + [f"{k}:{f}" for f in families for k in FAMILY_PARAMETERS]
    prior = np.log([PRIOR[k.split(":")[0]] for k in free])
    bounds = np.log([BOUNDS[k.split(":")[0]] for k in free]).T
    row_family = rows["family"].to_numpy()
    # which data rows each free parameter moves (the class's bandwidth and compute: every row
    # whose family has none of its own)
    own = ~np.isin(row_family, families)
    touches = [
        own if k in FAMILY_PARAMETERS else row_family == k.split(":")[1] if ":" in k else np.ones(len(rows), bool)
        for k in free
    ]
    groups = [[i for i, k in enumerate(free) if k.split(":")[0] == p] for p in FAMILY_PARAMETERS]
    groups += [[i] for i, k in enumerate(free) if k.split(":")[0] not in FAMILY_PARAMETERS]
    groups = [g for g in groups if g]

    def values(x: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {k: fixed[k] if k in fixed else float(np.exp(x[free.index(k)])) for k in PARAMETERS}
        out["families"] = {
            f: {k: float(np.exp(x[free.index(f"{k}:{f}")])) for k in FAMILY_PARAMETERS} for f in families
        }
        return out

    def data_residuals(x: np.ndarray) -> np.ndarray:
        predicted = predict(rows, _efficiency(values(x), engine_class), counted)
        return _soft_l1(weight * np.log(speed_ratio(rows, predicted).to_numpy(float)))

    prior_scale = np.sqrt(PRIOR_WEIGHT) / np.log(10)

    def residuals(x: np.ndarray) -> np.ndarray:
        return np.concatenate([data_residuals(x), prior_scale * (x - prior)])

    def jacobian(x: np.ndarray) -> np.ndarray:
        base = data_residuals(x)
        jac = np.zeros((len(rows) + len(free), len(free)))
        for group in groups:
            step = np.zeros(len(free))
            for i in group:
                h = np.sqrt(np.finfo(float).eps) * max(1.0, abs(x[i]))
                # stay inside the bounds: step backwards at the upper one
                step[i] = -h if x[i] + h > bounds[1][i] else h
            moved = data_residuals(x + step)
            for i in group:
                jac[: len(rows), i] = np.where(touches[i], (moved - base) / step[i], 0.0)
                jac[len(rows) + i, i] = prior_scale
        return jac

    x0 = np.clip(np.log([(start or PRIOR).get(k, PRIOR[k.split(":")[0]]) for k in free]), bounds[0], bounds[1])
    result = least_squares(
        residuals,
        x0,
        jac=jacobian,
        bounds=(bounds[0], bounds[1]),
        method="trf",
        x_scale=1.0,
        ftol=TOLERANCE,
        xtol=TOLERANCE,
        gtol=TOLERANCE,
        max_nfev=MAX_EVALUATIONS,
    )
    fitted = values(result.x)
    # relative 1-sigma uncertainty: the Gauss-Newton covariance of the log parameters, scaled by
    # the residual variance of the data rows
    jac = jacobian(result.x)
    data = data_residuals(result.x)
    dof = max(len(rows) - len(free), 1)
    with np.errstate(all="ignore"):
        cov = np.linalg.pinv(jac.T @ jac) * float(np.sum(data**2)) / dof
    sigma = np.sqrt(np.clip(np.diag(cov), 0, None))
    uncertainty: dict[str, Any] = {k: _sig(sigma[free.index(k)]) for k in PARAMETERS if k in free}
    uncertainty["families"] = {f: {k: _sig(sigma[free.index(f"{k}:{f}")]) for k in FAMILY_PARAMETERS} for f in families}
    return _efficiency(fitted, engine_class), {
        "values": fitted,
        "uncertainty": uncertainty,
        "reference_family": reference,
        "rows": len(rows),
        "sources": sorted(rows["source_id"].unique()),
        "cost": 0.5 * float(np.sum(data**2)),
        "fixed": dict(fixed),
        # at a bound: in the solver's active set, or within AT_BOUND_RTOL of a bound (a trust-region
        # step can stop a hair inside a bound without marking it active)
        "at_bound": [
            k
            for i, (k, active) in enumerate(zip(free, result.active_mask, strict=True))
            if active or np.min(np.abs(result.x[i] - bounds[:, i])) < AT_BOUND_RTOL
        ],
        "converged": bool(result.status > 0),
        "evaluations": int(result.nfev),
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
        values = summary.pop("values")
        replaying = rows.loc[usable(rows), "graphs"]
        classes[cls] = {
            **values,
            "fuse_elementwise": eff.fuse_elementwise,
            # what an estimate of the class assumes when nothing says: what most of its training rows do
            "graphs": bool(replaying.mean() > 0.5),
            "relative_uncertainty": summary.pop("uncertainty"),
            "fitted_on": summary,
        }
    return {
        "description": __doc__.strip().splitlines()[0],
        "method": (
            f"scipy least_squares (trf), soft-L1 loss (f_scale {LOSS_SCALE}) on log(predicted speed / measured "
            "speed), rows weighted 1/sqrt(rows of their source). Kernels: matrix products reach 'compute' of peak "
            "with their rows padded to 'tile_rows', fused attention 'attention_compute', every memory-bound kernel "
            "(matrix-vector products of decode, attention over the cache) 'bandwidth' of the memory bandwidth; "
            "'kernel_overhead' seconds per operator instance launched on its own, 'step_overhead' per decode step "
            "replayed as one graph by engines that capture them (per row, measurements.GRAPH_RULES; 'graphs': "
            "what the class assumes when nothing says, the majority of its training rows), "
            "'collective_latency' per all-reduce. Device families "
            f"with at least {MIN_FAMILY_ROWS} training rows in a class (other than its most frequent, the reference) "
            "get their own bandwidth and compute ('families'). Parameters fitted as logarithms, from the prior, "
            f"within physical bounds ({_ranges(BOUNDS)}), with a weak prior residual sqrt({PRIOR_WEIGHT}) * "
            f"log10(value / prior) per fitted parameter ({_ranges(PRIOR)}) that pins what the data cannot. Fixed "
            f"where a class's data cannot identify it ({_fixed()}). ftol = xtol = gtol = {TOLERANCE:g}: a refit "
            f"agrees to rel {REFIT_RTOL:g} on any machine. relative_uncertainty: 1-sigma relative uncertainty of "
            "each fitted parameter from the Gauss-Newton covariance (J^T J)^-1 of the log parameters scaled by the "
            f"residual variance, {UNCERTAINTY_DIGITS} significant digits. Counted with fused causal attention; "
            "element-wise work fused for serving engines, in its own memory passes for llama.cpp and PyTorch eager; "
            "all-reduces at 16 bits or more. held_out_mape_percent: the class's calibrated mean absolute "
            "percentage error on the held-out sources"
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


def parameters(entry: dict[str, Any]) -> dict[str, Any]:
    """The fitted values of one class's stored entry: :data:`PARAMETERS`, ``families`` and ``graphs``."""
    values = {k: entry[k] for k in PARAMETERS}
    return {**values, "families": entry.get("families", {}), "graphs": entry.get("graphs", False)}


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
    """Mean absolute percentage error and worst case, pure and calibrated (also its median and
    90th percentile), per split (%), over the :func:`usable` rows."""
    rows = evaluated[usable(evaluated)]
    summary = rows.groupby("split").agg(
        rows=("pure_error", "size"),
        pure_mape=("pure_error", "mean"),
        pure_worst=("pure_error", "max"),
        calibrated_mape=("calibrated_error", "mean"),
        calibrated_median=("calibrated_error", "median"),
        calibrated_p90=("calibrated_error", lambda e: e.quantile(0.9)),
        calibrated_worst=("calibrated_error", "max"),
    )
    pct = [c for c in summary.columns if c != "rows"]
    summary[pct] = summary[pct] * 100
    return summary


def error_breakdown(evaluated: pd.DataFrame, split: str = "held-out") -> pd.DataFrame:
    """Calibrated absolute percentage error (%) of the usable rows of ``split``, by engine class,
    device family, precision and metric: rows, mean, median, 90th percentile and worst. Index:
    (grouping, group)."""
    rows = evaluated[usable(evaluated) & (evaluated["split"] == split)]
    parts = []
    for grouping, column in (
        ("engine class", "engine_class"),
        ("device family", "family"),
        ("precision", "precision"),
        ("metric", "metric"),
    ):
        errors = (100 * rows["calibrated_error"]).groupby(rows[column])
        part = pd.DataFrame(
            {
                "rows": errors.size(),
                "mean": errors.mean(),
                "median": errors.median(),
                "p90": errors.quantile(0.9),
                "worst": errors.max(),
            }
        )
        parts.append(part.set_axis(pd.MultiIndex.from_product([[grouping], part.index])))
    return pd.concat(parts).rename_axis(["grouping", "group"])


def parameter_table(stored: dict[str, Any] | None = None) -> pd.DataFrame:
    """The stored parameters of every class, one row per (class, parameter, device family):
    value, unit and relative 1-sigma uncertainty (%, NaN where fixed)."""
    stored = stored_calibration() if stored is None else stored
    units = {"tile_rows": "rows", "kernel_overhead": "s", "step_overhead": "s", "collective_latency": "s"}
    out = []
    for cls, entry in stored["classes"].items():
        sigma = entry.get("relative_uncertainty", {})
        reference = entry["fitted_on"].get("reference_family", "")
        fixed = entry["fitted_on"].get("fixed", {})
        for k in PARAMETERS:
            family = reference if k in FAMILY_PARAMETERS else ""
            s = np.nan if k in fixed else sigma.get(k, np.nan)
            out.append((cls, k, family, entry[k], units.get(k, "fraction"), 100 * s))
        for family, values in entry.get("families", {}).items():
            for k, v in values.items():
                out.append((cls, k, family, v, "fraction", 100 * sigma["families"][family][k]))
    columns = ["class", "parameter", "device family", "value", "unit", "uncertainty (%)"]
    return pd.DataFrame(out, columns=columns)


def stored_leave_one_source_out(stored: dict[str, Any] | None = None) -> pd.DataFrame:
    """The leave-one-source-out table stored by ``python -m llmviewer.calibration`` (see
    :func:`leave_one_source_out`), one row per source."""
    stored = stored_calibration() if stored is None else stored
    return pd.DataFrame.from_dict(stored["leave_one_source_out"], orient="index").rename_axis("source")


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
    effs = {cls: _efficiency(parameters(v), cls) for cls, v in fitted["classes"].items()}
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
    loso = leave_one_source_out().round(2).astype(object)
    fitted["leave_one_source_out"] = loso.where(loso.notna(), None).to_dict(orient="index")
    path = data_dir() / CALIBRATION_FILE
    path.write_text(json.dumps(fitted, indent=1) + "\n")
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
