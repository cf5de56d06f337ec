"""The shipped model library as a table: what ``llmviewer models`` prints, for notebooks."""

from __future__ import annotations

import pandas as pd


def model_catalog() -> pd.DataFrame:
    """One row per shipped model (``llmviewer/data/models``), indexed by name: family, layers, hidden
    size, whether it is a mixture of experts, total and active parameters (counts, routed experts
    counted at top_k / experts) and its layer mix (distinct token mixers and MLPs with their layer
    counts). A model added to the library appears here without any other change."""
    from ..engine.graph import parameter_count
    from ..specs.models import FAMILIES, layer_mix, load_model, shipped_models
    from ..techniques.moe import active_parameters

    rows = []
    for name in shipped_models():
        m = load_model(name)
        rows.append(
            {
                "model": m.name,
                "family": FAMILIES.get(m.model_type, m.model_type),
                "layers": m.num_layers,
                "hidden size": m.hidden_size,
                "mixture of experts": bool(m.is_moe),
                "parameters": int(parameter_count(m)),
                "active parameters": int(active_parameters(m)),
                "layer mix": layer_mix(m).describe(),
            }
        )
    return pd.DataFrame(rows).set_index("model")
