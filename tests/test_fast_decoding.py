"""Fast decoding (speculative, Medusa, early exit) and MoE routing: closed forms checked
against brute-force sums, exact enumeration, Monte Carlo, and independent engine paths."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import llmviewer
from llmviewer.engine.graph import parameter_count
from llmviewer.engine.operators import expected_experts_touched
from llmviewer.specs.workload import make_pass
from llmviewer.techniques import moe
from llmviewer.techniques import speculative as sp
from llmviewer.viz.moe_explorer import moe_explorer, moe_table
from llmviewer.viz.speculation_explorer import speculation_table

TARGET, DRAFT, HW = "Llama-3.1-8B", "Llama-3.2-1B", "H100-SXM5-80GB"


def brute_tokens(alpha, gamma):
    # n drafted tokens accepted (n < gamma: first rejection at n+1), then one token from the target
    probs = [alpha**n * (1 - alpha) for n in range(gamma)] + [alpha**gamma]
    assert sum(probs) == pytest.approx(1)
    return sum(p * (n + 1) for n, p in enumerate(probs))


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.75, 0.95])
@pytest.mark.parametrize("gamma", [1, 2, 5, 12])
def test_expected_tokens_is_the_mean_of_the_acceptance_distribution(alpha, gamma):
    assert sp.expected_tokens_per_step(alpha, gamma) == pytest.approx(brute_tokens(alpha, gamma))


def test_expected_tokens_monte_carlo():
    rng = np.random.default_rng(0)
    alpha, gamma = 0.7, 4
    accepted = np.cumprod(rng.random((200_000, gamma)) < alpha, axis=1).sum(axis=1)
    assert (accepted + 1).mean() == pytest.approx(sp.expected_tokens_per_step(alpha, gamma), rel=0.01)


@pytest.mark.parametrize("batch,context,gamma", [(1, 512, 3), (16, 2000, 5), (64, 100, 1)])
def test_speculative_step_is_the_sum_of_its_passes(batch, context, gamma):
    hw = llmviewer.load_hardware(HW)
    s = sp.speculative_decoding(TARGET, DRAFT, HW, 0.8, gamma, batch_size=batch, context=context)
    draft = llmviewer.load_model(DRAFT)
    steps = [make_pass(batch, 1, context + j, 1, absorb_mla=True) for j in range(gamma)]
    assert s.draft_time == pytest.approx(sum(llmviewer.evaluate_pass(draft, hw, p).time for p in steps))
    verify = make_pass(batch, gamma + 1, context, gamma + 1, absorb_mla=True)
    res = llmviewer.evaluate_pass(llmviewer.load_model(TARGET), hw, verify)
    assert s.verify_time == pytest.approx(res.time)
    m = llmviewer.load_model(TARGET)
    assert res.layer("lm_head")["OPs"] == 2 * batch * (gamma + 1) * m.hidden_size * m.vocab_size
    plain = llmviewer.analyze(TARGET, HW, batch_size=batch, seqlen=context, stages=("decode",)).decode.time
    assert s.baseline_time_per_token == pytest.approx(plain)
    assert s.speedup == pytest.approx(brute_tokens(0.8, gamma) * plain / (s.draft_time + s.verify_time))


def test_speculative_vectorised_equals_scalar_calls():
    alpha, gamma, batch = np.array([0.5, 0.9]), np.array([1, 4, 8]), np.array([1, 32])
    s = sp.speculative_decoding(TARGET, DRAFT, HW, alpha[:, None, None], gamma[None, :, None], batch[None, None, :])
    for (i, a), (j, g), (k, b) in itertools.product(enumerate(alpha), enumerate(gamma), enumerate(batch)):
        one = sp.speculative_decoding(TARGET, DRAFT, HW, float(a), int(g), batch_size=int(b))
        assert s.speedup[i, j, k] == pytest.approx(one.speedup)


def test_memory_bound_verification_is_almost_free_and_useless_drafts_cost():
    s = sp.speculative_decoding(TARGET, DRAFT, HW, 0.0, 4, batch_size=1)
    # batch 1 is memory-bound: 5 tokens cost about the weight reads of 1
    assert 1 < s.verify_time / s.baseline_time_per_token < 1.1
    assert s.tokens_per_step == 1 and s.speedup < 1  # nothing accepted: drafting is pure overhead


def test_best_gamma_is_the_argmax_of_a_scan():
    for alpha in (0.6, 0.9):
        scan = [sp.speculative_decoding(TARGET, DRAFT, HW, alpha, g).speedup for g in range(1, 11)]
        best, value = sp.best_gamma(TARGET, DRAFT, HW, alpha, max_gamma=10)
        assert best == int(np.argmax(scan)) + 1 and value == pytest.approx(max(scan))


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"alpha": 1.0}, r"alpha must be a probability in \[0, 1\)"),
        ({"alpha": -0.1}, "alpha must be a probability"),
        ({"alpha": "high"}, "alpha must be a probability"),
        ({"gamma": 0}, "gamma must be a positive integer"),
        ({"gamma": 2.5}, "gamma must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"bogus": 1}, "unknown option"),
    ],
)
def test_bad_speculative_input(kw, message):
    args = {"alpha": 0.8, "gamma": 4, **kw}
    with pytest.raises(llmviewer.LLMViewerError, match=message):
        sp.speculative_decoding(TARGET, DRAFT, HW, **args)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "llmviewer", *args], capture_output=True, text=True, check=False)


def test_cli_speculative_matches_python():
    r = _cli("speculative", "Llama-3.1-70B", DRAFT, "H200", "--alpha", "0.8", "--gamma", "5", "--batchsize", "4",
             "--seqlen", "2048", "--w_bit", "4", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    py = sp.speculative_decoding("Llama-3.1-70B", DRAFT, "H200", 0.8, 5, batch_size=4, context=2048, w_bit=4)
    assert out["speedup"] == pytest.approx(py.speedup) and out["tokens_per_step"] == pytest.approx(py.tokens_per_step)
    text = _cli("speculative", TARGET, DRAFT, "H100", "--alpha", "0.7", "--gamma", "3")
    assert text.returncode == 0 and "speed-up" in text.stdout


@pytest.mark.parametrize(
    "args,message",
    [(["--alpha", "1.2", "--gamma", "4"], "alpha must be"), (["--alpha", "0.5", "--gamma", "0"], "gamma must be")],
)
def test_cli_speculative_bad_input(args, message):
    r = _cli("speculative", TARGET, DRAFT, "H100", *args)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- Medusa, early exit


def test_medusa_cost_is_verification_plus_heads():
    m = llmviewer.load_model(TARGET)
    k = 3
    assert sp.medusa_parameters(TARGET, k) == k * (m.hidden_size**2 + m.hidden_size + m.hidden_size * m.vocab_size)
    r = sp.medusa_decoding(TARGET, HW, 0.6, heads=k, batch_size=2)
    hw = llmviewer.load_hardware(HW)
    verify = llmviewer.evaluate_pass(m, hw, make_pass(2, k + 1, 1024, k + 1, absorb_mla=True)).time
    assert r["step_time"] - r["heads_time"] == pytest.approx(verify)
    # the heads at batch 2 are memory-bound: their time is their weight bytes over bandwidth
    head_bytes = 2 * sp.medusa_parameters(TARGET, k)
    assert r["heads_time"] == pytest.approx(head_bytes / hw.memory_bandwidth, rel=0.02)
    assert r["tokens_per_step"] == pytest.approx(brute_tokens(0.6, k))


@pytest.mark.parametrize("layers,batch", [(3, 1), (4, 3), (5, 2)])
def test_expected_layers_run_by_enumeration(layers, batch):
    rng = np.random.default_rng(layers * 10 + batch)
    pmf = rng.random(layers)
    pmf /= pmf.sum()
    exact = sum(
        np.prod([pmf[e] for e in exits]) * (max(exits) + 1) for exits in itertools.product(range(layers), repeat=batch)
    )
    assert sp.expected_layers_run(pmf, batch) == pytest.approx(exact)


def test_early_exit_cost():
    m = llmviewer.load_model(TARGET)
    no_exit = np.zeros(m.num_layers)
    no_exit[-1] = 1
    assert sp.early_exit(TARGET, HW, no_exit)["speedup"] == pytest.approx(1)
    half = np.zeros(m.num_layers)
    half[m.num_layers // 2 - 1] = 1  # every token leaves after half the blocks
    r = sp.early_exit(TARGET, HW, half, batch_size=np.array([1, 8]))
    assert np.allclose(r["step_time"], r["head_time"] + r["blocks_time"] / 2)
    pmf = sp.geometric_exit_pmf(m.num_layers, 0.1, min_layers=8)
    assert pmf.sum() == pytest.approx(1) and pmf[:7].sum() == 0
    deeper = sp.early_exit(TARGET, HW, pmf, batch_size=np.array([1, 4, 64]))["expected_layers"]
    assert np.all(np.diff(deeper) > 0)  # a batch waits for its deepest sequence
    with pytest.raises(llmviewer.LLMViewerError, match="sum to 1"):
        sp.early_exit(TARGET, HW, np.full(m.num_layers, 0.5))


# --------------------------------------------------------------------------- MoE


@pytest.mark.parametrize("experts,k", [(8, 2), (64, 4), (256, 8)])
def test_uniform_routing_matches_the_engine(experts, k):
    tokens = np.array([1, 3, 16, 256])
    got = moe.expected_distinct_experts(tokens, moe.zipf_popularity(experts, 0), k)
    assert np.allclose(got, expected_experts_touched(tokens, experts, k))


def test_top1_skewed_routing_monte_carlo():
    rng = np.random.default_rng(1)
    p = moe.zipf_popularity(16, 1.2)
    for tokens in (4, 32):
        picks = rng.choice(16, size=(20_000, tokens), p=p)
        distinct = np.mean([len(set(row)) for row in picks])
        assert moe.expected_distinct_experts(tokens, p, 1) == pytest.approx(distinct, rel=0.01)


def test_skew_limits_and_inclusion():
    q = moe.inclusion_probabilities(moe.zipf_popularity(8, 3.0), 2)
    assert q.sum() == pytest.approx(2) and q.max() <= 1
    touched = [moe.expected_distinct_experts(64, moe.zipf_popularity(64, s), 6) for s in (0, 0.5, 1, 2, 8)]
    assert np.all(np.diff(touched) < 0)
    assert moe.expected_distinct_experts(64, moe.zipf_popularity(64, 60), 6) == pytest.approx(6, abs=0.01)
    with pytest.raises(llmviewer.LLMViewerError, match="zipf exponent"):
        moe.zipf_popularity(8, -1)


def test_active_parameters():
    assert moe.active_parameters("Llama-3.1-8B") == parameter_count(llmviewer.load_model("Llama-3.1-8B"))
    m = llmviewer.load_model("Mixtral-8x7B-v0.1")
    idle = m.num_layers * (m.num_experts - m.experts_per_token) * 3 * m.hidden_size * m.moe_intermediate_size
    assert parameter_count(m) - moe.active_parameters(m) == idle


@pytest.mark.parametrize("model", ["Mixtral-8x7B-v0.1", "Qwen3-30B-A3B"])
def test_moe_decode_uniform_is_the_engine_and_skew_reads_less(model):
    batch = np.array([1, 8, 64])
    r = moe.moe_decode(model, HW, batch_size=batch, context=1024)
    engine = llmviewer.analyze(model, HW, batch_size=batch, seqlen=1024, stages=("decode",)).decode
    assert np.allclose(r["step_time"], engine.time)
    assert np.allclose(r["weight_bytes"], engine.total["load_weight"])
    m = llmviewer.load_model(model)
    skew = moe.moe_decode(model, HW, batch_size=batch, context=1024, zipf_s=1.0)
    saved = (r["experts_touched"] - skew["experts_touched"]) * 3 * m.hidden_size * m.moe_intermediate_size * 2
    assert np.allclose(r["weight_bytes"] - skew["weight_bytes"], saved * m.num_moe_layers, atol=1e3)  # bytes
    assert np.all(skew["step_time"] <= r["step_time"])


def test_explorer_table_rows_are_where_the_javascript_looks():
    pairs, devices, alphas, gammas, batches = [(TARGET, DRAFT)], [HW, "A100"], (0.6, 0.8), (1, 2, 3), (1, 16)
    precisions = {"W16A16": {}, "W4A16": {"w_bit": 4}}
    t = speculation_table(pairs, devices, alphas, gammas, batches, precisions)
    d, q, b, a = 1, 1, 1, 0  # the offset formula of the explorer's CustomJS
    o = ((((0 * len(devices) + d) * len(precisions) + q) * len(batches) + b) * len(alphas) + a) * len(gammas)
    rows = t.iloc[o : o + len(gammas)]
    direct = sp.speculative_decoding(TARGET, DRAFT, "A100", 0.6, np.array(gammas), batch_size=16, w_bit=4)
    assert np.allclose(rows["speedup"], direct.speedup) and list(rows["gamma"]) == list(gammas)


# ------------------------------------------------------------- contextual sparsity, lookahead, MoE explorer


@pytest.mark.parametrize("batch", [1, 8, 64])
def test_dense_fractions_without_predictor_are_the_dense_step(batch):
    from llmviewer.techniques import sparsity

    r = sparsity.contextual_sparsity_decode(TARGET, HW, 1.0, 1.0, rank=0, batch_size=batch, context=1024)
    engine = llmviewer.analyze(TARGET, HW, batch_size=batch, seqlen=1024, stages=("decode",)).decode
    assert r["predictor_time"] == 0 and np.isclose(r["step_time"], engine.time) and np.isclose(r["speedup"], 1)


def test_sparse_step_falls_with_the_active_fraction_at_batch_1():
    from llmviewer.techniques import sparsity

    times = [
        sparsity.contextual_sparsity_decode(TARGET, HW, f, f, rank=1024, batch_size=1)["step_time"]
        for f in (0.05, 0.1, 0.2, 0.4, 0.7, 1.0)
    ]
    assert np.all(np.diff(times) > 0)
    # the predictor is what f = 1 adds to the dense step
    r = sparsity.contextual_sparsity_decode(TARGET, HW, 1.0, 1.0, rank=1024)
    assert np.isclose(r["step_time"], r["dense_time"] + r["predictor_time"]) and r["predictor_time"] > 0


def test_union_fraction_monte_carlo():
    from llmviewer.techniques import sparsity

    rng = np.random.default_rng(0)
    for f, batch in [(0.1, 1), (0.1, 8), (0.05, 32), (0.3, 4)]:
        active = rng.random((4000, batch, 64)) < f  # trials x tokens x neurons
        estimate = active.any(axis=1).mean()
        assert abs(estimate - sparsity.union_fraction(f, batch)) < 0.01


def test_sparsity_grows_back_with_batch_and_rejects_bad_input():
    from llmviewer.errors import LLMViewerError
    from llmviewer.techniques import sparsity

    m = llmviewer.load_model(TARGET)
    assert sparsity.sparse_model(m, 1.0, 1.0) == m
    small, big = sparsity.sparse_model(m, 0.1, 0.1, 1), sparsity.sparse_model(m, 0.1, 0.1, 256)
    assert small.intermediate_size < big.intermediate_size == m.intermediate_size
    for kw in ({"head_fraction": 0}, {"neuron_fraction": 1.5}, {"rank": -1}, {"batch_size": 0}):
        with pytest.raises(LLMViewerError):
            sparsity.contextual_sparsity_decode(TARGET, HW, **{"head_fraction": 0.5, **kw})
    with pytest.raises(LLMViewerError, match="dense"):
        sparsity.contextual_sparsity_decode("Mixtral-8x7B-v0.1", HW, 0.5, 0.5)


def test_lookahead_step_is_one_verification_pass():
    w, g, n = 5, 4, 3
    accepted = np.array([1.0, 2.0, 3.5])
    r = sp.lookahead_decoding(TARGET, HW, accepted, window=w, ngrams=g, ngram_size=n, batch_size=4, context=512)
    m, hw = llmviewer.load_model(TARGET), llmviewer.load_hardware(HW)
    eff = sp.resolve_efficiency(None)
    assert r["new_tokens"] == w + g * n
    assert np.isclose(r["step_time"], sp.verify_time(m, hw, 4, w + g * n, 512, eff))
    assert np.isclose(r["baseline_time_per_token"], sp.decode_step_time(m, hw, 4, 512, eff))
    assert np.allclose(r["speedup"], r["baseline_time_per_token"] * accepted / r["step_time"])
    assert r["speedup"][0] < 1  # accepting only the target's own token costs the extra work
    with pytest.raises(llmviewer.LLMViewerError):
        sp.lookahead_decoding(TARGET, HW, accepted=n + 2, ngram_size=n)


def test_moe_explorer_rows_are_where_the_javascript_looks():
    models, devices, batches, skews = ["Mixtral-8x7B-v0.1", "Qwen3-30B-A3B"], [HW, "A100"], (1, 8, 64), (0.0, 1.0)
    t = moe_table(models, devices, batches, skews)
    m, d, s = 1, 1, 1  # the offset formula of the explorer's CustomJS
    o = ((m * len(devices) + d) * len(skews) + s) * len(batches)
    rows = t.iloc[o : o + len(batches)]
    direct = moe.moe_decode("Qwen3-30B-A3B", "A100", batch_size=np.array(batches), zipf_s=1.0)
    assert np.allclose(rows["ms_per_token"], direct["time_per_token"] * 1e3)
    assert np.allclose(rows["experts_touched"], direct["experts_touched"]) and list(rows["batch"]) == list(batches)
    layout, table = moe_explorer(models, devices, batches, skews)
    assert len(table) == len(t)


def test_moe_explorer_reads_every_shipped_moe_model():
    """Every shipped MoE model (MLA, hybrids, top-1 with a shared expert, dense layers mixed in) gives the
    explorer finite, positive times that fall with batch size per token, experts touched between top-k and
    the expert count, and a readout without NaN."""
    from llmviewer.viz.lookup import registry_models
    from llmviewer.viz.moe_explorer import _fields

    names = registry_models(lambda m: m.is_moe)
    assert {"gpt-oss-120b", "Llama-4-Maverick-17B-128E-Instruct", "GLM-4.5-Air", "Qwen3.5-35B-A3B"} <= set(names)
    t = moe_table(names, [HW], (1, 64, 1024), (0.0, 1.5))
    numbers = t.select_dtypes("number").to_numpy(float)
    assert np.isfinite(numbers).all() and (t["ms_per_token"] > 0).all()
    for name, rows in t.groupby("model"):
        m = llmviewer.load_model(name)
        touched = rows["experts_touched"]
        assert (touched >= m.experts_per_token - 1e-9).all() and (touched <= m.num_experts).all()
        uniform = rows[rows["zipf_s"] == 0]
        assert np.all(np.diff(uniform["ms_per_token"]) < 0)  # a bigger batch shares the weight reads
    assert not any(re.search(r"\bnan\b|\binf", v, re.I) for vs in _fields(t).values() for v in vs)


def test_moe_cli_reports_the_engines_numbers():
    import json
    import subprocess
    import sys

    from llmviewer.techniques.moe import moe_decode

    run = [sys.executable, "-m", "llmviewer.cli", "moe", "Mixtral-8x7B-v0.1", "H100", "--batchsize", "8", "--zipf", "1"]
    out = json.loads(subprocess.run([*run, "--json"], capture_output=True, text=True, check=True).stdout)
    expected = moe_decode("Mixtral-8x7B-v0.1", "H100", batch_size=8, context=1024, zipf_s=1.0)
    for key in ("experts_touched", "weight_bytes", "step_time", "time_per_token"):
        assert out[key] == pytest.approx(float(expected[key]), rel=1e-12)
    bad = subprocess.run([*run[:-2], "--zipf", "-1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--zipf must be a Zipf exponent" in bad.stderr and "Traceback" not in bad.stderr
    dense = subprocess.run([*run[:4], "Llama-2-7b-hf", "H100"], capture_output=True, text=True)
    assert dense.returncode == 2 and "has no routed experts" in dense.stderr
