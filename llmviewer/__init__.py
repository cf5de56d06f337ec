"""llmviewer: roofline analysis of LLM inference.

Given a model (a Hugging Face config.json), a device and a workload, compute each operator's
OPs, memory traffic, arithmetic intensity, bound and time, the memory footprint, and
end-to-end generation latency and throughput. Every size may be a numpy array for sweeps.

    >>> import llmviewer
    >>> r = llmviewer.analyze("Llama-2-7b-hf", "A100-SXM4-80GB", batch_size=1, seqlen=2048)
    >>> r.decode.time  # seconds for one decode step

The package is layered, imports only going down (see the README's "Architecture"):
``specs`` (model, hardware, workload) -> ``engine`` -> ``techniques`` -> ``studies`` ->
``calibration`` -> ``viz`` and ``cli``. The modules' former flat names (``llmviewer.moe``,
``llmviewer.plots``, ...) still resolve as attributes: ``from llmviewer import moe`` works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # the public API, imported on first use (see __getattr__)
    from .engine.analysis import Analysis, Fit, StageResult, analyze, evaluate_pass, fits, memory_footprint
    from .engine.efficiency import Efficiency
    from .engine.generation import Generation, generate
    from .engine.graph import build_ops, parameter_count
    from .errors import LLMViewerError
    from .specs.hardware import Hardware, hardware_library, load_hardware
    from .specs.models import ModelSpec, load_model, shipped_models
    from .specs.workload import UNFUSED, Pass, Workload, make_pass
    from .techniques.loadsim import SLO, Deployment, SchedulerConfig, max_rate, plan_capacity, simulate

_API = {
    "Analysis": "engine.analysis",
    "StageResult": "engine.analysis",
    "analyze": "engine.analysis",
    "evaluate_pass": "engine.analysis",
    "memory_footprint": "engine.analysis",
    "fits": "engine.analysis",
    "Fit": "engine.analysis",
    "Efficiency": "engine.efficiency",
    "Generation": "engine.generation",
    "generate": "engine.generation",
    "build_ops": "engine.graph",
    "parameter_count": "engine.graph",
    "LLMViewerError": "errors",
    "Hardware": "specs.hardware",
    "hardware_library": "specs.hardware",
    "load_hardware": "specs.hardware",
    "ModelSpec": "specs.models",
    "load_model": "specs.models",
    "shipped_models": "specs.models",
    "Pass": "specs.workload",
    "Workload": "specs.workload",
    "make_pass": "specs.workload",
    "UNFUSED": "specs.workload",
    "simulate": "techniques.loadsim",
    "max_rate": "techniques.loadsim",
    "plan_capacity": "techniques.loadsim",
    "SLO": "techniques.loadsim",
    "SchedulerConfig": "techniques.loadsim",
    "Deployment": "techniques.loadsim",
}
"""Public name -> the module that defines it. Imported on first use, so that ``import llmviewer``
(and ``llmviewer models``) does not load numpy until an analysis needs it."""
_SUBPACKAGES = ("specs", "engine", "techniques", "studies", "calibration", "viz", "cli")

__all__ = [
    "__version__",
    "Analysis",
    "Efficiency",
    "Generation",
    "Hardware",
    "LLMViewerError",
    "ModelSpec",
    "Pass",
    "Workload",
    "StageResult",
    "analyze",
    "build_ops",
    "evaluate_pass",
    "generate",
    "hardware_library",
    "load_hardware",
    "load_model",
    "make_pass",
    "UNFUSED",
    "memory_footprint",
    "fits",
    "Fit",
    "parameter_count",
    "shipped_models",
    "simulate",
    "max_rate",
    "plan_capacity",
    "SLO",
    "SchedulerConfig",
    "Deployment",
]

_MOVED = {
    "models": "specs.models",
    "hardware": "specs.hardware",
    "workload": "specs.workload",
    "layers": "engine.graph",
    "operators": "engine.operators",
    "roofline": "engine.roofline",
    "analysis": "engine.analysis",
    "generation": "engine.generation",
    "compression": "techniques.compression",
    "moe": "techniques.moe",
    "speculative": "techniques.speculative",
    "sparsity": "techniques.sparsity",
    "serving": "techniques.serving",
    "whatif": "techniques.whatif",
    "loadsim": "techniques.loadsim",
    "compare": "studies.compare",
    "pricing": "studies.pricing",
    "measurements": "calibration.measurements",
    "plots": "viz.plots",
    "widgets": "viz.widgets",
    "book": "viz.book",
}
"""Former flat module names -> their place in the layered package."""


def __getattr__(name: str) -> Any:
    """A public name, a subpackage, or a former flat module name (``llmviewer.plots``), imported
    on first use."""
    if name in _API:
        value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _MOVED:
        value = importlib.import_module(f".{_MOVED[name]}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API, *_SUBPACKAGES, *_MOVED})
