"""Typed results: frozen dataclasses with one shared JSON form, table form and dict-style reads."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import llmviewer
from llmviewer.techniques import speculative as sp
from llmviewer.techniques.moe import MoEStep, moe_decode

M, HW = "Llama-3.1-8B", "H100"


def test_results_are_frozen_and_json_ready():
    g = llmviewer.generate(M, HW, batch_size=np.array([1, 8]), prompt_len=512, gen_len=64)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.ttft = 0
    d = g.to_dict()
    assert d["model"] == "Llama-3.1-8B" and d["hardware"] == "H100-SXM5-80GB"
    assert d["ttft"] == g.ttft.tolist() and json.loads(json.dumps(d)) == d


def test_to_frame_broadcasts_array_fields():
    g = llmviewer.generate(M, HW, batch_size=np.array([1, 8])[:, None], prompt_len=np.array([256, 512, 1024]))
    table = g.to_frame()
    assert len(table) == 6 and table["model"].eq("Llama-3.1-8B").all()
    assert np.allclose(table["throughput"], np.ravel(g.throughput))
    one = sp.medusa_decoding(M, HW, acceptance=0.7).to_frame()
    assert len(one) == 1 and set(one.columns) >= {"speedup", "heads_time"}


def test_dict_style_reads_of_former_dict_results():
    r = moe_decode("Mixtral-8x7B-v0.1", HW, batch_size=4)
    assert isinstance(r, MoEStep) and r["step_time"] == r.step_time
    assert dict(r) == {**r} == {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
    merged = sp.medusa_decoding(M, HW, acceptance=0.6, heads=2) | {"extra": 1}
    assert merged["extra"] == 1 and "speedup" in merged
    assert ({"batch": 4} | r)["batch"] == 4
    with pytest.raises(KeyError):
        r["nope"]


def test_sweep_is_the_engine_over_the_product():
    from llmviewer.studies.sweep import sweep

    table = sweep(M, HW, batch_size=[1, 4, 16], prompt_len=[128, 1024], gen_len=64, chunk_size=4)
    assert len(table) == 6 and list(table["batch_size"]) == [1, 1, 4, 4, 16, 16]
    g = llmviewer.generate(M, HW, batch_size=16, prompt_len=1024, gen_len=64)
    assert table["throughput"].iloc[-1] == pytest.approx(g.throughput)
    dec = sweep(M, HW, "decode", seqlen=[512, 4096], w_bit=[16, 4])
    a = llmviewer.analyze(M, HW, seqlen=4096, w_bit=4, stages=("decode",))
    assert dec["time"].iloc[-1] == pytest.approx(a.decode.time) and set(dec["bound"]) == {"memory"}
