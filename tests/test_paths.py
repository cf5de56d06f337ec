"""Where the data comes from: the package's own folder, or LLMVIEWER_DATA when set."""

from __future__ import annotations

import shutil

import pytest

import llmviewer
from llmviewer.errors import LLMViewerError
from llmviewer.paths import DATA_ENV, data_dir


def test_data_ships_inside_the_package(monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    root = data_dir()
    assert root.parent.name == "llmviewer" and (root.parent / "__init__.py").is_file()
    for need in ("hardware.json", "calibration.json", "prices.csv", "measurements/measurements.csv"):
        assert (root / need).is_file(), need


def test_llmviewer_data_overrides_the_package_data(monkeypatch, tmp_path):
    own = tmp_path / "data"
    shutil.copytree(data_dir() / "models" / "Llama-2-7b-hf", own / "models" / "my-model")
    monkeypatch.setenv(DATA_ENV, str(own))
    assert data_dir() == own
    assert set(llmviewer.shipped_models()) == {"my-model"}


def test_a_missing_override_folder_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(LLMViewerError, match="LLMVIEWER_DATA=.*is not a folder"):
        data_dir()


def test_a_name_resolved_before_follows_its_config_and_the_data_folder(monkeypatch, tmp_path):
    """Names are remembered once resolved, but an edited config (new mtime), a removed one, or
    another LLMVIEWER_DATA folder is read anew, never served from the memory of an earlier call."""
    import json
    import os

    monkeypatch.delenv(DATA_ENV, raising=False)
    shipped = llmviewer.load_model("Llama-2-7b-hf")
    own = tmp_path / "data"
    shutil.copytree(data_dir() / "models" / "Llama-2-7b-hf", own / "models" / "Llama-2-7b-hf")
    config = own / "models" / "Llama-2-7b-hf" / "config.json"
    monkeypatch.setenv(DATA_ENV, str(own))
    assert llmviewer.load_model("Llama-2-7b-hf") == shipped  # the same config, from the other folder
    cfg = json.loads(config.read_text())
    cfg["num_hidden_layers"] = 16
    config.write_text(json.dumps(cfg))
    os.utime(config, (1_000_000_000, 1_000_000_000))  # a new mtime even on coarse-clock file systems
    assert llmviewer.load_model("Llama-2-7b-hf").num_layers == 16
    config.unlink()
    with pytest.raises(LLMViewerError, match="Llama-2-7b-hf"):
        llmviewer.load_model("Llama-2-7b-hf")
    monkeypatch.delenv(DATA_ENV)
    assert llmviewer.load_model("Llama-2-7b-hf").num_layers == shipped.num_layers == 32
