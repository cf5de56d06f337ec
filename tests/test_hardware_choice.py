"""Choosing hardware: ranking, tensor-parallel counts, prices and cost per token, what-if devices, `llmviewer rank`."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import llmviewer
from llmviewer import cli
from llmviewer.errors import LLMViewerError
from llmviewer.studies import compare, pricing
from llmviewer.techniques import whatif

MODEL = "Llama-3.1-8B"
DEVICES = ["A100-SXM4-80GB", "H100-SXM5-80GB", "L4-24GB", "TPU-v5e", "RTX-4090-24GB", "Apple-M2-Ultra-76C"]


@pytest.mark.parametrize(("by", "ascending"), [("throughput", False), ("ttft", True), ("tpot_mean", True)])
def test_ranking_is_the_sort_by_the_metric_fitting_devices_first(by, ascending):
    t = compare.rank_devices(MODEL, DEVICES, batch_size=4, prompt_len=512, gen_len=64, by=by)
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    fits = t[t["fits"]]
    assert list(fits["device"]) == list(fits.sort_values(by, ascending=ascending, kind="stable")["device"])
    assert t["fits"].tolist() == sorted(t["fits"].tolist(), reverse=True)  # every fitting device first
    # every number is the engine's own for that device
    row = t.set_index("device").loc["H100-SXM5-80GB"]
    g = llmviewer.generate(MODEL, "H100-SXM5-80GB", batch_size=4, prompt_len=512, gen_len=64)
    assert row["ttft"] == pytest.approx(g.ttft) and row["throughput"] == pytest.approx(g.throughput)


def test_fit_flag_matches_the_footprint():
    t = compare.rank_devices(MODEL, DEVICES, batch_size=1, prompt_len=1024, gen_len=256).set_index("device")
    need = llmviewer.memory_footprint(MODEL, batch_size=1, seqlen=1280)["total"]
    for d in DEVICES:
        assert t.loc[d, "fits"] == (need <= llmviewer.load_hardware(d).memory_bytes)


def test_min_tensor_parallel_is_the_smallest_that_fits():
    model, seqlen = "Llama-2-70b-hf", 2048
    for device in ["H100-SXM5-80GB", "A100-SXM4-40GB", "MI300X-192GB"]:
        hw = llmviewer.load_hardware(device)
        n = compare.min_tensor_parallel(model, hw, 1, seqlen, max_devices=8)
        assert n is not None
        need = lambda k: llmviewer.memory_footprint(model, seqlen=seqlen, tensor_parallel=k)["total"]  # noqa: E731
        assert need(n) <= hw.memory_bytes
        if n > 1:
            assert need(n // 2) > hw.memory_bytes
    # 140 GB of 16-bit weights cannot fit on one or two 24 GB cards
    assert compare.min_tensor_parallel(model, "RTX-4090-24GB", 1, seqlen, max_devices=2) is None
    # a device without any link cannot split the model
    assert compare.min_tensor_parallel(model, "Apple-M1-Max-32C", 1, seqlen, max_devices=8) is None


def test_ranking_uses_tensor_parallel_groups_when_allowed():
    t = compare.rank_devices("Llama-2-70b-hf", ["H100-SXM5-80GB"], prompt_len=512, gen_len=64, max_devices=8)
    row = t.iloc[0]
    assert row["fits"] and row["devices"] == 2
    assert row["throughput_per_device"] == pytest.approx(row["throughput"] / 2)


def test_rank_rejects_unknown_metric():
    with pytest.raises(LLMViewerError, match="by must be one of"):
        compare.rank_devices(MODEL, DEVICES, by="speed")


def test_prices_are_sourced_dated_and_name_library_devices():
    table = pricing.load_prices()
    assert len(table) >= 10
    lib = llmviewer.hardware_library()
    for r in table.itertuples():
        assert r.device in lib
        assert r.source.startswith("https://") and r.transcribed_from.startswith("https://")
        assert pd.Timestamp(r.date) <= pd.Timestamp.now()
        assert 0.05 < r.usd_per_gpu_hour < 50 and r.gpus_per_instance >= 1


def test_device_price_is_the_cheapest_offer():
    table = pricing.load_prices()
    h100 = table[table["device"] == "H100-SXM5-80GB"]["usd_per_gpu_hour"]
    assert pricing.device_price("H100") == h100.min()
    assert pricing.device_price("H100", provider="lambda") <= 4.29
    assert pricing.device_price("Apple-M2-Ultra-76C") is None


def test_cost_per_million_tokens_relation():
    # one device at $3.6/h making 1000 tokens/s: 3.6e6 tokens per hour for $3.6 -> $1 per million
    assert pricing.cost_per_million_tokens(3.6, 1000) == pytest.approx(1.0)
    # twice the devices at the same group throughput doubles the cost; twice the throughput halves it
    assert pricing.cost_per_million_tokens(2.0, 500, devices=2) == pytest.approx(
        2 * pricing.cost_per_million_tokens(2.0, 500)
    )
    assert pricing.cost_per_million_tokens(2.0, 1000) == pytest.approx(pricing.cost_per_million_tokens(2.0, 500) / 2)
    with pytest.raises(LLMViewerError):
        pricing.cost_per_million_tokens(2.0, 0)


@pytest.mark.parametrize("calibration", [None, "serving"])
def test_cost_table_matches_engine_throughput_and_prices(calibration):
    t = pricing.cost_table(MODEL, batch_size=16, prompt_len=512, gen_len=128, calibration=calibration)
    assert len(t) >= 5
    assert list(t["usd_per_million_tokens"]) == sorted(t["usd_per_million_tokens"])
    for r in t.itertuples():
        g = llmviewer.generate(
            MODEL,
            r.device,
            batch_size=16,
            prompt_len=512,
            gen_len=128,
            calibration=calibration,
            tensor_parallel=r.devices,
        )
        expected = pricing.device_price(r.device) * r.devices / (float(g.throughput) * 3600) * 1e6
        assert r.usd_per_million_tokens == pytest.approx(expected)


def test_calibrated_cost_is_higher_than_the_roofline_bound():
    pure = pricing.cost_table(MODEL, ["H100"], batch_size=8).iloc[0]
    cal = pricing.cost_table(MODEL, ["H100"], batch_size=8, calibration="serving").iloc[0]
    assert cal["usd_per_million_tokens"] > pure["usd_per_million_tokens"]


def test_whatif_bandwidth_halves_memory_bound_decode():
    h100 = llmviewer.load_hardware("H100")
    fast = whatif.whatif(h100, bandwidth_scale=2)
    assert fast.memory_bandwidth == 2 * h100.memory_bandwidth and fast.peak_ops == h100.peak_ops
    r0 = llmviewer.analyze(MODEL, h100, batch_size=1, seqlen=1024, stages=("decode",)).decode
    r1 = llmviewer.analyze(MODEL, fast, batch_size=1, seqlen=1024, stages=("decode",)).decode
    assert r0.total["bound"] == "memory"
    assert _memory_bound_time(r1) == pytest.approx(_memory_bound_time(r0) / 2, rel=1e-9)
    # the rest is fused element-wise work (no bytes of its own, vector units): unchanged and tiny
    assert r1.time - _memory_bound_time(r1) == pytest.approx(r0.time - _memory_bound_time(r0), rel=1e-9)
    assert r1.time == pytest.approx(r0.time / 2, rel=1e-4)


def _memory_bound_time(stage):
    return sum(row["inference_time"] * row["count"] for row in stage.layers if row["bound"] == "memory")


def test_whatif_peak_scale_speeds_compute_bound_prefill_only():
    h100 = llmviewer.load_hardware("H100")
    fast = whatif.whatif(h100, peak_scale=2)
    p0 = llmviewer.analyze(MODEL, h100, batch_size=8, seqlen=4096, stages=("prefill",)).prefill
    p1 = llmviewer.analyze(MODEL, fast, batch_size=8, seqlen=4096, stages=("prefill",)).prefill
    assert p1.total["inference_time"] < p0.total["inference_time"]
    assert p1.layer("q_proj")["inference_time"] == pytest.approx(p0.layer("q_proj")["inference_time"] / 2)
    d0 = llmviewer.analyze(MODEL, h100, batch_size=1, seqlen=1024, stages=("decode",)).decode
    d1 = llmviewer.analyze(MODEL, fast, batch_size=1, seqlen=1024, stages=("decode",)).decode
    assert _memory_bound_time(d1) == pytest.approx(_memory_bound_time(d0), rel=1e-12)
    assert d1.time == pytest.approx(d0.time, rel=1e-4)  # only the fused element-wise work's OPs speed up


def test_whatif_explicit_values_and_errors():
    b200 = llmviewer.load_hardware("B200")
    d = whatif.whatif(b200, name="B200 no fp4", peak_ops={k: v for k, v in b200.peak_ops.items() if k != "fp4"})
    assert "fp4" not in d.peak_ops and d.kind == "what-if" and d.name == "B200 no fp4"
    assert whatif.whatif("A100", memory_bytes=1e12, memory_scale=2).memory_bytes == 2e12
    with pytest.raises(LLMViewerError):
        whatif.whatif("A100", bandwidth_scale=0)
    with pytest.raises(LLMViewerError):
        whatif.whatif("A100", extra_peaks={"fp3": 1e15})


def test_fp4_units_speed_up_compute_bound_prefill_on_b200():
    b200 = llmviewer.load_hardware("B200")
    kw = dict(batch_size=8, seqlen=4096, stages=("prefill",))
    w4a4 = llmviewer.analyze(MODEL, b200, w_bit=4, a_bit=4, **kw).prefill.layer("down_proj")
    w8a8 = llmviewer.analyze(MODEL, b200, w_bit=8, a_bit=8, **kw).prefill.layer("down_proj")
    assert w4a4["bound"] == w8a8["bound"] == "compute"
    ratio = b200.peak("fp4") / b200.peak(b200.compute_dtype(8))
    assert w8a8["inference_time"] / w4a4["inference_time"] == pytest.approx(ratio)


def test_sram_chip_count_and_pipeline_roof():
    chip = whatif.sram_device("sram-chip", 230e6, 80e12, {"fp16": 188e12})
    need = llmviewer.memory_footprint("Llama-2-70b-hf", seqlen=2048)["total"]
    n = whatif.devices_to_hold("Llama-2-70b-hf", chip, seqlen=2048)
    assert (n - 1) * 230e6 < need <= n * 230e6
    one = whatif.unlimited(chip)
    assert math.isinf(one.memory_bytes) and one.memory_bandwidth == 80e12
    with pytest.raises(LLMViewerError):
        whatif.sram_device("bad", 0, 80e12, {"fp16": 1e14})


def test_cli_rank_outputs(tmp_path, capsys):
    assert cli.run(["rank", MODEL, "--batchsize", "2", "--prompt-len", "256", "--gen-len", "32", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(llmviewer.hardware_library())
    tput = [r["throughput"] for r in rows if r["fits"]]
    assert tput == sorted(tput, reverse=True)
    out = tmp_path / "rank.csv"
    assert cli.run(["rank", MODEL, "--by", "ttft", "--csv", str(out)]) == 0
    table = pd.read_csv(out)
    fit = table[table["fits"]]
    assert np.all(np.diff(fit["ttft"].to_numpy()) >= 0)
    assert cli.run(["rank", MODEL, "--calibrated"]) == 0
    assert "tokens/s" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv", [["rank", "no-such-model"], ["rank", MODEL, "--batchsize", "0"], ["rank", MODEL, "--max-devices", "0"]]
)
def test_cli_rank_bad_input_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("llmviewer: error:")


def test_rank_by_cost_from_the_cli_is_the_cost_table():
    import json
    import subprocess
    import sys

    from llmviewer.studies.pricing import cost_table

    cmd = [sys.executable, "-m", "llmviewer.cli", "rank", "Llama-3.1-8B", "--batchsize", "32", "--by", "cost", "--json"]
    shown = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    expected = cost_table("Llama-3.1-8B", batch_size=32, prompt_len=1024, gen_len=256, max_devices=1)
    assert [r["device"] for r in shown] == expected["device"].tolist()
    costs = [r["usd_per_million_tokens"] for r in shown]
    assert costs == sorted(costs)
    assert costs == pytest.approx(expected["usd_per_million_tokens"].tolist(), rel=1e-9)


def test_reference_devices_are_sourced_and_match_the_sram_builder():
    devices = whatif.reference_devices()
    for d in devices.values():
        for key in ("memory_bytes", "memory_bandwidth", "peak_ops"):
            assert d.sources.get(key, "").startswith("https://"), (d.name, key)
    groq = whatif.reference_device("Groq LPU (what-if)")
    built = whatif.sram_device("Groq LPU (what-if)", 230e6, 80e12, {"fp16": 188e12, "int8": 750e12})
    assert (groq.memory_bytes, groq.memory_bandwidth, groq.peak_ops) == (
        built.memory_bytes, built.memory_bandwidth, built.peak_ops)  # fmt: skip
    with pytest.raises(LLMViewerError, match="unknown what-if device"):
        whatif.reference_device("T5")
