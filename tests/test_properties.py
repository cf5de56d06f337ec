"""Issue 15: property tests (hypothesis) of devices, workloads and configs, and the config cases
that the model-config reader does not reject yet (strict xfails: they flip when it does).

Properties: only :class:`llmviewer.LLMViewerError` is raised; results are finite and
non-negative; time is non-decreasing in batch, prompt length and generated tokens (pure and
calibrated); memory is non-decreasing in batch and context; a decode step takes at least
weight bytes / bandwidth; ``--json`` output parses as strict JSON. Settings stay modest so the
suite stays fast.
"""

from __future__ import annotations

import io
import json
import math
import os
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import llmviewer  # noqa: E402
from llmviewer.cli.render import print_json  # noqa: E402
from llmviewer.errors import LLMViewerError  # noqa: E402
from llmviewer.specs.hardware import DTYPES  # noqa: E402

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODELS = ["Llama-2-7b-hf", "TinyLlama-1.1B-Chat-v1.0", "Mistral-7B-v0.1", "gemma-2-9b", "Qwen3-8B",
          "Mixtral-8x7B-v0.1", "Qwen1.5-MoE-A2.7B", "pythia-6.9b", "opt-6.7b"]  # fmt: skip
MODELS_DIR = Path(llmviewer.__file__).parent / "data" / "models"

finite_positive = st.floats(min_value=1e9, max_value=1e16, allow_nan=False, allow_infinity=False)
bad_number = st.one_of(
    st.just(math.nan), st.just(math.inf), st.just(-1.0), st.just(0), st.just(1e-320), st.just("1e12"),
    st.just(None), st.just(True), st.just(10**400), st.floats(max_value=0, allow_nan=False),
)  # fmt: skip
devices = st.fixed_dictionaries(
    {
        "name": st.text(min_size=0, max_size=220),
        "memory_bandwidth": st.one_of(finite_positive, bad_number),
        "peak_ops": st.dictionaries(
            st.one_of(st.sampled_from(DTYPES), st.sampled_from(["fp12", "FP16", ""])),
            st.one_of(finite_positive.map(lambda x: x * 1e3), bad_number),
            max_size=4,
        ),
    },
    optional={"memory_bytes": st.one_of(finite_positive, bad_number), "year": st.integers(1800, 2300)},
)
good_devices = st.fixed_dictionaries(
    {
        "name": st.just("prop"),
        "memory_bandwidth": st.floats(1e10, 1e13),
        "peak_ops": st.fixed_dictionaries(
            {"fp16": st.floats(1e12, 5e15)},
            optional={"fp32": st.floats(1e11, 1e14), "int8": st.floats(1e12, 1e16), "fp8": st.floats(1e12, 1e16)},
        ),
    }
)
workloads = st.fixed_dictionaries(
    {
        "batch_size": st.integers(1, 256),
        "prompt_len": st.integers(1, 8192),
        "gen_len": st.integers(1, 2048),
        "w_bit": st.sampled_from([4, 8, 16]),
        "a_bit": st.sampled_from([8, 16]),
    }
)
calibrations = st.sampled_from([None, "serving", "llama.cpp-cuda"])


def _finite_nonnegative(*values) -> bool:
    arr = np.asarray(values, dtype=float)
    return bool(np.all(np.isfinite(arr)) and np.all(arr >= 0))


@FAST
@given(devices)
def test_device_dicts_load_or_raise_llmviewer_error(entry):
    try:
        hw = llmviewer.load_hardware(entry)
    except LLMViewerError as e:
        assert "\n" not in str(e)
        return
    assert math.isfinite(hw.memory_bandwidth) and hw.memory_bandwidth > 0
    assert all(math.isfinite(v) and v > 0 for v in hw.peak_ops.values())
    assert {"fp16", "bf16", "fp32"} & set(hw.peak_ops)


