"""Bad input: one clear line (CLI: stderr, exit 2; Python: ValueError), never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import llmviewer

DEVICE = {"name": "toy", "memory_bandwidth": 1e12, "peak_ops": {"fp16": 1e14}}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmviewer.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"model": "Llama-2-7b"}, "did you mean 'Llama-2-7b-hf'"),
        ({"hardware": "H100-SMX"}, "unknown hardware 'H100-SMX'; did you mean"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"batch_size": -3}, "batch_size must be an integer >= 1"),
        ({"batch_size": 1.5}, "batch_size must be an integer"),
        ({"batch_size": np.array([1, 2.5])}, "batch_size must hold whole numbers"),
        ({"seqlen": 0}, "seqlen must be an integer >= 1, got 0"),
        ({"w_bit": 0}, "unsupported w_bit 0; valid: 1-16 or 32"),
        ({"a_bit": 6}, "unsupported a_bit 6; valid: 4, 8, 16, 32"),
        ({"kv_bit": 64}, "unsupported kv_bit 64"),
    ],
)
def test_python_errors_are_value_errors_with_clear_messages(kwargs, message):
    args = {"model": "Llama-2-7b-hf", "hardware": "H100-SXM5-80GB", **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("?", r"\?").replace(".", r"\.")):
        llmviewer.analyze(args.pop("model"), args.pop("hardware"), **args)


def test_config_missing_field_names_field_and_file(tmp_path):
    cfg = {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 10}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=rf"{path}: config is missing the required field 'intermediate_size'"):
        llmviewer.load_model(path)


def test_unsupported_model_type_lists_supported(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "bert"}))
    expected = r"unsupported model_type 'bert'; supported: deepseek_v2, deepseek_v3, falcon, gemma"
    with pytest.raises(ValueError, match=expected):
        llmviewer.load_model(tmp_path)


def test_malformed_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "llama",')
    with pytest.raises(ValueError, match=r"malformed JSON"):
        llmviewer.load_model(path)


def test_remote_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    cfg = {"model_type": "evil", "auto_map": {"AutoModelForCausalLM": "evil.Model"}}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="unsupported model_type 'evil'"):
        llmviewer.load_model(tmp_path)
    assert not marker.exists()


def test_hardware_entry_validation():
    with pytest.raises(ValueError, match=r"memory_bandwidth must be a number in \[1, 1e21\].*, got -1"):
        llmviewer.load_hardware({"name": "x", "memory_bandwidth": -1, "peak_ops": {"fp16": 1e12}})
    with pytest.raises(ValueError, match=r"unknown data types \['fp12'\]"):
        llmviewer.load_hardware({"name": "x", "memory_bandwidth": 1, "peak_ops": {"fp12": 1e12}})
    with pytest.raises(ValueError, match=r"missing the required field 'peak_ops'"):
        llmviewer.load_hardware({"name": "x", "memory_bandwidth": 1})


@pytest.mark.parametrize(
    "args,message",
    [
        (["analyze", "Llama-2-7b", "H100-SXM5-80GB"], "unknown model 'Llama-2-7b'; did you mean"),
        (["analyze", "Llama-2-7b-hf", "H100-SXM5-80GB", "--batchsize", "0"], "--batch-size must be a positive integer"),
        (["analyze", "Llama-2-7b-hf", "H100-SXM5-80GB", "--batchsize", "1.5"], "invalid int value: '1.5'"),
        (["analyze", "Llama-2-7b-hf", "H100-SXM5-80GB", "--w_bit", "5", "--a_bit", "3"], "unsupported a_bit 3"),
        (["analyze", "nope.json", "H100-SXM5-80GB"], "nope.json: no such file"),
        (["analyze", "Llama-2-7b-hf", "custom", "--peak", "1e14"], "a custom device needs --bandwidth"),
    ],
)
def test_cli_errors_one_line_exit_2(args, message):
    res = cli(*args)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""
