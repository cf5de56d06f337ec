"""Published measurements (``data/measurements/``) and the engine's prediction for each row.

Every row is turned into the workload the engine models: the shipped model config, the
device of the library, the bit widths (with per-group scale overhead for group-quantized
formats), the batch, the prompt and generated lengths, and tensor parallelism. Then the
metric the source reports (time to first token, time per output token, throughput...) is
predicted, pure or calibrated. Rows the engine cannot model (no lengths, no precision, a
device outside the library) are kept with the reason.

All comparisons are made on *speed* (1/time, or tokens/s), so ``speed_ratio`` =
predicted speed / measured speed for every metric: above 1 the prediction is faster.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..engine.efficiency import PURE, Efficiency, device_family
from ..engine.generation import PreparedTask, prepare_task
from ..paths import data_dir
from ..studies.compare import max_batch_size

MEASUREMENTS_FILE = "measurements/measurements.csv"

DEVICE_ALIASES = {
    "A100-unspecified": "A100-SXM4-80GB",
    "H100-80GB-unspecified": "H100-SXM5-80GB",
    "H200-unspecified": "H200-SXM-141GB",
    "Jetson-Orin-unspecified": "Jetson-AGX-Orin-64GB",
    "Apple-M2-Ultra-unspecified": "Apple-M2-Ultra-76C",
}
"""Sources that name only a device family: the library's flagship variant of it."""

# precision -> (w_bit, a_bit, kv_bit, weights per group, metadata bits per group)
PRECISIONS = {
    "FP16": (16, 16, 16, None, 16),
    "BF16": (16, 16, 16, None, 16),
    "F16": (16, 16, 16, None, 16),
    "FP8": (8, 8, 8, None, 16),
    "W4A16-AWQ-g128": (4, 16, 16, 128, 20),  # FP16 scale + 4-bit zero per group
    "W4A16-AWQ-g64": (4, 16, 16, 64, 20),
    "Q4_0": (4, 16, 16, 32, 16),  # llama.cpp: FP16 scale per 32 weights (4.5 bits/weight)
    "Q4_K_M": (4, 16, 16, 32, 16),  # ~4.5 bits/weight for Q4_K; the _M mix keeps some tensors at 6 bits
    "Q8_0": (8, 16, 16, 32, 16),
    # MLC LLM q4f16_1: 4-bit weights, one FP16 scale per 32 (mlc-llm's quantization schemes)
    "W4A16-q4f16_1": (4, 16, 16, 32, 16),
    # GPTQ (AutoGPTQ/ExLlamaV2 checkpoints): FP16 scale + 4-bit zero per group of 128, as AWQ;
    # sources that do not print the group size used TheBloke's / the model card's default, 128
    "W4A16-GPTQ-g128": (4, 16, 16, 128, 20),
    "W4A16-GPTQ": (4, 16, 16, 128, 20),
    # TensorRT-LLM --weight_only_precision int4: one FP16 scale per output channel (negligible)
    "W4A16-INT4-perchannel": (4, 16, 16, None, 16),
    # ExLlamaV2 EXL2 "N bpw" is the *average* bits per weight, scales included: an integer part
    # plus, for the fractional part, 16 metadata bits per group sized to give exactly N
    "EXL2-2.5bpw": (2, 16, 16, 32, 16),  # 2 + 16/32 = 2.5 bits per weight
    "EXL2-3.0bpw": (3, 16, 16, None, 16),
    "EXL2-4.0bpw": (4, 16, 16, None, 16),
    "EXL2-5.0bpw": (5, 16, 16, None, 16),
}
"""Precision label of the sources -> the engine's bit widths, one documented rule per label
(the table in ``data/measurements/README.md``, "Precision labels")."""


