"""The one fit rule (llmviewer.fits) used by every figure and table that shows a configuration."""

import numpy as np

import llmviewer
from llmviewer.studies import compare


def test_fits_compares_the_footprint_with_the_device_memory():
    fit = llmviewer.fits("Llama-3.1-8B", "H100-SXM5-80GB", batch_size=1, seqlen=2048)
    need = llmviewer.memory_footprint("Llama-3.1-8B", batch_size=1, seqlen=2048)["total"]
    assert fit and fit.needed == need and fit.capacity == 80e9


def test_known_configurations_that_do_not_fit():
    # Mixtral-8x7B at 16 bits holds ~93 GB of weights: not on one 80 GB H100, yes on an H200
    assert not llmviewer.fits("Mixtral-8x7B-v0.1", "H100-SXM5-80GB", batch_size=1, seqlen=1024)
    assert llmviewer.fits("Mixtral-8x7B-v0.1", "H200-SXM-141GB", batch_size=1, seqlen=1024)
    assert not llmviewer.fits("Llama-3.1-70B", "H100-SXM5-80GB", batch_size=1024, seqlen=2048)


def test_arrays_models_sharing_a_device_and_tensor_parallel():
    fit = llmviewer.fits("Llama-3.1-8B", "H100-SXM5-80GB", batch_size=np.array([1, 1024]), seqlen=1024)
    assert fit.fits.tolist() == [True, False]
    both = llmviewer.fits(["Llama-3.1-8B", "Llama-3.2-1B"], "H100-SXM5-80GB", batch_size=1, seqlen=1024)
    one = llmviewer.fits("Llama-3.1-8B", "H100-SXM5-80GB", batch_size=1, seqlen=1024)
    assert both.needed > one.needed
    tp2 = llmviewer.fits("Llama-3.1-70B", "H100-SXM5-80GB", batch_size=1, seqlen=1024, tensor_parallel=2)
    assert tp2 and not llmviewer.fits("Llama-3.1-70B", "H100-SXM5-80GB", batch_size=1, seqlen=1024)


def test_compare_and_min_tensor_parallel_use_the_same_rule():
    table = compare.compare_devices("Llama-3.1-8B", ["H100-SXM5-80GB", "RTX-4090-24GB"], batch_size=64)
    for _, row in table.iterrows():
        fit = llmviewer.fits("Llama-3.1-8B", row["device"], batch_size=64, seqlen=1024 + 256)
        assert row["fits"] == bool(fit) and row["memory_needed"] == fit.needed
    n = compare.min_tensor_parallel("Llama-3.1-70B", "H100-SXM5-80GB", batch_size=1, seqlen=1024)
    assert llmviewer.fits("Llama-3.1-70B", "H100-SXM5-80GB", 1, 1024, tensor_parallel=n)
