"""sweep()/iter_sweep(): the engine over a product of settings, in chunks of bounded size."""

from __future__ import annotations

import numpy as np
import pytest

import llmviewer
from llmviewer.errors import LLMViewerError
from llmviewer.studies.sweep import chunks, iter_sweep, sweep

M, HW = "Llama-2-7b-hf", "A100-SXM4-80GB"
AXES = {"batch_size": [1, 3, 8], "prompt_len": [100, 1000], "gen_len": [2, 17, 64, 300, 512]}


@pytest.mark.parametrize("chunk_size", [1, 2, 4, 7, 10, 30, 1000])
def test_chunks_are_bounded_and_rows_in_c_order(chunk_size):
    parts = list(iter_sweep(M, HW, chunk_size=chunk_size, **AXES))
    assert all(1 <= len(p) <= chunk_size for p in parts[:-1]) and 1 <= len(parts[-1]) <= max(chunk_size, 1)
    table = np.concatenate([p[list(AXES)].to_numpy() for p in parts])
    grid = np.stack(np.meshgrid(*AXES.values(), indexing="ij"), axis=-1).reshape(-1, len(AXES))
    np.testing.assert_array_equal(table, grid)
    whole = sweep(M, HW, chunk_size=chunk_size, **AXES)
    g = llmviewer.generate(M, HW, batch_size=8, prompt_len=1000, gen_len=300)
    row = whole[(whole["batch_size"] == 8) & (whole["prompt_len"] == 1000) & (whole["gen_len"] == 300)]
    assert row["total_time"].item() == pytest.approx(g.total_time, rel=1e-12)


def test_cut_keeps_trailing_axes_whole_when_they_fit():
    k, inner, ranges = chunks((1000, 1000), 1 << 16)
    assert (k, inner, list(ranges)) == (1, 1000, [(lo, min(lo + 65, 1000)) for lo in range(0, 1000, 65)])
    k, inner, ranges = chunks((10, 10**6), 1000)  # the last axis alone is larger than a chunk
    ranges = list(ranges)
    assert (k, inner) == (2, 1) and all(hi - lo == 1000 for lo, hi in ranges) and len(ranges) == 10**4


def test_a_huge_sweep_is_lazy():
    # 10^10 settings: only the first chunk is evaluated when only it is asked for
    first = next(iter_sweep(M, HW, "decode", chunk_size=512, batch_size=np.arange(1, 10**5 + 1),
                            seqlen=np.arange(1, 10**5 + 1)))  # fmt: skip
    assert len(first) == 512 and first["seqlen"].iloc[-1] == 512


def test_bad_sweep_arguments():
    with pytest.raises(LLMViewerError, match="chunk_size must be a positive integer"):
        sweep(M, HW, chunk_size=0, batch_size=[1])
    with pytest.raises(LLMViewerError, match="what must be one of"):
        sweep(M, HW, "train", batch_size=[1])


def test_one_workload_everywhere():
    from llmviewer import Workload

    w = Workload(batch_size=8, prompt_len=2048, gen_len=64, w_bit=4, w_group_size=128)
    a = llmviewer.analyze(M, HW, w)
    assert a.to_dict() == llmviewer.analyze(M, HW, 8, 2048, w_bit=4, w_group_size=128).to_dict()
    assert llmviewer.analyze(M, HW, workload=w).decode.time == a.decode.time
    g = llmviewer.generate(M, HW, workload=w)
    assert g.total_time == llmviewer.generate(M, HW, 8, 2048, 64, w_bit=4, w_group_size=128).total_time
    assert llmviewer.memory_footprint(M, w) == a.memory
    assert llmviewer.fits(M, HW, w).needed == a.memory["total"]
    table = sweep(M, HW, workload=w, batch_size=[1, 8])  # axes override the workload's fields
    assert table["total_time"].iloc[-1] == g.total_time and table["batch_size"].tolist() == [1, 8]
    with pytest.raises(LLMViewerError, match="give the workload or seqlen, w_bit, not both"):
        llmviewer.analyze(M, HW, seqlen=4096, workload=w, w_bit=8)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"prompt_len": 1.5}, "prompt_len must be an integer >= 1, got 1.5"),
        ({"gen_len": True}, "gen_len must be an integer >= 1, got True"),
        ({"w_bit": 5.5}, "unsupported w_bit 5.5"),
        ({"w_group_size": 128}, "w_group_size 128 needs quantized weights"),
        ({"fusion": "some"}, "unknown fusion 'some'"),
    ],
)
def test_a_workload_is_validated_once_with_the_arguments_messages(fields, message):
    from llmviewer import Workload

    with pytest.raises(LLMViewerError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Workload(**fields)