def precision_table() -> pd.DataFrame:
    """The precision labels of the sources and the engine's bit widths for each (:data:`PRECISIONS`):
    weight, activation and KV-cache bits, group size and metadata bits per group (None where
    not grouped), and the resulting bits per weight."""
    rows = []
    for label, (w, a, kv, group, meta) in PRECISIONS.items():
        bpw = w + (meta / group if group else 0)
        rows.append((label, w, a, kv, group, meta if group else None, bpw))
    columns = ["label", "weight bits", "activation bits", "KV bits", "weights per group",
               "metadata bits per group", "bits per weight"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


ENGINE_CLASSES = {
    "llama.cpp": "llama.cpp",
    "Hugging Face transformers": "pytorch-eager",
    "PyTorch eager": "pytorch-eager",
}
"""Engine name prefix -> class; every other engine (TensorRT-LLM, vLLM, NIM, TinyChat) is
'serving'. llama.cpp splits by backend: its CUDA and Metal kernels differ."""

TIME_METRICS = {"ttft_s", "tpot_s", "e2e_latency_s"}

GRAPH_RULES = (
    (
        "vLLM",
        "acbed3ef",
        False,
        "vLLM captured no CUDA graphs before PR #1926 (December 2023); this build: October 2023",
    ),
    (
        "vLLM",
        "",
        True,
        "vLLM (and its ROCm build) captures decode steps as CUDA/HIP graphs by default since "
        "PR #1926 (merged December 2023), unless run with --enforce-eager, which no source states",
    ),
    ("SGLang", "", True, "SGLang replays decode steps as CUDA graphs by default (--disable-cuda-graph not set)"),
    ("TensorRT-LLM (gptSessionBenchmark)", "jetson", True, "the command on the page passes --enable_cuda_graph"),
    (
        "TensorRT",
        "",
        False,
        "TensorRT-LLM's runtime captures CUDA graphs only when asked (--enable_cuda_graph, "
        "cuda_graph_mode), off by default, and no other TensorRT-LLM source says it was asked",
    ),
    ("NVIDIA NIM", "", False, "a TensorRT-LLM engine: CUDA graphs off unless asked, as TensorRT-LLM (not stated)"),
    (
        "llama.cpp",
        "",
        False,
        "llama.cpp captures batch-1 decode as CUDA graphs since PR #6766 (May 2024), but every "
        "llama.cpp row it could be fitted on predates it: its kernels are modelled as launched one by one, as fitted",
    ),
    (
        "",
        "",
        False,
        "no graphs stated or on by default (TinyChat, Hugging Face transformers, ExLlamaV2, MLC LLM, "
        "the Gaudi software stack): kernels launched one by one",
    ),
)
"""(engine prefix, version substring, replays decode steps as graphs, why): the first rule whose
engine prefix and version substring (case-insensitive) match a row says whether its engine replays
each decode step as one captured graph (:attr:`~llmviewer.engine.efficiency.Efficiency.graphs`:
a fixed ``step_overhead`` per step instead of a ``kernel_overhead`` per operator)."""

FULL_ATTENTION_ENGINES = ("TensorRT",)
"""Engines that attend over the whole context of a model with a sliding window (Mistral-7B-v0.1's
4096 tokens) unless told a window (TensorRT-LLM's ``max_attention_window_size`` defaults to the
maximum sequence length, and no TensorRT-LLM source sets it): their rows are modelled with full
attention (their KV cache holds the whole context too)."""


def replays_graphs(engine: str, version: Any = "") -> bool:
    """Whether ``engine`` at ``version`` replays decode steps as graphs (:data:`GRAPH_RULES`)."""
    return graph_rule(engine, version)[0]


def graph_rule(engine: str, version: Any = "") -> tuple[bool, str]:
    """(replays decode steps as graphs, why) for ``engine`` at ``version`` (:data:`GRAPH_RULES`)."""
    engine, version = str(engine), "" if pd.isna(version) else str(version).lower()
    for prefix, in_version, graphs, why in GRAPH_RULES:
        if engine.startswith(prefix) and in_version in version:
            return graphs, why
    raise AssertionError("the last rule matches every engine")  # pragma: no cover


def engine_class(engine: str) -> str:
    """The calibration class of an engine: 'serving', 'llama.cpp-cuda', 'llama.cpp-metal' or
    'pytorch-eager'."""
    for prefix, cls in ENGINE_CLASSES.items():
        if str(engine).startswith(prefix):
            if cls == "llama.cpp":
                return "llama.cpp-metal" if "Metal" in str(engine) else "llama.cpp-cuda"
            return cls
    return "serving"


def load_measurements(path: str | None = None) -> pd.DataFrame:
    """The measurement table (one row per published number), with an ``engine_class`` column."""
    table = pd.read_csv(path or data_dir() / MEASUREMENTS_FILE)
    notes = table["notes"].fillna("")
    return table.assign(
        engine_class=table["engine"].map(engine_class),
        # the source's own doubts, kept but set apart from fits and headline errors
        suspect=notes.str.startswith("suspect"),
        # time to first token measured with other requests in flight includes waiting in a
        # queue, which a roofline (service time only) does not model
        queueing=(table["metric"] == "ttft_s") & ~(table["batch_size"].fillna(0) == 1),
        graphs=[replays_graphs(e, v) for e, v in zip(table["engine"], table["engine_version"], strict=True)],
        full_attention=table["engine"].astype(str).str.startswith(FULL_ATTENTION_ENGINES),
    )


def _skip_reason(row: pd.Series, devices: set[str]) -> str | None:
    if pd.isna(row["model_config"]):
        return "model not shipped"
    if pd.isna(row["input_len"]) or pd.isna(row["output_len"]):
        return "input/output lengths not stated (variable-length dataset)"
    if row["precision"] not in PRECISIONS:
        return "precision not stated"
    if DEVICE_ALIASES.get(row["device"], row["device"]) not in devices:
        return "device not in the hardware library"
    if pd.isna(row["tensor_parallel"]):
        return "tensor/data-parallel split not stated"
    if pd.isna(row["batch_size"]) and row["metric"] in ("tpot_s", "e2e_latency_s"):
        return "concurrency not stated (requests at a given rate)"
    return None


MAX_SEQUENCES = re.compile(r"Max Num Seqs = (\d+)")
"""How a row's ``notes`` state the scheduler's cap on concurrent sequences of a run at maximum
load (vLLM's ``--max-num-seqs``, printed by AMD's tables as "Max Num Seqs"): the engine never
batches more sequences than this, whatever fits in memory."""


def stated_max_sequences(notes: Any) -> float:
    """The cap on concurrent sequences that ``notes`` state (:data:`MAX_SEQUENCES`), or infinity
    when they state none."""
    found = MAX_SEQUENCES.search(notes) if isinstance(notes, str) else None
    return float(found.group(1)) if found else float("inf")


def workloads(table: pd.DataFrame) -> pd.DataFrame:
    """The modelled workload of every row: device, bits, group size, tensor parallelism,
    replicas, lengths, and the batch (when the source ran at maximum load without stating it: the
    largest that fits in memory, within the scheduler's cap on sequences where the source states
    one, :func:`stated_max_sequences`); ``skip`` says why a row cannot be modelled."""
    from ..specs.hardware import hardware_library

    devices = set(hardware_library())
    out = table.copy()
    out["skip"] = [_skip_reason(r, devices) for _, r in table.iterrows()]
    ok = out["skip"].isna()
    out["hw"] = out["device"].map(lambda d: DEVICE_ALIASES.get(d, d))
    library = hardware_library()
    out["family"] = out["hw"].map(lambda d: device_family(library[d]) if d in library else "")
    bits = out["precision"].map(lambda p: PRECISIONS.get(p, (np.nan,) * 5))
    for i, name in enumerate(("m_w_bit", "m_a_bit", "m_kv_bit", "m_group_size", "m_group_bits")):
        out[name] = bits.map(lambda b, i=i: b[i])
    out["tp"] = out["tensor_parallel"].fillna(1).astype(int)
    out["replicas"] = (out["num_devices"].fillna(1) / out["tp"]).clip(lower=1)
    # a batch is needed for throughput at maximum load only: the largest that fits
    out["batch_assumed"] = out["batch_size"].isna() & ok
    batch = out["batch_size"].copy()
    for idx in out.index[out["batch_assumed"]]:
        r = out.loc[idx]
        # in-flight batching: a sequence holds on average its prompt and half its output
        held = int(r["input_len"] + r["output_len"] // 2)
        fit = max_batch_size(_model(r["model_config"], r["full_attention"]), r["hw"], held, kv_only=True, **_options(r))
        batch[idx] = min(fit, stated_max_sequences(r["notes"])) if fit >= 1 else np.nan
        if fit < 1:
            out.loc[idx, "skip"] = "model does not fit in the devices' memory"
    out["batch"] = batch
    # llama-bench's "tg N" runs N decode steps from an empty cache, "pp N" a bare prefill
    out["m_prompt"] = out["input_len"].clip(lower=1)
    out["m_gen"] = np.where(out["input_len"] == 0, out["output_len"] + 1, out["output_len"].clip(lower=1))
    return out


def _options(r: pd.Series, bound: bool = False) -> dict[str, Any]:
    group = None if pd.isna(r["m_group_size"]) else int(r["m_group_size"])
    return dict(
        w_bit=int(r["m_w_bit"]),
        a_bit=int(r["m_a_bit"]),
        kv_bit=int(r["m_kv_bit"]),
        w_group_size=group,
        w_group_bits=int(r["m_group_bits"]),
        tensor_parallel=int(r["tp"]),
        use_flashattention=True,  # every engine in the data fuses attention and skips masked blocks
        causal_attention=True,
        # serving engines fuse norms, residuals and activations; llama.cpp and PyTorch eager run them apart
        fusion="ideal" if bound or r["engine_class"] == "serving" else "none",
    )


_GROUP = ["model_config", "hw", "engine_class", "precision", "tp", "graphs", "full_attention"]


def _model(name: str, full_attention: bool) -> Any:
    """The shipped model ``name``; with ``full_attention``, its sliding windows removed."""
    from ..specs.models import load_model

    m = load_model(name)
    return m.without_windows() if full_attention and m.sliding_layers else m


def prepare(
    work: pd.DataFrame, bound: bool = False
) -> list[tuple[pd.DataFrame, tuple[str, bool], PreparedTask, PreparedTask]]:
    """Count every modelled row's task once: (rows, (engine class, whether the rows' engine replays
    decode steps as graphs), task at the row's batch, the
    same prompt alone for time to first token), grouped so that each engine call is vectorised.
    ``bound``: count for the pure roofline (the speed of light: ideal element-wise fusion for every
    engine); else as each engine class runs (element-wise work unfused for llama.cpp and eager)."""
    groups = []
    for (name, hw, cls, _, _, graphs, full), grp in work[work["skip"].isna()].groupby(_GROUP, sort=False):
        options = _options(grp.iloc[0], bound)
        model = _model(name, full and not bound)  # the bound keeps the model's own windows
        prompt, gen = grp["m_prompt"].to_numpy(float), grp["m_gen"].to_numpy(float)
        task = prepare_task(
            model, hw, batch_size=grp["batch"].to_numpy(float), prompt_len=prompt, gen_len=gen, **options
        )
        # requests arrive one at a time or staggered: a request's first token waits for its own prompt
        single = prepare_task(model, hw, batch_size=1, prompt_len=prompt, gen_len=1, **options)
        groups.append((grp, (cls, bool(graphs)), task, single))
    return groups


def predict(
    work: pd.DataFrame,
    efficiency: dict[str, Efficiency] | Efficiency = PURE,
    prepared: list | None = None,
) -> pd.Series:
    """Predicted value of each row's metric, in the row's unit (NaN for skipped rows).
    ``efficiency``: one for all rows, or one per engine class (missing classes: pure).
    ``prepared``: :func:`prepare`'s result for ``work``, to skip the counting."""
    predicted = pd.Series(np.nan, index=work.index)
    for grp, (cls, graphs), task, single in prepared if prepared is not None else prepare(work):
        eff = efficiency.get(cls, PURE) if isinstance(efficiency, dict) else efficiency
        if eff is not PURE and eff.graphs != graphs:  # the row's engine, not the class, says whether it replays
            eff = replace(eff, graphs=graphs)
        ttft, decode = task.times(eff)
        single_ttft, _ = single.times(eff)
        predicted[grp.index] = _metric(grp, ttft, decode, single_ttft)
    return predicted


def _metric(grp: pd.DataFrame, ttft: Any, decode: Any, ttft_single: Any) -> np.ndarray:
    batch, inp, out = (grp[c].to_numpy(float) for c in ("batch", "input_len", "output_len"))
    steps = grp["m_gen"].to_numpy(float) - 1
    total = ttft + decode
    with np.errstate(divide="ignore", invalid="ignore"):
        tpot = np.where(steps > 0, decode / np.maximum(steps, 1), np.nan)
    system = grp["replicas"].to_numpy(float)  # independent copies of the model serve in parallel
    per_gpu = np.where(grp["unit"].to_numpy() == "tok/s/GPU", 1 / grp["num_devices"].to_numpy(float), 1.0)
    values = {
        "ttft_s": ttft_single,
        "tpot_s": tpot,
        "e2e_latency_s": total,
        "output_throughput_tok_s": system * batch * out / total * per_gpu,
        "total_throughput_tok_s": system * batch * (inp + out) / total * per_gpu,
        "prefill_throughput_tok_s": batch * inp / ttft,  # llama-bench "pp": batch 1
        "decode_throughput_tok_s": batch / tpot,
    }
    metrics = grp["metric"].to_numpy()
    return np.select(
        [metrics == m for m in values], [np.broadcast_to(v, metrics.shape) for v in values.values()], np.nan
    )


def speed_ratio(work: pd.DataFrame, predicted: pd.Series) -> pd.Series:
    """Predicted speed over measured speed (time metrics inverted): 1 is a perfect prediction."""
    ratio = predicted / work["value"]
    return ratio.where(~work["metric"].isin(TIME_METRICS), 1 / ratio)


# --------------------------------------------------------------------------- our own H100 runs

KERNELS_DIR = "measurements/h100_kernels"
H100 = "H100-SXM5-80GB"


def kernel_table(name: str) -> pd.DataFrame:
    """One table measured on an H100 by ``benchmarks/gpu/measure_h100.py`` (gemm, attention,
    models, bandwidth), rows that ran only."""
    table = pd.read_csv(data_dir() / KERNELS_DIR / f"{name}.csv")
    return table[table["status"].fillna("ok") == "ok"] if "status" in table else table


def gemm_vs_roofline() -> pd.DataFrame:
    """Measured bf16 ``x @ W^T`` (CUDA-graph median) against the engine's roofline for the same
    linear layer on an H100: seconds, and the fraction of the roofline speed reached."""
    from ..engine.analysis import evaluate_op
    from ..engine.operators import Linear
    from ..specs.hardware import load_hardware
    from ..specs.workload import make_pass

    hw = load_hardware(H100)
    table = kernel_table("gemm")
    table = table[table["dtype"] == "bf16"]
    rows = []
    for _, r in table.iterrows():
        op = Linear("linear", "matmul", 1, in_f=int(r["K"]), out_f=int(r["N"]))
        roof = evaluate_op(op, hw, make_pass(int(r["M"]), 1, 0, 1))
        shape = {"shape": r["shape"], "M": int(r["M"]), "N": int(r["N"]), "K": int(r["K"])}
        rows.append({**shape, "measured_s": r["graph_s"], "roofline_s": roof["inference_time"], "bound": roof["bound"]})
    out = pd.DataFrame(rows)
    return out.assign(fraction_of_roofline=out["roofline_s"] / out["measured_s"])


def models_vs_roofline() -> pd.DataFrame:
    """Measured Hugging Face forward passes (eager, and decode under a CUDA graph) against
    the engine's roofline of the same pass: prefill of ``L`` tokens, or one decode step with
    ``L`` cached tokens, at batch ``B`` (bf16, fused causal attention)."""
    from ..engine.analysis import analyze

    table = kernel_table("models")
    rows = []
    for _, r in table.iterrows():
        stage = "prefill" if r["phase"] == "prefill" else "decode"
        res = analyze(r["model"], H100, batch_size=int(r["B"]), seqlen=int(r["L"]), stages=(stage,),
                      use_flashattention=True, causal_attention=True)  # fmt: skip
        rows.append({"model": r["model"], "stage": stage, "mode": r["mode"], "run": r["run"], "batch": int(r["B"]),
                     "length": int(r["L"]), "measured_s": r["median_s"],
                     "roofline_s": getattr(res, stage).time})  # fmt: skip
    out = pd.DataFrame(rows)
    return out.assign(fraction_of_roofline=out["roofline_s"] / out["measured_s"])
