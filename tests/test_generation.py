"""generate(): the closed-form sum over decode steps equals the step-by-step sum."""

from __future__ import annotations

import numpy as np
import pytest

import llmviewer
from llmviewer.engine.generation import _sum_affine_max
from llmviewer.specs.workload import stage_passes

TINY_SLIDING = {
    "model_type": "mistral",
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_hidden_layers": 2,
    "vocab_size": 1000,
    "sliding_window": 40,
}
DEVICE = {
    "name": "toy",
    "memory_bandwidth": 1e12,
    "peak_ops": {"fp16": 2e13, "int8": 4e13, "fp32": 1e12},
    "interconnect_bandwidth": 1e11,
}


def stepwise_decode_time(model, hw, batch, prompt, gen, **kw):
    return sum(
        llmviewer.evaluate_pass(model, hw, stage_passes(batch, prompt + j, **kw)[1]).time for j in range(gen - 1)
    )


@pytest.mark.parametrize(
    "a,b,c,d", [(1, 2, 5, 1), (5, -1, 0, 1), (3, 0, 3, 0), (0, 1, 0, 1), (2, 0.5, 1, 0.5), (-1, 3, 10, 0)]
)
@pytest.mark.parametrize("n", [0, 1, 2, 7, 50])
def test_sum_of_max_of_affine_functions(a, b, c, d, n):
    expected = sum(max(a + b * j, c + d * j) for j in range(n))
    assert _sum_affine_max(a, b, c, d, n) == pytest.approx(expected, abs=1e-9)
    arr = _sum_affine_max(np.array([a, a]), b, c, d, np.array([n, n]))
    assert np.allclose(arr, expected)


@pytest.mark.parametrize(
    "model,batch,prompt,gen,kw",
    [
        ("Llama-2-7b-hf", 1, 100, 30, {}),
        ("Llama-2-7b-hf", 64, 500, 20, {"w_bit": 4}),
        ("Llama-2-7b-hf", 512, 4000, 12, {"use_flashattention": True}),
        (TINY_SLIDING, 3, 25, 40, {}),  # crosses the 40-token window mid-generation
        (TINY_SLIDING, 200, 60, 9, {"causal_attention": True}),  # starts past the window
        ("Mixtral-8x7B-v0.1", 8, 64, 10, {}),
        ("DeepSeek-V3", 4, 300, 6, {"w_bit": 8, "a_bit": 8}),
        ("Llama-3.1-70B", 16, 900, 7, {"tensor_parallel": 4, "w_bit": 4, "w_group_size": 128}),
    ],
)
def test_closed_form_matches_step_by_step(model, batch, prompt, gen, kw):
    hw = llmviewer.load_hardware(DEVICE)
    m = llmviewer.load_model(model)
    g = llmviewer.generate(m, hw, batch_size=batch, prompt_len=prompt, gen_len=gen, **kw)
    stepwise = stepwise_decode_time(m, hw, batch, prompt, gen, **kw)
    assert g.decode_time == pytest.approx(stepwise, rel=1e-12)
    prefill = llmviewer.analyze(m, hw, batch_size=batch, seqlen=prompt, **kw).prefill.time
    assert g.ttft == pytest.approx(prefill, rel=1e-12)
    assert g.total_time == pytest.approx(prefill + stepwise, rel=1e-12)
    assert g.throughput == pytest.approx(batch * gen / (prefill + stepwise), rel=1e-12)
    assert g.tpot_mean == pytest.approx(stepwise / (gen - 1), rel=1e-12)


def test_sweep_matches_scalar_calls():
    batch = np.array([1, 16, 256])[:, None]
    prompt = np.array([128, 2048, 8192])[None, :]
    g = llmviewer.generate("Llama-2-7b-hf", DEVICE, batch_size=batch, prompt_len=prompt, gen_len=64, w_bit=4)
    assert g.total_time.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            one = llmviewer.generate(
                "Llama-2-7b-hf", DEVICE, batch_size=int(batch[i, 0]), prompt_len=int(prompt[0, j]), gen_len=64, w_bit=4
            )
            assert g.total_time[i, j] == pytest.approx(one.total_time, rel=1e-12)
            assert g.throughput[i, j] == pytest.approx(one.throughput, rel=1e-12)


def test_single_token_generation_has_no_decode_step():
    g = llmviewer.generate("Llama-2-7b-hf", DEVICE, batch_size=1, prompt_len=10, gen_len=1)
    assert g.decode_time == 0 and np.isnan(g.tpot_mean) and g.total_time == g.ttft
