"""Technique functions broadcast over numpy arrays like analyze(): each element is the scalar call."""

from __future__ import annotations

import numpy as np
import pytest

from llmviewer.errors import LLMViewerError
from llmviewer.techniques import moe, serving, sparsity, speculative

M, HW = "Llama-3.1-8B", "H100-SXM5-80GB"


def test_moe_skew_and_batch_broadcast():
    r = moe.moe_decode("Mixtral-8x7B-v0.1", HW, batch_size=np.array([1, 16])[:, None], zipf_s=np.array([0.0, 1.0]))
    assert r.time_per_token.shape == (2, 2)
    one = moe.moe_decode("Mixtral-8x7B-v0.1", HW, batch_size=16, zipf_s=1.0)
    assert r.time_per_token[1, 1] == one.time_per_token and r.experts_touched[1, 1] == one.experts_touched


def test_sparsity_fractions_and_batch_broadcast():
    r = sparsity.contextual_sparsity_decode(M, HW, np.array([0.3, 0.5]), 0.3, batch_size=np.array([[1], [4]]))
    one = sparsity.contextual_sparsity_decode(M, HW, 0.5, 0.3, batch_size=4)
    assert r.speedup.shape == (2, 2) and r.speedup[1, 1] == one.speedup


def test_serving_functions_broadcast_nested_results():
    r = serving.disaggregation(M, HW, 1, 1, batch_size=[8, 32])
    assert r["colocated"]["tpot"][1] == serving.disaggregation(M, HW, 1, 1, batch_size=32)["colocated"]["tpot"]
    off = serving.offload_step(M, HW, weight_offload=np.array([0.5, 1.0]))
    assert off["step_time"][0] == serving.offload_step(M, HW, weight_offload=0.5)["step_time"]
    s = serving.serve(M, HW, batch_size=np.array([1, 4]))
    assert s["throughput"][1] == serving.serve(M, HW, batch_size=4)["throughput"]


def test_best_gamma_per_batch_and_bad_elements_named():
    g, speedup = speculative.best_gamma(M, "Llama-3.2-1B", HW, 0.8, batch_size=np.array([1, 64]))
    assert (g[1], speedup[1]) == speculative.best_gamma(M, "Llama-3.2-1B", HW, 0.8, batch_size=64)
    with pytest.raises(LLMViewerError, match="zipf_s"):
        moe.moe_decode("Mixtral-8x7B-v0.1", HW, zipf_s=np.array([0.0, -1.0]))


def test_techniques_take_one_workload():
    from llmviewer import Workload
    from llmviewer.techniques import compression

    w = Workload(batch_size=4, prompt_len=2048, gen_len=64, w_bit=4)
    assert moe.moe_decode("Mixtral-8x7B-v0.1", HW, workload=w) == moe.moe_decode(
        "Mixtral-8x7B-v0.1", HW, batch_size=4, context=2048, w_bit=4
    )
    s = speculative.speculative_decoding(M, "Llama-3.2-1B", HW, 0.8, 4, workload=w)
    assert s.speedup == speculative.speculative_decoding(M, "Llama-3.2-1B", HW, 0.8, 4, 4, 2048, w_bit=4).speedup
    assert serving.serve(M, HW, workload=w)["ttft"] == serving.serve(M, HW, batch_size=4, prompt_len=2048, gen_len=64,
                                                                      w_bit=4)["ttft"]  # fmt: skip
    pre, dec = compression.compressed_analyze(M, HW, workload=w)
    assert dec.time == compression.compressed_analyze(M, HW, 4, 2048, w_bit=4)[1].time
    assert sparsity.contextual_sparsity_decode(M, HW, 0.5, 0.5, workload=w).speedup > 1
    with pytest.raises(LLMViewerError, match="give the workload or batch_size, w_bit, not both"):
        moe.moe_decode("Mixtral-8x7B-v0.1", HW, 8, workload=w, w_bit=8)
