"""Serving under load (llmviewer.loadsim): exact where theory is exact.

Step times against the engine's own passes; M/D/1 queueing (Pollaczek-Khinchine); saturation throughput
against static batching (llmviewer.generate); Little's law on every run; determinism; KV capacity; chunked
prefill against the tail of TPOT; the CLI's load mode and plan; traces.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import llmviewer
from llmviewer import serving
from llmviewer.cli import run
from llmviewer.engine.efficiency import PURE, load_calibration
from llmviewer.errors import LLMViewerError
from llmviewer.techniques.loadsim import (
    SLO,
    Deployment,
    Lengths,
    SchedulerConfig,
    StepCost,
    Workload,
    capacity_table,
    concurrency_sweep,
    kv_capacity,
    latency_vs_rate,
    load_trace,
    make_requests,
    max_rate,
    md1_mean_wait,
    plan_capacity,
    save_trace,
    simulate,
    simulate_pool,
)
from llmviewer.techniques.loadsim import scheduler as scheduler_module
from llmviewer.techniques.loadsim.planning import BINDINGS

SMALL, A100 = "Llama-3.2-1B", "A100-SXM4-80GB"
SERVING = {"use_flashattention": True, "causal_attention": True}
TRACE = Path(llmviewer.__file__).parent / "data" / "traces" / "sample_bursty.csv"


def little(result) -> tuple[float, float]:
    law = result.summary.littles_law
    return law["mean_in_system"], law["rate_x_time"]


# --------------------------------------------------------------------------- step times = the engine


@pytest.mark.parametrize(
    "model, device, tp, options",
    [
        ("Llama-3.1-8B", "H100", 1, {}),
        ("Mistral-7B-v0.1", A100, 1, {"use_flashattention": True}),  # sliding window, contexts beyond it
        ("Mixtral-8x7B-v0.1", "H100", 2, {}),  # MoE (experts touched: not linear in tokens), tensor parallel
        ("gemma-2-9b", "H100", 1, SERVING),  # alternating sliding layers, causal attention
        ("Llama-3.1-70B", "H100", 4, {"w_bit": 4, "w_group_size": 128}),
    ],
)
@pytest.mark.parametrize("calibration", [None, "serving"])
def test_step_time_equals_the_engines_passes(model, device, tp, options, calibration):
    eff = PURE if calibration is None else load_calibration(calibration)
    cost = StepCost(model, device, eff, tensor_parallel=tp, table_tokens=1024, **options)
    for batch, context in [(1, 100), (16, 5000), (64, 9000), (300, 40)]:
        decode = llmviewer.analyze(model, device, batch, context, stages=("decode",), calibration=calibration,
                                   tensor_parallel=tp, **options).decode.time  # fmt: skip
        prefill = llmviewer.generate(model, device, batch, context, 1, calibration=calibration, tensor_parallel=tp,
                                     **options).ttft  # fmt: skip
        assert cost.decode_step(batch, context) == pytest.approx(decode, rel=1e-12)
        assert cost.prefill_step(batch, context) == pytest.approx(prefill, rel=1e-12)  # beyond the table too
        x = cost.features([batch], [batch], cost.part_stats([1.0], [context]) * batch)
        assert cost.bound_seconds(x).sum() == pytest.approx(decode, rel=1e-12)


@pytest.mark.parametrize("options", [{}, {"use_flashattention": True, "causal_attention": True}])
def test_mixed_step_equals_chunked_prefill_pass(options):
    """A prefill chunk riding with decodes, against llmviewer.serving.chunked_prefill_pass. One known
    difference: that function merges each operator's weight reads as the larger of the two passes', which for
    the embedding table (read one row per token) drops the decode tokens' rows; the step counts them."""
    m, hw = "Llama-2-7b-hf", llmviewer.load_hardware(A100)
    cost = StepCost(m, hw, **options)
    hidden = llmviewer.load_model(m).hidden_size
    for chunk, past, batch, context in [(512, 0, 8, 1000), (256, 1024, 32, 3000), (64, 64, 1, 10)]:
        stats = cost.part_stats([chunk], [past]) + cost.part_stats([1.0], [context]) * batch
        x = cost.features([chunk + batch], [batch + 1], stats)
        ref = serving.chunked_prefill_pass(m, hw, chunk, batch, past, context, **options)["time_mixed"]
        rows = batch * hidden * 2 / hw.memory_bandwidth  # the decode tokens' embedding rows (memory-bound)
        assert float(cost.time(x[:, 0])) == pytest.approx(ref + rows, rel=1e-12)


