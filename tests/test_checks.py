"""Published measurements beside the roofline (llmviewer.calibration.checks), as the book uses them."""

from __future__ import annotations

import pytest

from llmviewer import analyze
from llmviewer.calibration.checks import prefill_check, quantized_decode_check
from llmviewer.errors import LLMViewerError


def test_quantized_decode_check_pairs_fp16_and_awq_rows():
    table = quantized_decode_check(use_flashattention=True)
    assert len(table) >= 4 and table["device"].isin(["RTX-A6000-48GB", "RTX-4090-24GB"]).any()
    # the stored measurement (TinyChat README: Llama-2-7B on an A6000, 22.75 ms FP16 and 8.71 ms AWQ)
    row = table[(table["model"] == "Llama-2-7b-hf") & (table["device"] == "RTX-A6000-48GB")].iloc[0]
    assert row["measured FP16 ms"] == pytest.approx(22.75) and row["measured AWQ ms"] == pytest.approx(8.71)
    # and the roofline is the engine's decode step, not a formula of its own
    fp16 = analyze("Llama-2-7b-hf", "RTX-A6000-48GB", 1, 512, use_flashattention=True).decode.time
    assert row["roofline FP16 ms"] == pytest.approx(fp16 * 1e3)
    assert row["roofline speed-up"] == pytest.approx(row["roofline FP16 ms"] / row["roofline W4 ms"])
    assert (table["roofline speed-up"] > 1).all()


def test_prefill_check_and_bad_sources():
    t = prefill_check("trtllm_perf_v0.9", "Llama-2-7b-hf", 2048, ["H100-SXM5-80GB"], bits=8, use_flashattention=True)
    assert list(t.index) == ["H100-SXM5-80GB"]
    assert t.loc["H100-SXM5-80GB", "share of peak"] == pytest.approx(
        t.loc["H100-SXM5-80GB", "roofline_ms"] / t.loc["H100-SXM5-80GB", "measured_ms"]
    )
    with pytest.raises(LLMViewerError, match="source_id 'nope' has no measurements"):
        quantized_decode_check("nope")
    with pytest.raises(LLMViewerError, match="no ttft_s rows"):
        prefill_check("trtllm_perf_v0.9", "Llama-2-7b-hf", 7, ["H100-SXM5-80GB"])
