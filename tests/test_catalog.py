"""The model catalog the roofline chapter shows: every shipped model, counted by the engine."""

from __future__ import annotations

from llmviewer.specs.models import shipped_models
from llmviewer.studies.catalog import model_catalog


def test_catalog_lists_every_shipped_model_with_its_counts():
    table = model_catalog()
    assert sorted(table.index) == sorted(shipped_models())
    # Llama-2-7B: 6,738,415,616 parameters (Hugging Face model card, safetensors metadata)
    assert table.loc["Llama-2-7b-hf", "parameters"] == 6_738_415_616
    dense = table[~table["mixture of experts"]]
    assert (dense["parameters"] == dense["active parameters"]).all()
    moe = table[table["mixture of experts"]]
    assert len(moe) > 0 and (moe["active parameters"] < moe["parameters"]).all()
