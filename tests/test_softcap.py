"""Gemma's soft-capping, cap * tanh(x / cap): element-wise work of 6 OPs per element (divide, tanh 4,
multiply) on the logits (Gemma-2/3/4 ``final_logit_softcapping``) and on the attention scores (Gemma-2
``attn_logit_softcapping``). Fused into its neighbour by default (OPs, no bytes); with fusion="none" a pass
of its own. Expected values are computed here by hand."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import llmviewer
from llmviewer.engine.analysis import count_pass
from llmviewer.engine.graph import build_ops
from llmviewer.errors import LLMViewerError
from llmviewer.specs.models import shipped_models
from llmviewer.specs.workload import make_pass


def total(spec, p, field: str, role: str) -> float:
    """``field`` of the pass summed over the operators of ``role``, instances counted."""
    return sum(getattr(t, field) * op.count for op, t, _ in count_pass(spec, p) if op.role == role)


def test_logit_softcap_runs_on_the_logit_rows():
    m = llmviewer.load_model("gemma-4-26B-A4B")
    assert m.final_logit_softcap == 30.0 and m.vocab_size == 262144
    plain = replace(m, final_logit_softcap=None)
    # 3 sequences, 7 new tokens each, logits of the last position only: 3 rows of 262144 logits
    for fusion, moved in (("ideal", 0), ("none", 3 * 262144 * 2)):  # 16-bit logits read once, written once
        p = make_pass(3, 7, 100, 1, fusion=fusion)
        cap = {op.name: t for op, t, _ in count_pass(m, p)}["logit_softcap"]
        assert (cap.OPs, cap.load_act, cap.store_act, cap.load_weight) == (3 * 262144 * 6, moved, moved, 0)
        assert total(m, p, "OPs", "head") - total(plain, p, "OPs", "head") == 3 * 262144 * 6
        assert total(m, p, "OPs", "block") == total(plain, p, "OPs", "block")
    ops = build_ops(m, tensor_parallel=2)  # each device caps its half of the vocabulary
    assert [op.name for op in ops[-4:]] == ["all_reduce", "final_norm", "lm_head", "logit_softcap"]
    assert ops[-1].width == 262144 // 2 and ops[-1].role == "head" and ops[-1].kind == "elementwise"


def test_gemma3_published_configs_have_no_cap():
    m = llmviewer.load_model("gemma-3-1b-it")  # final_logit_softcapping: null
    assert m.final_logit_softcap is None and "logit_softcap" not in {op.name for op in build_ops(m)}


def test_gemma2_caps_logits_and_attention_scores():
    m = llmviewer.load_model("gemma-2-9b")
    assert (m.final_logit_softcap, m.attn_logit_softcap) == (30.0, 50.0)
    plain = replace(m, attn_logit_softcap=None)
    # one sequence, 4 new tokens, nothing cached: 1+2+3+4 = 10 causal scores per head; 16 heads, 42 layers
    scores = 10 * 16 * 42
    for flash, fusion, moved in ((True, "ideal", 0), (False, "ideal", 0), (False, "none", scores * 2)):
        p = make_pass(1, 4, 0, 1, flash_attention=flash, fusion=fusion)
        assert total(m, p, "OPs", "attention") - total(plain, p, "OPs", "attention") == 6 * scores
        for field in ("load_act", "store_act"):  # unfused and fusion="none": the 16-bit scores once more
            assert total(m, p, field, "attention") - total(plain, p, field, "attention") == moved


@pytest.mark.parametrize("value", [-1, 0, "30", True, float("inf")])
def test_bad_cap_is_one_clear_line(value):
    bad = json.loads(shipped_models()["gemma-2-9b"].read_text()) | {"final_logit_softcapping": value}
    with pytest.raises(LLMViewerError, match="'final_logit_softcapping' must be a positive number or null"):
        llmviewer.load_model(bad)