@pytest.mark.parametrize("model", ["Llama-3.2-1B", "Mistral-7B-v0.1"])
def test_a_run_of_decode_steps_equals_the_steps_one_by_one(model):
    cost = StepCost(model, A100, **SERVING)
    cached = np.array([10, 500, 4090, 4096, 7000])  # across Mistral's 4096-token window
    x, dt = cost.decode_run(cached, 12)
    one = [cost.time(cost.features([5], [5], cost.part_stats(np.ones(5), cached + j).sum(2, keepdims=True)))[0]
           for j in range(12)]  # fmt: skip
    np.testing.assert_allclose(dt, one, rtol=1e-12)


# --------------------------------------------------------------------------- queueing theory


def test_one_request_in_flight_is_an_md1_queue():
    """Max batch 1, fixed lengths, Poisson arrivals: the service time is deterministic (the engine's prefill
    plus decode steps of one request) and the mean wait is Pollaczek-Khinchine's rho S / (2 (1 - rho))."""
    prompt, output, rho, n = 256, 32, 0.5, 10_000
    service = float(llmviewer.generate(SMALL, A100, 1, prompt, output, **SERVING).total_time)
    r = simulate(SMALL, A100, Workload(requests=n, rate=rho / service, prompt=prompt, output=output, seed=1),
                 SchedulerConfig(max_batch=1))  # fmt: skip
    req = r.requests
    np.testing.assert_allclose(req["finish"] - req["first_scheduled"], service, rtol=1e-9)
    wait = req["queue"].to_numpy()
    theory = md1_mean_wait(rho, service)
    batches = wait.reshape(20, -1).mean(axis=1)  # batch means: waits are correlated, batches nearly not
    stderr = batches.std(ddof=1) / math.sqrt(batches.size)
    assert stderr < 0.1 * theory  # the test has the power to fail
    assert abs(wait.mean() - theory) < 4 * stderr
    # an M/D/1 wait differs from an M/M/1 one (twice as long): the simulation tells them apart
    assert abs(wait.mean() - 2 * theory) > 10 * stderr


@pytest.mark.parametrize("priority", ["prefill", "decode"])
def test_throughput_at_saturation_equals_static_batching(priority):
    batch, prompt, output, n = 16, 128, 256, 160
    static = float(llmviewer.generate(SMALL, A100, batch, prompt, output, **SERVING).throughput)
    sched = SchedulerConfig(max_batch=batch, priority=priority)
    at_once = make_requests(np.zeros(n), np.full(n, prompt), np.full(n, output))
    assert simulate(SMALL, A100, at_once, sched).summary.throughput == pytest.approx(static, rel=1e-9)
    # Poisson far above capacity: the steady part runs at the static batch's throughput
    r = simulate(SMALL, A100, Workload(requests=3 * n, rate=1e4, prompt=prompt, output=output), sched)
    finish = np.sort(r.requests["finish"].to_numpy())
    q1, q3 = 3 * n // 4, 9 * n // 4
    steady = (q3 - q1) * output / (finish[q3] - finish[q1])
    assert steady == pytest.approx(static, rel=0.03)


