"""The command line's output contract."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

import llmviewer
from llmviewer.engine.analysis import NUMERIC_FIELDS
from llmviewer.paths import data_dir

LAYER_KEYS = {"name", "kind", "count", "bound", "compute_dtype", *NUMERIC_FIELDS}


def cli(*args: str) -> str:
    res = subprocess.run([sys.executable, "-m", "llmviewer.cli", *args], capture_output=True, text=True, check=True)
    return res.stdout


def test_analyze_json_contract():
    out = json.loads(cli("analyze", "Llama-2-7b-hf", "H100-SXM5-80GB", "--batchsize", "4", "--seqlen", "512", "--json"))
    assert set(out) == {"model", "hardware", "settings", "prefill", "decode", "memory"}
    assert set(out["memory"]) == {"weights", "kv_cache", "activations", "total"}
    for stage in ("prefill", "decode"):
        layers = out[stage]["layers"]
        assert {layer["kind"] for layer in layers} <= {"matmul", "fused", "elementwise"}
        for layer in layers:
            assert LAYER_KEYS <= set(layer)
        total = out[stage]["total"]
        for key in ("OPs", "memory_access", "inference_time", "load_weight"):
            assert total[key] == pytest.approx(sum(layer[key] * layer["count"] for layer in layers))
    same = llmviewer.analyze("Llama-2-7b-hf", "H100-SXM5-80GB", batch_size=4, seqlen=512)
    assert out["decode"]["total"]["inference_time"] == pytest.approx(same.decode.time)


def test_dashed_aliases_and_flash_attention():
    a = json.loads(
        cli("analyze", "Llama-2-7b-hf", "H100", "--batch-size", "2", "--use-flashattention", "--w-bit", "4", "--json")
    )
    b = json.loads(
        cli("analyze", "Llama-2-7b-hf", "H100", "--batchsize", "2", "--use_flashattention", "--w_bit", "4", "--json")
    )
    assert a == b
    assert any(layer["kind"] == "fused" for layer in a["prefill"]["layers"])


def test_generate_json():
    out = json.loads(
        cli(
            "generate",
            "Llama-2-7b-hf",
            "H100-SXM5-80GB",
            "--batchsize",
            "8",
            "--prompt-len",
            "1024",
            "--gen-len",
            "256",
            "--json",
        )
    )
    for key in ("ttft", "tpot_mean", "total_time", "throughput"):
        assert out[key] > 0
    assert out["throughput"] == pytest.approx(8 * 256 / out["total_time"])


def test_csv_output(tmp_path):
    path = tmp_path / "out.csv"
    cli("analyze", "Llama-2-7b-hf", "H100-SXM5-80GB", "--csv", str(path))
    rows = list(csv.DictReader(path.open()))
    assert {r["stage"] for r in rows} == {"prefill", "decode"}
    assert LAYER_KEYS <= set(rows[0])


def test_table_output_lists_layers():
    out = cli("analyze", "Llama-2-7b-hf", "H100-SXM5-80GB")
    for word in ("[prefill]", "[decode]", "q_proj", "lm_head", "total", "memory:"):
        assert word in out


def test_listings_match_library():
    rows = cli("models").splitlines()[1:]
    assert [r.split()[0] for r in rows] == sorted(llmviewer.shipped_models())
    assert cli("hardware").split() == list(llmviewer.hardware_library())


def test_custom_device_and_config_path(tmp_path):
    cfg = llmviewer.shipped_models()["Llama-2-7b-hf"]
    out = json.loads(cli("analyze", str(cfg.parent), "custom", "--bandwidth", "1e12", "--peak", "1e14", "--json"))
    assert out["hardware"] == "custom"
    q = next(layer for layer in out["decode"]["layers"] if layer["name"] == "q_proj")
    assert q["inference_time"] == pytest.approx(q["memory_access"] / 1e12)


def test_calibrated_output_names_its_class_and_held_out_error():
    stored = json.loads((data_dir() / "calibration.json").read_text())["classes"]
    out = json.loads(cli("generate", "Llama-2-7b-hf", "A100", "--gen-len", "8", "--calibrated", "--json"))
    assert out["calibration"] == {
        "class": "serving",
        "held_out_mape_percent": stored["serving"]["held_out_mape_percent"],
        "decode_graphs": stored["serving"]["graphs"],
    }
    assert 0 < out["calibration"]["held_out_mape_percent"] < 100
    cuda = json.loads(cli("analyze", "Llama-2-7b-hf", "A100", "--calibrated", "llama.cpp-cuda", "--json"))
    assert cuda["calibration"]["class"] == "llama.cpp-cuda"
    assert cuda["settings"]["fusion"] == "none"  # as llama.cpp runs element-wise work, and as it was fitted
    text = cli("generate", "Llama-2-7b-hf", "A100", "--gen-len", "8", "--calibrated")
    mape = stored["serving"]["held_out_mape_percent"]
    assert f"calibrated estimate: class serving, held-out error {mape:.1f}%" in text
    launches = "replayed as graphs" if stored["serving"]["graphs"] else "launched kernel by kernel"
    assert f"; decode steps {launches}\n" in text
    assert "calibrated estimate" not in cli("generate", "Llama-2-7b-hf", "A100", "--gen-len", "8")


def test_unfused_flags_give_the_survey_accounting():
    out = json.loads(cli("analyze", "Llama-2-7b-hf", "A100", "--unfused", "--non-causal", "--json"))
    py = llmviewer.analyze("Llama-2-7b-hf", "A100", **llmviewer.UNFUSED)
    assert out["prefill"]["total"]["inference_time"] == pytest.approx(py.prefill.time, rel=1e-12)
    assert {"qk_matmul", "softmax", "sv_matmul"} <= {layer["name"] for layer in out["prefill"]["layers"]}
    default = json.loads(cli("analyze", "Llama-2-7b-hf", "A100", "--json"))
    assert default["prefill"]["total"]["inference_time"] < out["prefill"]["total"]["inference_time"]
    assert default["settings"]["use_flashattention"] and default["settings"]["causal_attention"]
    help_text = cli("analyze", "--help")
    for flag in ("--unfused", "--unfused-attention", "--no-fusion", "--non-causal"):
        assert flag in help_text


def test_models_lists_the_vision_towers():
    rows = {r["name"]: r for r in json.loads(cli("models", "--json"))}
    # Gemma-4: 27 blocks of 1152 wide, 768 px images pooled to 256 tokens; Qwen3.5: 48 x 48 patches, 2 x 2 merge
    assert rows["gemma-4-26B-A4B"]["vision"] == {
        "style": "gemma4", "parameters": 572792112, "image_size": 768, "tokens_per_image": 256,
    }  # fmt: skip
    assert rows["Qwen3.5-27B"]["vision"]["tokens_per_image"] == 576 and rows["Llama-3.1-8B"]["vision"] is None
    table = {r.split()[0]: r for r in cli("models").splitlines()[1:]}
    assert " 573 M " in table["gemma-4-26B-A4B"] and " 1 G " in table["gemma-3-1b-it"]  # 999.9 M rounds to 1 G


@pytest.mark.parametrize("name, tokens", [("gemma-4-26B-A4B", 256), ("Qwen3.5-35B-A3B", 576)])
def test_encode_runs_the_new_vision_towers(name, tokens):
    from llmviewer.engine.vision import vision_encoder_cost

    out = json.loads(cli("encode", name, "H100", "--images", "2", "--json"))
    v = llmviewer.load_model(name).vision
    assert (out["image_size"], out["image_tokens"]) == (768, 2 * tokens)
    assert out["encoder_OPs"] == vision_encoder_cost(v, 2)["matmul_OPs"]
