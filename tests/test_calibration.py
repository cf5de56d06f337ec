"""Measurements, the roofline as a bound, and the calibrated estimate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from llmviewer import calibration
from llmviewer.calibration import measurements
from llmviewer.paths import data_dir

pytest.importorskip("scipy")


@pytest.fixture(scope="module")
def evaluated():
    return calibration.evaluate()


def test_dataset_covers_what_the_issue_asks():
    table = measurements.load_measurements()
    assert len(table) >= 40 and table["source_id"].nunique() >= 4
    assert table["device"].nunique() >= 4 and table["model_config"].nunique() >= 3
    assert {16, 8, 4} <= set(table["w_bit"].dropna().astype(int))
    assert table["source_url"].str.startswith("http").all()


def test_pure_roofline_is_a_bound_except_documented_rows(evaluated):
    """The roofline is never slower than a measurement, or the row is listed with the reason."""
    modelled = evaluated[evaluated["skip"].isna()]
    faster_than_bound = set(modelled.loc[modelled["pure_ratio"] < 1, "id"])
    documented = pd.read_csv(data_dir() / "measurements" / "bound_exceptions.csv")
    assert faster_than_bound == set(documented["id"])
    assert documented["reason"].str.len().min() > 40


def test_split_is_by_whole_sources(evaluated):
    held = evaluated[evaluated["split"] == "held-out"]["source_id"].unique()
    train = evaluated[evaluated["split"] == "train"]["source_id"].unique()
    assert set(held) == set(calibration.HELD_OUT_SOURCES) and not set(held) & set(train)


def test_refit_reproduces_the_stored_calibration():
    stored = json.loads((data_dir() / calibration.CALIBRATION_FILE).read_text())
    refit = calibration.fit()
    assert set(refit["classes"]) == set(stored["classes"])
    for cls, params in refit["classes"].items():
        for key in calibration.PARAMETERS:
            assert params[key] == pytest.approx(stored["classes"][cls][key], rel=1e-3, abs=1e-9), (cls, key)


def test_stored_errors_are_what_the_calibration_gives(evaluated):
    stored = json.loads((data_dir() / calibration.CALIBRATION_FILE).read_text())["errors_percent"]
    summary = calibration.error_summary(evaluated)
    for split, row in stored.items():
        for key, value in row.items():
            assert summary.loc[split, key] == pytest.approx(value, abs=0.01), (split, key)


def test_calibration_beats_the_pure_roofline_on_held_out_sources(evaluated):
    held = evaluated[calibration.usable(evaluated) & (evaluated["split"] == "held-out")]
    assert held["calibrated_error"].mean() < held["pure_error"].mean()
    for source, rows in held.groupby("source_id"):
        assert rows["calibrated_error"].median() < rows["pure_error"].median(), source


def test_group_quantized_formats_carry_their_scales():
    table = measurements.load_measurements()
    work = measurements.workloads(table[table["precision"] == "Q4_0"].head(1))
    row = work.iloc[0]
    bits_per_weight = row["m_w_bit"] + row["m_group_bits"] / row["m_group_size"]
    assert bits_per_weight == 4.5


def test_unmodelled_rows_say_why(evaluated):
    skipped = evaluated[evaluated["skip"].notna()]
    assert skipped["pure"].isna().all()
    assert set(skipped["skip"]) <= {
        "model not shipped",
        "input/output lengths not stated (variable-length dataset)",
        "precision not stated",
        "device not in the hardware library",
        "tensor/data-parallel split not stated",
        "concurrency not stated (requests at a given rate)",
        "model does not fit in the devices' memory",
    }


def test_calibrated_estimate_from_python_and_cli():
    import llmviewer

    pure = llmviewer.generate("Llama-3.1-8B", "H100", prompt_len=512, gen_len=64)
    cal = llmviewer.generate("Llama-3.1-8B", "H100", prompt_len=512, gen_len=64, calibration="serving")
    assert cal.total_time > pure.total_time
    eff = calibration.load_calibration("serving")
    assert 0 < eff.bandwidth <= 1 and 0 < eff.compute <= 1 and eff.fuse_elementwise
    with pytest.raises(ValueError, match="no calibration for engine class 'x'"):
        llmviewer.analyze("Llama-3.1-8B", "H100", calibration="x")
    assert np.isfinite(cal.tpot_mean)