LITTLE_CASES = {
    "chunked": (Workload(requests=600, rate=12, prompt=Lengths.lognormal(800), output=Lengths.uniform(1, 300)),
                SchedulerConfig(max_batch=32, chunk=256), Deployment()),
    "whole prompts": (Workload(requests=600, rate=12, prompt=700, output=100), SchedulerConfig(max_batch=64),
                      Deployment()),
    "bursty": (Workload(requests=600, rate=15, arrival="gamma", cv=3, prompt=512, output=128),
               SchedulerConfig(chunk=512), Deployment()),
    "preempting": (Workload(requests=300, rate=40, prompt=1500, output=400),
                   SchedulerConfig(chunk=512, kv_blocks=1500), Deployment()),
    "reserving": (Workload(requests=300, rate=40, prompt=1500, output=400),
                  SchedulerConfig(chunk=512, kv_blocks=1500, preemption="reserve"), Deployment()),
    "prefix cache": (Workload(requests=400, rate=20, prompt=2000, output=64),
                     SchedulerConfig(chunk=1024, prefix_hit_rate=0.5), Deployment()),
    "replicas, pipeline": (Workload(requests=600, rate=30, prompt=512, output=128), SchedulerConfig(chunk=512),
                           Deployment(tensor_parallel=2, pipeline_parallel=2, replicas=2)),
    "disaggregated": (Workload(requests=600, rate=20, prompt=1024, output=Lengths.uniform(1, 200)),
                      SchedulerConfig(chunk=512), Deployment(prefill_replicas=1, decode_replicas=2)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(LITTLE_CASES))
def test_littles_law_and_kv_capacity_hold_on_every_run(case):
    workload, sched, dep = LITTLE_CASES[case]
    r = simulate(SMALL, A100, workload, sched, dep)
    mean_in_system, rate_x_time = little(r)
    assert mean_in_system == pytest.approx(rate_x_time, rel=1e-9)
    occ = r.occupancy
    assert occ["in_system"].min() >= 0 and occ["in_system"].iloc[-1] == 0
    req = r.requests
    assert req["finish"].notna().all() and (req["e2e"] >= req["ttft"]).all() and (req["ttft"] > 0).all()
    assert (req["queue"] >= 0).all()
    ts = r.timeseries
    for pool, blocks in r.kv_blocks.items():
        assert ts.loc[ts["pool"].isin([pool, "serve"]), "kv_blocks"].max() <= blocks
    assert (ts["tokens"] <= sched.token_budget).all() or sched.chunk is None
    assert (ts["seqs"] <= sched.max_batch).all()
    if case == "preempting":
        assert r.summary.preemptions > 0 and ts["kv_fraction"].max() > 0.95
    if case == "reserving":
        assert r.summary.preemptions == 0


def test_decode_runs_equal_single_steps(monkeypatch):
    """Timing many decode steps as one array changes nothing: the same run, one step at a time."""
    workload = Workload(requests=150, rate=30, prompt=Lengths.lognormal(900), output=Lengths.lognormal(200))
    sched = SchedulerConfig(max_batch=48, chunk=512, kv_blocks=1200)
    fast = simulate("Mistral-7B-v0.1", A100, workload, sched)
    monkeypatch.setattr(scheduler_module, "MAX_RUN", 1)
    slow = simulate("Mistral-7B-v0.1", A100, workload, sched)
    assert fast.summary.preemptions > 0  # the blocks run out inside runs
    cols = ["first_scheduled", "first_token", "finish", "preemptions"]
    pd.testing.assert_frame_equal(fast.requests[cols], slow.requests[cols], rtol=1e-9)
    pd.testing.assert_frame_equal(fast.timeseries, slow.timeseries, rtol=1e-9)


def test_same_seed_same_result_other_seed_other_result():
    w = Workload(requests=300, rate=10, prompt=Lengths.lognormal(512), output=Lengths.lognormal(128), seed=7)
    sched = SchedulerConfig(max_batch=32, chunk=256)
    a, b = simulate(SMALL, A100, w, sched), simulate(SMALL, A100, w, sched)
    pd.testing.assert_frame_equal(a.requests, b.requests)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    c = simulate(SMALL, A100, Workload(**{**w.__dict__, "seed": 8}), sched)
    assert not np.array_equal(a.requests["arrival"], c.requests["arrival"])
    # common random numbers: another rate keeps the lengths
    d = w.with_rate(20).sample()
    np.testing.assert_array_equal(d.prompt_len, w.sample().prompt_len)


def test_chunked_prefill_lowers_the_tail_of_tpot_under_load():
    """Long prompts under load: a whole 4096-token prefill stalls every running decode for one long step (or,
    prefill first, several); chunks of 512 ride along with the decodes instead (Sarathi-Serve)."""
    w = Workload(requests=400, rate=6.0, prompt=4096, output=128, seed=3)
    whole = simulate("Llama-3.1-8B", "H100", w, SchedulerConfig(max_batch=64)).summary
    mixed = simulate("Llama-3.1-8B", "H100", w, SchedulerConfig(max_batch=64, priority="decode")).summary
    chunked = simulate("Llama-3.1-8B", "H100", w, SchedulerConfig(max_batch=64, chunk=512)).summary
    assert chunked.tpot.p99 < 0.7 * whole.tpot.p99
    assert chunked.tpot.p99 < 0.7 * mixed.tpot.p99
    assert chunked.request_throughput == pytest.approx(whole.request_throughput, rel=0.05)  # below capacity


def test_twenty_thousand_requests_simulate():
    """The scale the issue asks for (its time is measured in benchmarks/bench_simulator.py)."""
    w = Workload(requests=20_000, rate=40, prompt=Lengths.lognormal(512), output=Lengths.lognormal(64))
    r = simulate(SMALL, A100, w, SchedulerConfig(max_batch=128, chunk=512), slo=SLO(ttft=0.5, tpot=0.05))
    s = r.summary
    assert s.requests == 20_000 and r.requests["finish"].notna().all()
    assert s.request_throughput == pytest.approx(40, rel=0.05)
    assert 0 < s.goodput <= s.request_throughput
    json.dumps(r.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- pieces


def test_kv_capacity_is_the_memory_left_after_weights_and_activations():
    sched = SchedulerConfig(chunk=2048)
    cap = kv_capacity("Llama-3.1-8B", "H100", sched)
    fp = llmviewer.memory_footprint("Llama-3.1-8B", 1, 2048, **SERVING)
    per_block = 16 * 2 * 32 * 8 * 128 * 2  # 16 tokens x (K, V) x layers x KV heads x head dim x 2 bytes
    assert cap["blocks"] == math.floor((0.9 * 80e9 - fp["weights"] - fp["activations"]) / per_block)
    tp2 = kv_capacity("Llama-3.1-8B", "H100", sched, tensor_parallel=2)
    assert tp2["blocks"] > 2 * cap["blocks"]  # half the weights and half the KV per device
    with pytest.raises(LLMViewerError, match="does not fit"):
        simulate("Llama-3.1-70B", "H100", Workload(requests=5, rate=1))


def test_disaggregated_first_token_is_the_lone_prefill_and_the_kv_crosses_the_link():
    w = Workload(requests=50, rate=0.5, prompt=2048, output=64)
    r = simulate(SMALL, A100, w, SchedulerConfig(chunk=4096), Deployment(prefill_replicas=1, decode_replicas=1))
    prefill = float(llmviewer.generate(SMALL, A100, 1, 2048, 1, **SERVING).ttft)
    lone = r.requests["queue"] == 0
    np.testing.assert_allclose(r.requests.loc[lone, "ttft"], prefill, rtol=1e-9)
    m = llmviewer.load_model(SMALL)
    kv = 2 * m.num_layers * m.num_kv_heads * m.head_dim * 2 * 2048
    hw = llmviewer.load_hardware(A100)
    np.testing.assert_allclose(r.requests["transfer"], kv / hw.interconnect_bandwidth, rtol=1e-12)
    assert (r.timeseries.loc[r.timeseries["pool"] == "decode", "prefill_tokens"] == 0).all()


def test_pools_of_a_disaggregated_system_alone():
    w = Workload(requests=300, rate=20, prompt=1024, output=Lengths.uniform(2, 100))
    pre = simulate_pool(SMALL, A100, w, "prefill", SchedulerConfig(chunk=512))
    dec = simulate_pool(SMALL, A100, w, "decode", SchedulerConfig(max_batch=64))
    for r in (pre, dec):
        assert little(r)[0] == pytest.approx(little(r)[1], rel=1e-9)
    assert (pre.requests["finish"] == pre.requests["first_token"]).all()
    assert (dec.requests["ttft"] == 0).all() and (dec.timeseries["prefill_tokens"] == 0).all()
    # the decode pool's TPOT carries the KV transfer
    assert (dec.requests["tpot"] * (dec.requests["output_len"] - 1) >= dec.requests["transfer"]).all()


def test_prefix_cache_hits_shorten_the_first_token():
    w = Workload(requests=50, rate=0.5, prompt=4000, output=16)
    cold = simulate(SMALL, A100, w, SchedulerConfig(chunk=8192)).summary.ttft.p50
    warm = simulate(SMALL, A100, w, SchedulerConfig(chunk=8192, prefix_hit_rate=0.75)).summary.ttft.p50
    assert warm < 0.5 * cold


def test_summary_is_strict_json_with_reasons_for_what_does_not_exist():
    r = simulate(SMALL, A100, Workload(requests=20, rate=1, prompt=100, output=1))
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert d["tpot"]["p99"] is None and "one token" in d["tpot"]["reason"]
    assert d["goodput"] is None and "SLO" in d["goodput_reason"]
    for key in ("ttft", "tpot", "e2e", "queue"):
        assert set(d[key]) >= {"mean", "p50", "p90", "p99"}
    assert "NaN" not in text and "Infinity" not in text


def test_bad_input_raises_llmviewer_errors():
    for make in (
        lambda: Workload(requests=10, rate=-1),
        lambda: Workload(requests=0, rate=1),
        lambda: Workload(requests=10),
        lambda: Workload(requests=10, rate=1, arrival="gamma", cv=0),
        lambda: SchedulerConfig(max_batch=0),
        lambda: SchedulerConfig(priority="fifo"),
        lambda: SchedulerConfig(prefix_hit_rate=1.0),
        lambda: Deployment(prefill_replicas=1),
        lambda: SLO(ttft=-1),
        lambda: Lengths.uniform(10, 5),
        lambda: simulate(SMALL, A100, Workload(requests=5, rate=1), unknown_option=1),
        lambda: simulate(SMALL, A100, Workload(requests=3, rate=1, prompt=10**6), SchedulerConfig(kv_blocks=100)),
        lambda: simulate("Llama-3.1-8B", A100, Workload(requests=3, rate=1), deployment=Deployment(tensor_parallel=3)),
    ):
        with pytest.raises(LLMViewerError):
            make()


# --------------------------------------------------------------------------- traces


def test_sample_trace_is_what_its_recipe_makes(tmp_path):
    recipe = Workload(requests=500, rate=4.0, arrival="gamma", cv=2.0,
                      prompt=Lengths.lognormal(1024, 0.8, low=16, high=8192),
                      output=Lengths.lognormal(256, 0.8, low=1, high=2048), seed=2024).sample()  # fmt: skip
    shipped = load_trace(TRACE)
    np.testing.assert_allclose(shipped.arrival, recipe.arrival, atol=1e-6)
    np.testing.assert_array_equal(shipped.prompt_len, recipe.prompt_len)
    np.testing.assert_array_equal(shipped.output_len, recipe.output_len)
    # JSONL with other column names reads the same
    path = tmp_path / "t.jsonl"
    rows = zip(shipped.arrival, shipped.prompt_len, shipped.output_len, strict=True)
    path.write_text("".join(json.dumps({"timestamp": a, "input_length": int(p), "output_tokens": int(o)}) + "\n"
                            for a, p, o in rows))  # fmt: skip
    back = load_trace(path)
    np.testing.assert_array_equal(back.prompt_len, shipped.prompt_len)
    save_trace(back, tmp_path / "again.csv")
    np.testing.assert_allclose(load_trace(tmp_path / "again.csv").arrival, back.arrival, atol=1e-6)


def test_trace_rate_rescaling_and_simulation():
    w = Workload(trace=str(TRACE), rate=8.0, requests=200)
    reqs = w.sample()
    assert len(reqs) == 200
    assert (len(reqs) - 1) / (reqs.arrival[-1] - reqs.arrival[0]) == pytest.approx(8.0)
    r = simulate(SMALL, A100, w, SchedulerConfig(chunk=1024))
    assert r.summary.requests == 200
    assert little(r)[0] == pytest.approx(little(r)[1], rel=1e-9)


@pytest.mark.parametrize(
    "content, line",
    [
        ("arrival_time,prompt_len,output_len\n0.1,100,10\n0.2,abc,5\n", 3),
        ("arrival_time,prompt_len,output_len\n0.1,100,10\n\n0.3,100,0\n", 4),
        ("arrival_time,prompt_len,output_len\n0.1,100\n", 2),
        ("arrival_time,prompt_len\n0.1,100\n", 2),
    ],
)
def test_malformed_trace_names_its_line(tmp_path, content, line):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(LLMViewerError, match=rf"bad.csv:{line}:"):
        load_trace(path)
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"arrival_time": 0, "prompt_len": 5, "output_len": 5}\nnot json\n')
    with pytest.raises(LLMViewerError, match=r"bad.jsonl:2:"):
        load_trace(jsonl)


# --------------------------------------------------------------------------- planning


def test_max_rate_bisects_within_a_bounded_number_of_simulations():
    w = Workload(requests=300, rate=1, prompt=512, output=128)
    slo = SLO(ttft=0.2, tpot=0.01)
    sched = SchedulerConfig(max_batch=64, chunk=512)
    r = max_rate(SMALL, A100, w, slo, sched, iterations=4)
    assert 0 < r.rate <= r.saturation and r.simulations <= 4 + 3 and r.binding in BINDINGS
    check = simulate(SMALL, A100, w.with_rate(r.rate), sched, slo=slo).summary
    assert slo.met_by(check)
    fails = [rate for rate, ok in r.tried if not ok]
    assert all(f > r.rate for f in fails)
    # an objective no load can meet: one prefill of the prompt is longer than the TTFT objective
    none = max_rate(SMALL, A100, w, SLO(ttft=1e-4), sched, iterations=4)
    assert none.rate == 0 and none.binding == "compute" and none.simulations == 2


def test_capacity_table_and_plan():
    w = Workload(requests=200, rate=1, prompt=512, output=64)
    slo = SLO(ttft=0.3, tpot=0.02)
    sched = SchedulerConfig(max_batch=64, chunk=512)
    table = capacity_table("Llama-3.1-8B", "H100", w, slo, 60, sched, (1, 2, 3), iterations=2)
    assert set(table["mode"]) == {"aggregated", "disaggregated"}
    bad = table[table["tp"] == 3]
    assert bad["devices"].isna().all() and bad["reason"].str.contains("does not divide").all()
    good = table[table["devices"].notna()]
    assert (good["devices"] >= 1).all() and good["binding"].isin(BINDINGS).all()
    assert list(good["devices"]) == sorted(good["devices"])
    plan = plan_capacity("Llama-3.1-8B", "H100", w, slo, 60, sched, (1, 2), iterations=2)
    assert plan.devices == good["devices"].min() and plan.deployment.devices == plan.devices
    assert plan.meets is not None
    json.dumps(plan.to_dict(), allow_nan=False)


def test_latency_vs_rate_sweep():
    df = latency_vs_rate(SMALL, A100, Workload(requests=200, rate=1, prompt=2048, output=64), [2, 20, 60])
    assert list(df["variant"].unique()) == ["chunked prefill 512", "no chunking"]
    assert len(df) == 6 and {"ttft_p50", "ttft_p99", "tpot_p99", "throughput"} <= set(df.columns)
    for _, g in df.groupby("variant"):
        assert g["ttft_p99"].is_monotonic_increasing
        assert g["throughput"].is_monotonic_increasing


# --------------------------------------------------------------------------- command line


def test_cli_serve_under_load_json(capsys):
    assert run(["serve", SMALL, A100, "--rate", "5", "--requests", "200", "--prompt-len", "512", "--gen-len", "64",
                "--max-batch", "32", "--chunked-prefill", "256", "--seed", "3", "--slo-ttft", "0.5",
                "--slo-tpot", "0.05", "--json", "--quiet"]) == 0  # fmt: skip
    d = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    for key in ("ttft", "tpot", "e2e", "queue"):
        assert set(d[key]) == {"mean", "p50", "p90", "p99"} and all(isinstance(v, float) for v in d[key].values())
    assert d["throughput"] > 0 and 0 < d["goodput"] <= d["request_throughput"]
    assert d["config"]["scheduler"]["chunk"] == 256 and d["config"]["workload"]["seed"] == 3


def test_cli_serve_under_load_text_trace_and_tp(capsys):
    assert run(["serve", "Llama-3.1-8B", "H100", "--trace", str(TRACE), "--requests", "100", "--tp", "2",
                "--calibrated", "--quiet"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "TTFT" in out and "p99" in out and "trace" in out and "calibrated (serving)" in out
    assert "Little's law" in out


def test_cli_static_serve_unchanged_and_load_errors(capsys):
    assert run(["serve", SMALL, A100, "--batchsize", "4"]) == 0
    assert "time to first token" in capsys.readouterr().out
    for argv, msg in [
        (["--max-batch", "4"], "add --rate"),
        (["--rate", "-1"], "positive number"),
        (["--rate", "1", "--requests", "0"], "positive integer"),
        (["--rate", "1", "--devices", "2"], "static"),
    ]:
        with pytest.raises(LLMViewerError, match=msg):
            run(["serve", SMALL, A100, *argv])


def test_cli_exit_status_two_with_line_number(tmp_path, capsys):
    from llmviewer.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text("arrival_time,prompt_len,output_len\n0,10,10\n1,-5,10\n")
    with pytest.raises(SystemExit) as e:
        main(["serve", SMALL, A100, "--trace", str(bad)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.csv:3" in err


def test_cli_plan(capsys):
    common = [SMALL, A100, "--slo-ttft", "0.2", "--slo-tpot", "0.01", "--requests", "200", "--gen-len", "64",
              "--max-batch", "32", "--chunked-prefill", "512", "--iterations", "2", "--quiet"]  # fmt: skip
    assert run(["plan", *common, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["rate"] > 0 and d["binding"] in BINDINGS
    assert run(["plan", *common, "--target-rate", "100", "--tp-choices", "1,2", "--no-disaggregated"]) == 0
    out = capsys.readouterr().out
    assert "fewest devices" in out and "aggregated" in out
    with pytest.raises(LLMViewerError, match="SLO"):
        run(["plan", SMALL, A100])


# --------------------------------------------------------------------------- published curves


def test_published_serving_curves_are_well_formed():
    curves = pd.read_csv(Path(llmviewer.__file__).parent / "data" / "measurements" / "serving_curves.csv",
                         dtype={"load": str})  # fmt: skip
    assert curves["source_url"].str.startswith("https://").all()
    assert set(curves["load_kind"]) == {"request_rate", "concurrency"}
    assert curves["model_config"].isin(llmviewer.shipped_models()).all()
    assert curves["device"].isin(llmviewer.hardware_library()).all()
    for _, g in curves.groupby("curve_id"):
        assert len(g) >= 5 and g["request_throughput"].is_monotonic_increasing
    # a spot check against the source table: Llama-3.1-8B, H100, 467 in / 256 out, QPS 32
    row = curves[(curves["curve_id"] == "trtllm_0.14_Llama-3.1-8B_H100-SXM5-80GB_tp1_467in_256out")
                 & (curves["load"] == "32")].iloc[0]  # fmt: skip
    assert (row["request_throughput"], row["mean_ttft_ms"], row["mean_itl_ms"], row["output_throughput_tok_s"]) == (
        26, 50, 19, 6774)  # fmt: skip


def test_all_at_once_and_closed_loop():
    w = Workload(requests=64, rate=math.inf, prompt=128, output=32)
    assert (w.sample().arrival == 0).all() and w.to_dict()["rate"] == "inf"
    df = concurrency_sweep(SMALL, A100, 128, 32, [1, 4], requests=40)
    assert list(df["concurrency"]) == [1, 4]
    assert df["request_throughput"].is_monotonic_increasing
    one = float(llmviewer.generate(SMALL, A100, 1, 128, 32, **SERVING).total_time)
    assert df["request_throughput"].iloc[0] == pytest.approx(1 / one, rel=1e-9)  # one at a time: 1 / service time


def test_knee_rates_and_the_load_explorer_select_the_engines_rows():
    from llmviewer.techniques.loadsim import knee_rates
    from llmviewer.viz.load_explorer import load_explorer

    w = Workload(requests=200, rate=1, prompt=256, output=32, seed=0)
    table = latency_vs_rate(SMALL, A100, w, [1, 5, 400], variants={"one": SchedulerConfig(max_batch=1)})
    knee = knee_rates(table)["one"]
    last = table.iloc[-1]
    assert knee == last["request_throughput"] < 0.95 * last["rate"]
    assert math.isnan(knee_rates(table[table["rate"] < 10])["one"])
    layout, data = load_explorer(table)
    np.testing.assert_allclose(data["ttft_p99"], table["ttft_p99"] * 1e3)
    assert layout.select_one({"name": "load-curve"}).data["rate"] == [1.0, 5.0, 400.0]
    chosen = layout.select_one({"name": "load-chosen"}).data  # the middle rate, before any interaction
    assert chosen["rate"] == [5.0] and chosen["ttft_p99"] == [pytest.approx(table["ttft_p99"].iloc[1] * 1e3)]


def test_compare_serving_curve_sets_the_simulation_beside_the_published_points():
    from llmviewer.techniques.loadsim import compare_serving_curve, serving_curves

    cid = "trtllm_0.14_Llama-3.1-8B_H100-SXM5-80GB_tp1_467in_16out"
    t = compare_serving_curve(cid, {"pure": None}, requests=50)
    published = serving_curves().query("curve_id == @cid")
    assert t["qps"].tolist() == [2.0, 4.0, 8.0, 16.0, 32.0]  # the INF point is left out
    np.testing.assert_array_equal(t["measured_ttft_ms"], published["mean_ttft_ms"].iloc[:5])
    w = Workload(requests=50, rate=1.0, prompt=467, output=16, seed=0)
    sim = latency_vs_rate("Llama-3.1-8B", "H100-SXM5-80GB", w, [4.0], {"x": SchedulerConfig()})
    assert t.loc[1, "pure_ttft_ms"] == pytest.approx(sim["ttft_mean"].iloc[0] * 1e3, rel=1e-12)
    assert t.loc[1, "pure_ttft_err"] == pytest.approx(t.loc[1, "pure_ttft_ms"] / t.loc[1, "measured_ttft_ms"] - 1)
    with pytest.raises(LLMViewerError):
        compare_serving_curve("no such curve")


def test_md1_mean_wait_is_pollaczek_khinchine():
    """rho S / (2 (1 - rho)): at rho = 0.5 the mean wait is half a service time, at 0.9 4.5 of them."""
    assert md1_mean_wait(0.5, 2.0) == pytest.approx(1.0)
    assert md1_mean_wait(0.9, 1.0) == pytest.approx(4.5)
    for rho, service in ((1.0, 1.0), (0.0, 1.0), (0.5, -1.0), (float("nan"), 1.0)):
        with pytest.raises(LLMViewerError, match="rho|service"):
            md1_mean_wait(rho, service)
