"""llmviewer: roofline analysis of LLM inference.

Given a model (a Hugging Face config.json), a device and a workload, compute each operator's
OPs, memory traffic, arithmetic intensity, bound and time, the memory footprint, and
end-to-end generation latency and throughput. Every size may be a numpy array for sweeps.

    >>> import llmviewer
    >>> r = llmviewer.analyze("Llama-2-7b-hf", "A100-SXM4-80GB", batch_size=1, seqlen=2048)
    >>> r.decode.time  # seconds for one decode step
"""

from .analysis import Analysis, StageResult, analyze, evaluate_pass, memory_footprint
from .errors import LLMViewerError
from .generation import Generation, generate
from .hardware import Hardware, hardware_library, load_hardware
from .layers import build_ops, parameter_count
from .loadsim import SLO, Deployment, SchedulerConfig, Workload, max_rate, plan_capacity, simulate  # noqa: F401
from .models import ModelSpec, load_model, shipped_models
from .workload import Pass, make_pass

__all__ = [
    "Analysis",
    "Generation",
    "Hardware",
    "LLMViewerError",
    "ModelSpec",
    "Pass",
    "StageResult",
    "analyze",
    "build_ops",
    "evaluate_pass",
    "generate",
    "hardware_library",
    "load_hardware",
    "load_model",
    "make_pass",
    "memory_footprint",
    "parameter_count",
    "shipped_models",
]
__version__ = "0.1.0"