@FAST
@given(model=st.sampled_from(MODELS), device=good_devices, work=workloads, calibration=calibrations)
def test_generate_is_finite_nonnegative_and_strict_json(model, device, work, calibration):
    g = llmviewer.generate(model, device, calibration=calibration, **work)
    assert _finite_nonnegative(g.ttft, g.decode_time, g.total_time, g.throughput)
    if work["gen_len"] > 1:
        assert _finite_nonnegative(g.tpot_mean)
    else:
        assert math.isnan(g.tpot_mean)
    out = io.StringIO()
    with redirect_stdout(out):
        print_json(g.to_dict())
    doc = json.loads(out.getvalue(), parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    if work["gen_len"] == 1:
        assert doc["tpot_mean"] is None and "tpot_mean" in doc["undefined"]


def _monotone(model, device, calibration, work, key, step):
    """``total_time`` and ``ttft`` at ``work`` and at ``work[key] + step``, in one array call."""
    kw = dict(work)
    kw[key] = np.array([work[key], work[key] + step])
    g = llmviewer.generate(model, device, calibration=calibration, **kw)
    total = np.asarray(g.total_time, dtype=float)
    ttft = np.broadcast_to(np.asarray(g.ttft, dtype=float), total.shape)
    return total, ttft


@pytest.mark.parametrize("calibration", [None, "serving"], ids=["pure", "calibrated"])
@pytest.mark.parametrize("key", ["batch_size", "prompt_len", "gen_len"])
@FAST
@given(model=st.sampled_from(MODELS), work=workloads, step=st.integers(1, 512))
def test_time_is_non_decreasing(key, calibration, model, work, step):
    total, ttft = _monotone(model, "H100", calibration, work, key, step)
    assert total[1] >= total[0] * (1 - 1e-12), (total, key)
    assert ttft[1] >= ttft[0] * (1 - 1e-12), (ttft, key)


@FAST
@given(model=st.sampled_from(MODELS), batch=st.integers(1, 512), seqlen=st.integers(1, 32768),
       db=st.integers(1, 64), ds=st.integers(1, 4096))  # fmt: skip
def test_memory_is_non_decreasing_in_batch_and_context(model, batch, seqlen, db, ds):
    base = llmviewer.memory_footprint(model, batch_size=batch, seqlen=seqlen)
    assert _finite_nonnegative(*base.values())
    for kw in (dict(batch_size=batch + db, seqlen=seqlen), dict(batch_size=batch, seqlen=seqlen + ds)):
        more = llmviewer.memory_footprint(model, **kw)
        for key in ("weights", "kv_cache", "total"):
            assert more[key] >= base[key], (key, kw)


@FAST
@given(model=st.sampled_from(MODELS), device=good_devices, batch=st.integers(1, 64), seqlen=st.integers(1, 8192),
       w_bit=st.sampled_from([4, 8, 16]), calibration=calibrations)  # fmt: skip
def test_decode_step_reads_every_weight_at_most_at_full_bandwidth(model, device, batch, seqlen, w_bit, calibration):
    a = llmviewer.analyze(model, device, batch_size=batch, seqlen=seqlen, w_bit=w_bit, calibration=calibration)
    hw = llmviewer.load_hardware(device)
    assert _finite_nonnegative(a.prefill.time, a.decode.time, *a.memory.values())
    assert a.decode.time >= a.decode.total["load_weight"] / hw.memory_bandwidth * (1 - 1e-12)


@FAST
@given(
    batch=st.one_of(st.integers(-5, 10**13), st.floats(allow_nan=True), st.text(max_size=3), st.none()),
    seqlen=st.one_of(st.integers(-5, 10**13), st.floats(allow_nan=True), st.booleans()),
    w_bit=st.one_of(st.integers(-2, 40), st.floats(allow_nan=True)),
    a_bit=st.one_of(st.integers(-2, 40), st.just("16")),
)
def test_any_workload_gives_a_result_or_llmviewer_error(batch, seqlen, w_bit, a_bit):
    try:
        a = llmviewer.analyze(
            "TinyLlama-1.1B-Chat-v1.0", "H100", batch_size=batch, seqlen=seqlen, w_bit=w_bit, a_bit=a_bit
        )
    except LLMViewerError as e:
        assert "\n" not in str(e)
        return
    assert _finite_nonnegative(a.prefill.time, a.decode.time, *a.memory.values())


@pytest.mark.parametrize("model", ["Llama-2-7b-hf", "Mixtral-8x7B-v0.1", "gemma-2-9b"])
def test_compress_calibrated_is_finite(model):
    """Issue 15: ``compress --calibrated`` raised ZeroDivisionError; every output is finite."""
    from llmviewer.techniques.compression import compare_compression

    for kw in (dict(), dict(sparsity="csr", density=0.3, dequant_ops=2.0, dequant_tile=64)):
        out = compare_compression(model, "H100", 4, 512, calibration="serving", w_bit=4, **kw)
        assert _finite_nonnegative(*(v for r in out.values() for v in r.values()))


def _config(name: str) -> dict:
    return json.loads((MODELS_DIR / name / "config.json").read_text())


SCALED = ("num_hidden_layers", "hidden_size", "intermediate_size", "vocab_size", "num_attention_heads")


@FAST
@given(model=st.sampled_from(MODELS), field=st.sampled_from(SCALED),
       value=st.one_of(st.integers(-3, 3), st.integers(1, 10**6), st.floats(allow_nan=True), st.text(max_size=3),
                       st.lists(st.integers(), max_size=2), st.none()))  # fmt: skip
def test_perturbed_configs_load_or_raise_llmviewer_error(model, field, value):
    """Small perturbations of shipped configs through the public ``load_model(dict)`` path."""
    cfg = {**_config(model), field: value}
    try:
        m = llmviewer.load_model(cfg)
        a = llmviewer.analyze(m, "H100", batch_size=2, seqlen=64)
    except LLMViewerError as e:
        assert "\n" not in str(e)
        return
    assert _finite_nonnegative(a.prefill.time, a.decode.time, *a.memory.values())


def test_shipped_library_conforms_to_the_published_schema():
    jsonschema = pytest.importorskip("jsonschema")
    data = Path(llmviewer.__file__).parent / "data"
    schema = json.loads((data / "hardware.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads((data / "hardware.json").read_text()), schema)
    jsonschema.validate(json.loads((data / "hardware.json").read_text())["devices"][0], schema)


# ------------------------------------------------------- config cases the reader does not reject yet

REJECTED = [  # config fields the reader refuses, each with one line naming the field
    ("Mixtral-8x7B-v0.1", {"num_experts_per_tok": 12}, "accepts top-k above the number of experts"),
    ("gemma-2-9b", {"layer_types": ["sliding_attention", "full_attention"] * 100}, "accepts a longer layer_types"),
    ("Mistral-7B-v0.1", {"sliding_window": -4096}, "accepts a negative sliding_window (negative bytes)"),
    ("Mistral-7B-v0.1", {"sliding_window": 0}, "ZeroDivisionError on sliding_window 0"),
    ("DeepSeek-V3", {"first_k_dense_replace": -20}, "accepts a negative first_k_dense_replace"),
    ("DeepSeek-V3", {"first_k_dense_replace": "3"}, "TypeError on a string first_k_dense_replace"),
    ("Mistral-7B-v0.1", {"sliding_window": "big"}, "ValueError on a string sliding_window"),
    ("DeepSeek-V3", {"n_shared_experts": -1}, "accepts a negative n_shared_experts"),
    ("Phi-3-mini-4k-instruct", {"partial_rotary_factor": -1}, "accepts a negative partial_rotary_factor"),
    ("pythia-6.9b", {"rotary_pct": math.nan}, "ValueError on a NaN rotary fraction"),
    ("Llama-2-7b-hf", {"hidden_size": 16}, "accepts hidden_size below the head count (0-byte KV cache)"),
    ("Llama-2-7b-hf", {"model_type": ["llama"]}, "TypeError on a list model_type"),
    ("Llama-2-7b-hf", {"hidden_act": 3}, "TypeError on a numeric hidden_act"),
]


@pytest.mark.parametrize(
    "model,change",
    [pytest.param(m, c, id=f"{m}-{next(iter(c))}") for m, c, why in REJECTED],
)
def test_bad_config_fields_are_rejected(model, change):
    """One clear error that names the field."""
    with pytest.raises(LLMViewerError, match=next(iter(change))):
        m = llmviewer.load_model({**_config(model), **change})
        llmviewer.analyze(m, "H100", batch_size=1, seqlen=128)


@pytest.mark.parametrize(
    "model,change",
    [
        pytest.param("DeepSeek-V3", {"n_shared_experts": "2"}, id="string-n_shared_experts-memoryerror"),
    ],
)
def test_config_reading_is_bounded(model, change):
    with pytest.raises(LLMViewerError):
        llmviewer.load_model({**_config(model), **change})


CONFIG_FILES = {
    "utf16": lambda p: p.write_text(json.dumps({"model_type": "llama"}), encoding="utf-16"),
    "deep": lambda p: p.write_text("[" * 100000 + "]" * 100000),
    "bigint": lambda p: p.write_text('{"model_type": "llama", "hidden_size": ' + "9" * 5000 + "}"),
    "symlink-loop": lambda p: (os.symlink(p.with_name("other.json"), p), os.symlink(p, p.with_name("other.json"))),
}


@pytest.mark.parametrize("kind", sorted(CONFIG_FILES))
def test_bad_config_files_through_the_api(kind, tmp_path):
    path = tmp_path / "config.json"
    CONFIG_FILES[kind](path)
    with pytest.raises(LLMViewerError, match="config.json: (not UTF-8|JSON nested|malformed|symlink loop)"):
        llmviewer.load_model(path)


def test_dev_zero_as_a_config_through_the_api():
    with pytest.raises(LLMViewerError):
        llmviewer.load_model("/dev/zero")


def test_reading_a_config_does_not_loop_over_a_trillion_layers():
    """10**12 layers: one clear error before any per-layer work (the stack holds one entry per layer)."""
    with pytest.raises(LLMViewerError, match="num_hidden_layers.*valid: 1..100000"):
        llmviewer.load_model({**_config("DeepSeek-V3"), "num_hidden_layers": 10**12})
