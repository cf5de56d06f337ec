"""System-level optimization on the roofline: fusion, KV-cache management, offloading,
batching and parallel serving.

Every model here is built on :func:`llmviewer.analyze` and :func:`llmviewer.generate` (the
roofline of each operator); this module only adds what a serving system changes around them.
Units: seconds, bytes, bytes/s, tokens/s. Each function documents its (simple) model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..arrays import maximum, minimum, where
from ..engine.analysis import analyze, count_pass, kv_cache_bytes, memory_footprint
from ..engine.efficiency import Efficiency
from ..engine.generation import generate
from ..engine.operators import Traffic
from ..engine.roofline import link_bandwidth, pass_time
from ..errors import LLMViewerError
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import Attention, ModelSpec, load_model
from ..specs.workload import Pass, accepts_workload, check_sizes, kv_bit_of, make_pass, pass_arguments
from .broadcast import broadcasting


def _attention_bytes(stage: Any) -> Any:
    """Bytes moved by the attention core (scores, softmax, P V or the fused kernel) of a pass."""
    rows = zip(stage.ops, stage.layers, strict=True)
    return sum((row["memory_access"] * row["count"] for op, row in rows if op.role == "attention"), 0.0)


@accepts_workload(batch_size="batch_size", seqlen="prompt_len")
def fusion_comparison(
    model: str | ModelSpec, hardware: str | Hardware, batch_size: Any = 1, seqlen: Any = 1024, **options: Any
) -> dict[str, dict[str, Any]]:
    """Attention traffic and pass time with and without FlashAttention-style fusion.

    For each stage (``prefill`` of a ``seqlen``-token prompt, one ``decode`` step with ``seqlen``
    cached tokens): ``attention_bytes_unfused`` and ``attention_bytes_fused`` (bytes the attention
    core moves: unfused it writes and re-reads the ``heads x queries x keys`` score and
    probability matrices; fused it reads Q, K, V once and writes the output),
    ``attention_ratio`` (unfused / fused), ``total_bytes_*`` (whole pass, bytes), ``time_*``
    (whole pass, s) and ``speedup`` (unfused / fused time). Numbers or arrays (sweeps)."""
    if "use_flashattention" in options:
        raise LLMViewerError("fusion_comparison sets use_flashattention itself")
    plain = analyze(model, hardware, batch_size, seqlen, use_flashattention=False, **options)
    fused = analyze(model, hardware, batch_size, seqlen, use_flashattention=True, **options)
    out = {}
    for stage in ("prefill", "decode"):
        u, f = getattr(plain, stage), getattr(fused, stage)
        au, af = _attention_bytes(u), _attention_bytes(f)
        out[stage] = {
            "attention_bytes_unfused": au,
            "attention_bytes_fused": af,
            "attention_ratio": au / af,
            "total_bytes_unfused": u.total["memory_access"],
            "total_bytes_fused": f.total["memory_access"],
            "time_unfused": u.time,
            "time_fused": f.time,
            "speedup": u.time / f.time,
        }
    return out


# --------------------------------------------------------------------------- KV cache


def kv_bytes_per_token(model: str | ModelSpec, kv_bit: Any = 16, tensor_parallel: int = 1) -> Any:
    """Bytes of KV cache one token of one sequence adds on one device (all layers; models with
    sliding-window layers: the bytes while the window is not yet full)."""
    m = load_model(model)
    m = m.without_windows()
    if m.linear_layers:  # hybrid: the fixed-size state of linear-attention/SSM layers is not per token
        return kv_cache_bytes(m, 1, 1, kv_bit, tensor_parallel) - kv_cache_bytes(m, 1, 0, kv_bit, tensor_parallel)
    return kv_cache_bytes(m, 1, 1, kv_bit, tensor_parallel)


def kv_budget_model(model: str | ModelSpec, budget: int) -> ModelSpec:
    """The model with a KV-cache budget: every layer keeps and attends to at most ``budget``
    tokens (StreamingLLM / H2O-style eviction), expressed as a sliding window over all layers.
    The roofline only sees how many tokens are kept, not which ones."""
    m = load_model(model)
    budget = check_sizes("budget", budget)
    if m.uses_mla or m.full_attention_kind is not None:
        raise LLMViewerError(
            f"{m.name}: a KV budget is modelled for ordinary (GQA/MHA) attention of one shape only"
            " (not MLA, not Gemma-4's two attention shapes)"
        )
    window = budget if m.sliding_window is None else min(budget, m.sliding_window)
    if m.attention_chunk is not None:  # chunked layers (Llama-4) keep at most one chunk: the budget caps them too
        window = min(window, m.attention_chunk)

    def budgeted(kind: Any) -> Any:  # every attention layer: a window of the budget (NoPE/chunk flags dropped)
        if isinstance(kind, Attention):
            return Attention(kind.heads, kind.kv_heads, kind.head_dim, window, kind.sinks)
        return kind

    return m.map_layers(mixer=budgeted, name=f"{m.name} (KV budget {budget})")


def kv_reservation(
    model: str | ModelSpec,
    lengths: Any,
    max_len: int,
    block_size: int | None = None,
    kv_bit: Any = 16,
    tensor_parallel: int = 1,
) -> dict[str, Any]:
    """KV-cache bytes that sequences of final lengths ``lengths`` (tokens, an array) use and
    reserve under an allocation policy.

    ``block_size=None``: contiguous pre-allocation, every sequence reserves ``max_len`` tokens.
    ``block_size=B``: paged allocation (PagedAttention), a sequence of ``n`` tokens holds
    ``ceil(n / B)`` blocks of ``B`` tokens. Returns ``used``, ``reserved`` and ``waste``
    (= reserved - used) in bytes, ``waste_fraction`` (waste / reserved), per-sequence means
    ``reserved_per_seq``."""
    lengths = np.atleast_1d(check_sizes("lengths", lengths))
    max_len = check_sizes("max_len", max_len)
    if np.any(lengths > max_len):
        raise LLMViewerError(f"a sequence length exceeds max_len={max_len}")
    per_token = kv_bytes_per_token(model, kv_bit, tensor_parallel)
    if block_size is None:
        reserved_tokens = np.full_like(lengths, max_len)
    else:
        b = check_sizes("block_size", block_size)
        reserved_tokens = np.ceil(lengths / b) * b
    used, reserved = lengths.sum() * per_token, reserved_tokens.sum() * per_token
    return {
        "used": used,
        "reserved": reserved,
        "waste": reserved - used,
        "waste_fraction": (reserved - used) / reserved,
        "reserved_per_seq": reserved / lengths.size,
    }


def uniform_lengths(prompt_len: int, max_gen: int) -> np.ndarray:
    """Final lengths of requests with a ``prompt_len``-token prompt and an output length drawn
    uniformly from 1..``max_gen`` (each value once: the exact distribution, no sampling)."""
    return prompt_len + np.arange(1, check_sizes("max_gen", max_gen) + 1)


def max_batch_by_policy(
    model: str | ModelSpec,
    hardware: str | Hardware,
    lengths: Any,
    max_len: int,
    block_size: int | None = None,
    **options: Any,
) -> int:
    """Largest number of concurrent sequences (drawn from the length distribution ``lengths``)
    whose KV reservations fit beside the weights and activations on one device: ``floor((memory
    - weights - activations) / mean reservation per sequence)``, 0 if the weights do not fit.
    The paged count holds each sequence's final length in blocks, so no sequence is ever
    preempted (engines that admit optimistically and preempt fit a little more)."""
    hw = load_hardware(hardware)
    tp = options.get("tensor_parallel", 1)
    mem = memory_footprint(model, batch_size=1, seqlen=max_len, **options)
    act = mem["activations"]
    res = kv_reservation(model, lengths, max_len, block_size, kv_bit_of(options), tp)
    free = hw.memory_bytes - mem["weights"] - act
    return max(math.floor(free / res["reserved_per_seq"]), 0)


# --------------------------------------------------------------------------- offloading


@accepts_workload(batch_size="batch_size", seqlen="prompt_len")
@broadcasting(("weight_offload", "kv_offload"), ("batch_size", "seqlen"))
def offload_step(
    model: str | ModelSpec,
    hardware: str | Hardware,
    batch_size: Any = 1,
    seqlen: Any = 1024,
    weight_offload: float = 1.0,
    kv_offload: float = 0.0,
    overlap: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """One decode step with part of the weights and/or KV cache in host memory (FlexGen-style).

    Each step streams ``weight_offload`` of the weight bytes and ``kv_offload`` of the KV cache
    (``batch x seqlen`` tokens) over the host link (PCIe), at ``host_link_bandwidth`` per direction;
    the GPU runs the step at its own roofline. With ``overlap`` the transfer hides behind the
    compute (time = max), else they add. Returns ``gpu_time``, ``link_time``, ``step_time`` (s),
    ``throughput`` (tokens/s = batch / step time), ``link_bytes``, ``device_memory`` and
    ``host_memory`` (bytes), and ``bound`` ("host link" or the step's roofline bound)."""
    for name, frac in (("weight_offload", weight_offload), ("kv_offload", kv_offload)):
        if not 0 <= frac <= 1:
            raise LLMViewerError(f"{name} must be a fraction in [0, 1], got {frac!r}")
    hw = load_hardware(hardware)
    if hw.host_link_bandwidth is None:
        raise LLMViewerError(f"{hw.name} lists no host-link bandwidth; offloading needs one")
    res = analyze(model, hw, batch_size, seqlen, stages=("decode",), **options)
    mem = res.memory
    link_bytes = weight_offload * mem["weights"] + kv_offload * mem["kv_cache"]
    gpu, link = res.decode.time, link_bytes / hw.host_link_bandwidth
    step = maximum(gpu, link) if overlap else gpu + link
    bound = np.where(link > gpu, "host link", res.decode.total["bound"])
    return {
        "gpu_time": gpu,
        "link_time": link,
        "step_time": step,
        "throughput": batch_size / step,
        "link_bytes": link_bytes,
        "device_memory": mem["total"] - link_bytes,
        "host_memory": link_bytes,
        "bound": bound.item() if bound.ndim == 0 else bound,
    }


def offload_break_even_batch(
    model: str | ModelSpec,
    hardware: str | Hardware,
    seqlen: int = 1024,
    weight_offload: float = 1.0,
    max_batch: int = 1 << 14,
    **options: Any,
) -> int | None:
    """Smallest batch at which the GPU's own decode step takes as long as streaming the offloaded
    weights over the host link (KV cache on the device), so that the transfer is amortised;
    None if it is not reached by ``max_batch``."""
    batch = np.arange(1, max_batch + 1)
    r = offload_step(model, hardware, batch, seqlen, weight_offload=weight_offload, **options)
    hits = np.flatnonzero(r["gpu_time"] >= r["link_time"])
    return int(batch[hits[0]]) if hits.size else None


# --------------------------------------------------------------------------- batching


def expected_max_uniform(n: Any, g: int) -> Any:
    """Expected maximum of ``n`` independent integers uniform on 1..``g``:
    ``g - sum_{k=1}^{g-1} (k/g)^n``."""
    k = np.arange(1, g)
    n = np.asarray(n, dtype=float)
    return g - ((k / g) ** n[..., None]).sum(axis=-1)


def batching_comparison(
    model: str | ModelSpec,
    hardware: str | Hardware,
    batch_size: Any,
    prompt_len: int,
    max_gen: int,
    **options: Any,
) -> dict[str, Any]:
    """Static vs continuous (iteration-level) batching for requests with a ``prompt_len`` prompt
    and an output length uniform on 1..``max_gen`` (mean ``(max_gen+1)/2``).

    Static: a batch of ``batch_size`` requests is prefilled together and decodes until its
    longest request ends (expected :func:`expected_max_uniform` tokens); finished slots idle.
    Continuous (Orca): a finished request is replaced at the next step, so every decode step
    runs ``batch_size`` live sequences (at the mean context ``prompt + mean_gen/2``) and each
    new request's prefill runs as its own pass (batch 1) that stalls the others. The prefill
    yields a request's first token, so a cycle of ``batch_size`` requests costs ``mean_gen - 1``
    steps plus ``batch_size`` prefills. Returns ``static_throughput`` and
    ``continuous_throughput`` (generated tokens/s), ``gain`` (their ratio), ``static_latency``
    and ``continuous_latency`` (mean seconds from a request's start of prefill to its last token,
    no queueing)."""
    max_gen = check_sizes("max_gen", max_gen)
    mean_gen = (max_gen + 1) / 2
    longest = np.rint(expected_max_uniform(batch_size, max_gen))
    longest = longest.item() if longest.ndim == 0 else longest
    static = generate(model, hardware, batch_size, prompt_len, longest, **options)
    static_tp = batch_size * mean_gen / static.total_time
    step = analyze(
        model, hardware, batch_size, prompt_len + math.floor(mean_gen / 2), stages=("decode",), **options
    ).decode.time
    prefill1 = generate(model, hardware, 1, prompt_len, 1, **options).ttft
    # the prefill makes a request's first token; its other mean_gen - 1 come from decode steps
    cont_tp = batch_size * mean_gen / ((mean_gen - 1) * step + batch_size * prefill1)
    return {
        "static_throughput": static_tp,
        "continuous_throughput": cont_tp,
        "gain": cont_tp / static_tp,
        "static_latency": static.total_time,
        "continuous_latency": prefill1 + (mean_gen - 1) * (step + batch_size * prefill1 / mean_gen),
        "expected_longest": longest,
    }


@accepts_workload(prompt_len="prompt_len", gen_len="gen_len")
def throughput_latency(
    model: str | ModelSpec,
    hardware: str | Hardware,
    batches: Any,
    prompt_len: int = 1024,
    gen_len: int = 256,
    **options: Any,
) -> pd.DataFrame:
    """Throughput against latency as the batch grows: one row per batch with ``ttft`` and
    ``tpot`` (s), ``throughput`` (tokens/s), per-device ``memory`` (bytes) and ``fits``."""
    b = np.atleast_1d(np.asarray(batches))
    hw = load_hardware(hardware)
    g = generate(model, hw, b, prompt_len, gen_len, **options)
    mem = memory_footprint(model, b, prompt_len + gen_len, **options)["total"]
    return pd.DataFrame(
        {
            "batch": b,
            "ttft": g.ttft,
            "tpot": g.tpot_mean,
            "throughput": g.throughput,
            "memory": mem,
            "fits": mem <= hw.memory_bytes,
        }
    )


# --------------------------------------------------------------------------- chunked prefill


def _pass(batch: int, new: int, past: int, options: dict[str, Any]) -> Pass:
    return make_pass(batch, new, past, 1, **pass_arguments(options))


def _weight_total(counted: list) -> Any:
    return sum(op.count * t.load_weight for op, t, _ in counted)


def chunked_prefill_pass(
    model: str | ModelSpec,
    hardware: str | Hardware,
    chunk: int,
    decode_batch: int,
    prefill_past: int = 0,
    decode_context: int = 1024,
    **options: Any,
) -> dict[str, Any]:
    """Roofline time of ONE mixed pass (Sarathi's chunked prefill): a prefill chunk of ``chunk``
    tokens of one request (``prefill_past`` of its tokens already cached) together with one
    decode token for each of ``decode_batch`` running sequences (``decode_context`` cached
    tokens each).

    Model: both halves are counted by :func:`llmviewer.engine.analysis.count_pass` (a prefill pass of
    batch 1 and a decode pass of batch ``decode_batch``); per operator the OPs, activation, KV
    and link bytes add up, while the weights are read ONCE for the whole pass (the larger of the
    two ``load_weight``). Each merged operator is then placed on the roofline. Both passes use
    the same layout (no MLA absorption), so that their operators pair up. ``decode_batch = 0``
    is the plain prefill pass. Options: ``w_bit``, ``a_bit``, ``kv_bit``, ``use_flashattention``,
    ``causal_attention``, ``w_group_size``, ``w_group_bits``, ``tensor_parallel``.

    Returns ``time_mixed``, ``time_prefill``, ``time_decode`` (the two as separate passes; 0 for
    no decode tokens), ``time_separate`` (their sum), ``saving`` (separate - mixed), and the
    weight bytes read by each (``weight_bytes_mixed``, ``_prefill``, ``_decode``), all in
    seconds and bytes. Scalars only."""
    m = load_model(model)
    hw = load_hardware(hardware)
    decode_batch = check_sizes("decode_batch", decode_batch, minimum_value=0)
    pre_p = _pass(1, chunk, prefill_past, options)
    pre = count_pass(m, pre_p)
    t_pre = pass_time(pre, hw, pre_p.tokens)
    out = {"time_prefill": t_pre, "weight_bytes_prefill": _weight_total(pre)}
    if decode_batch == 0:
        out.update(time_decode=0.0, weight_bytes_decode=0.0, time_mixed=t_pre, weight_bytes_mixed=_weight_total(pre))
    else:
        dec_p = _pass(decode_batch, 1, decode_context, options)
        dec = count_pass(m, dec_p)
        mixed = []
        for (op, a, bits), (op_d, b, _) in zip(pre, dec, strict=True):
            if op.name != op_d.name:  # pragma: no cover - same layout by construction
                raise LLMViewerError(f"operators do not pair up: {op.name} vs {op_d.name}")
            merged = Traffic(
                OPs=a.OPs + b.OPs,
                load_weight=maximum(a.load_weight, b.load_weight),
                load_act=a.load_act + b.load_act,
                store_act=a.store_act + b.store_act,
                load_kv_cache=a.load_kv_cache + b.load_kv_cache,
                store_kv_cache=a.store_kv_cache + b.store_kv_cache,
                link_bytes=a.link_bytes + b.link_bytes,
            )
            mixed.append((op, merged, bits))
        out.update(
            time_decode=pass_time(dec, hw, dec_p.tokens),
            weight_bytes_decode=_weight_total(dec),
            time_mixed=pass_time(mixed, hw, pre_p.tokens + dec_p.tokens),
            weight_bytes_mixed=_weight_total(mixed),
        )
    out["time_separate"] = out["time_prefill"] + out["time_decode"]
    out["saving"] = out["time_separate"] - out["time_mixed"]
    return out


def prefill_stall(
    model: str | ModelSpec,
    hardware: str | Hardware,
    prompt_len: int,
    chunk: int,
    decode_batch: int,
    decode_context: int = 1024,
    **options: Any,
) -> dict[str, Any]:
    """What a new ``prompt_len``-token prompt costs the ``decode_batch`` sequences decoding
    beside it (each with ``decode_context`` cached tokens).

    Whole: the prompt is one prefill pass, then the decode step runs, so one output token of
    every running sequence waits ``prefill + decode`` seconds (``tpot_whole``). Chunked: the
    prompt is split into ``ceil(prompt_len / chunk)`` chunks, each riding in a mixed pass with one
    decode token per sequence (:func:`chunked_prefill_pass`); each such pass is one output token
    (``tpot_chunked``, the mean over the chunks, and ``tpot_chunked_max``). Also ``tpot_plain``
    (a decode step with no prefill), ``prefill_time_whole`` and ``prefill_time_chunked`` (time
    until the prompt is fully prefilled: its first token), and ``chunks``. Seconds."""
    prompt_len = check_sizes("prompt_len", prompt_len)
    chunk = check_sizes("chunk", chunk)
    n = math.ceil(prompt_len / chunk)
    times = []
    for k in range(n):
        size = min(chunk, prompt_len - k * chunk)
        r = chunked_prefill_pass(model, hardware, size, decode_batch, k * chunk, decode_context, **options)
        times.append(r["time_mixed"])
    whole = chunked_prefill_pass(model, hardware, prompt_len, decode_batch, 0, decode_context, **options)
    return {
        "chunks": n,
        "tpot_plain": whole["time_decode"],
        "tpot_whole": whole["time_separate"],
        "tpot_chunked": sum(times) / n,
        "tpot_chunked_max": max(times),
        "prefill_time_whole": whole["time_prefill"],
        "prefill_time_chunked": sum(times),
    }


# --------------------------------------------------------------------------- split-K decoding

H100_SMS = 132
"""Streaming multiprocessors of an H100 SXM5 (NVIDIA H100 Tensor Core GPU Architecture
whitepaper, 2022); the default of :func:`split_k_attention`."""


def split_k_attention(
    model: str | ModelSpec,
    hardware: str | Hardware,
    batch_size: Any = 1,
    context: Any = 4096,
    splits: int | None = None,
    sms: int = H100_SMS,
    blocks_per_sm: int = 1,
    kv_bit: Any = 16,
    a_bit: Any = 16,
) -> dict[str, Any]:
    """Decode attention time with one thread block per (sequence, KV head) and with the keys
    split into ``splits`` chunks (Flash-Decoding).

    Model: the attention core of one decode step moves the bytes the engine counts for its fused
    kernel (:func:`llmviewer.engine.analysis.count_pass`, FlashAttention on), but a kernel with ``P``
    independent thread blocks draws only the fraction ``min(1, P / (sms * blocks_per_sm))`` of the
    memory bandwidth (too few blocks leave SMs idle). One block per (sequence, KV head) gives
    ``P = batch x KV heads``; split-K gives ``P x splits``, at the cost of writing and re-reading
    each split's partial output and its softmax max and sum (fp32) for every query head, moved
    at the full bandwidth. ``sms`` defaults to the H100 SXM5's 132 (``hardware`` only sets the
    bandwidth). ``splits=None`` picks the fewest splits that fill the device, each of at least
    128 keys. Numbers or arrays for ``batch_size`` and ``context``.

    Returns ``blocks`` and ``fraction`` (without split), ``splits``, ``fraction_split``,
    ``attention_bytes``, ``reduction_bytes``, ``time_plain``, ``time_split`` (attention plus
    reduction) and ``reduction_time``, in bytes and seconds, and ``speedup``."""
    m = load_model(model)
    hw = load_hardware(hardware)
    batch_size = check_sizes("batch_size", batch_size)
    context = check_sizes("context", context)
    p = make_pass(batch_size, 1, context, 1, a_bit=a_bit, kv_bit=kv_bit, flash_attention=True)
    attn = 0.0
    for op, t, _ in count_pass(m, p):
        if op.role == "attention":  # with FlashAttention on: the fused kernel
            attn = attn + op.count * t.memory_access
    target = sms * blocks_per_sm
    blocks = batch_size * m.num_kv_heads
    if splits is None:
        s = np.maximum(1, np.minimum(np.ceil(target / blocks), np.ceil(context / 128)))
        s = s if isinstance(s, np.ndarray) and s.ndim else int(s)
    else:
        s = check_sizes("splits", splits)
    fraction = minimum(1.0, blocks / target)
    fraction_split = minimum(1.0, blocks * s / target)
    partial = m.num_layers * batch_size * m.num_heads * (m.head_dim + 2) * 4
    reduction_bytes = where(s > 1, 2 * s * partial, 0.0)  # each split writes its partials, the merge reads them
    bw = hw.memory_bandwidth
    time_plain = attn / (bw * fraction)
    reduction_time = reduction_bytes / bw
    time_split = attn / (bw * fraction_split) + reduction_time
    return {
        "blocks": blocks,
        "fraction": fraction,
        "splits": s,
        "fraction_split": fraction_split,
        "attention_bytes": attn,
        "reduction_bytes": reduction_bytes,
        "time_plain": time_plain,
        "time_split": time_split,
        "reduction_time": reduction_time,
        "speedup": time_plain / time_split,
    }


# --------------------------------------------------------------------------- parallel serving


def bubble_fraction(stages: Any, micro_batches: Any) -> Any:
    """Idle share of a GPipe schedule with flush: ``(p - 1) / (m + p - 1)`` for ``p`` stages and
    ``m`` micro-batches."""
    return (stages - 1) / (micro_batches + stages - 1)


@accepts_workload(batch_size="batch_size", prompt_len="prompt_len", gen_len="gen_len")
@broadcasting(("batch_size", "prompt_len", "gen_len"))
def serve(
    model: str | ModelSpec,
    hardware: str | Hardware,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    batch_size: int = 1,
    prompt_len: int = 1024,
    gen_len: int = 256,
    micro_batches: int | None = None,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Latency, throughput and per-device memory of a generation task on ``tensor_parallel x
    pipeline_parallel`` devices.

    Tensor parallelism is the engine's (each device runs a 1/tp slice, all-reduces on the link
    roof). Pipeline parallelism splits the layers into ``pp`` equal stages (weights, KV cache
    and time each 1/pp of the tensor-parallel model's; embeddings and head spread evenly, an
    approximation). The batch runs as ``micro_batches`` micro-batches (default ``min(pp,
    batch)``; must divide the batch); every forward pass (prefill, each decode step) is a GPipe
    schedule with flush, ``(m + pp - 1)`` stage slots of one micro-batch, plus sending each
    micro-batch's hidden states across the ``pp - 1`` stage boundaries at the link bandwidth.
    Returns ``ttft``, ``tpot`` and ``total_time`` (s), ``throughput`` (generated tokens/s),
    ``memory_per_device`` (bytes), ``fits``, ``bubble`` (idle fraction), ``prefill_bound`` and
    ``decode_bound`` (of one device's stage), ``devices``. ``calibration``: as for
    :func:`llmviewer.analyze` (None: the pure roofline)."""
    hw = load_hardware(hardware)
    m = load_model(model)
    tp = check_sizes("tensor_parallel", tensor_parallel)
    pp = check_sizes("pipeline_parallel", pipeline_parallel)
    batch = check_sizes("batch_size", batch_size)
    mb = min(pp, batch) if micro_batches is None else check_sizes("micro_batches", micro_batches)
    if batch % mb:
        raise LLMViewerError(f"micro_batches={mb} must divide batch_size={batch}")
    if m.num_layers % pp:
        raise LLMViewerError(f"pipeline_parallel={pp} does not divide {m.name}'s {m.num_layers} layers")
    if pp > 1 or tp > 1:
        link_bandwidth(hw)  # raises a clear error when the device has no link
    micro = batch // mb
    g = generate(m, hw, micro, prompt_len, gen_len, calibration=calibration, tensor_parallel=tp, **options)
    slots = (mb + pp - 1) / pp
    a_bytes = options.get("a_bit", 16) / 8
    hop = (pp - 1) * m.hidden_size * a_bytes / (link_bandwidth(hw) if pp > 1 else 1.0)
    ttft = slots * g.ttft + hop * micro * prompt_len
    steps = gen_len - 1
    decode = slots * g.decode_time + hop * micro * steps
    total = ttft + decode
    mem = memory_footprint(m, batch, prompt_len + gen_len, tensor_parallel=tp, **options)
    mem_micro = memory_footprint(m, micro, prompt_len + gen_len, tensor_parallel=tp, **options)
    per_device = (mem["weights"] + mem["kv_cache"]) / pp + mem_micro["activations"]
    stage = analyze(m, hw, micro, prompt_len, calibration=calibration, tensor_parallel=tp, **options)
    return {
        "devices": tp * pp,
        "ttft": ttft,
        "tpot": decode / steps if steps else float("nan"),
        "total_time": total,
        "throughput": batch * gen_len / total,
        "memory_per_device": per_device,
        "fits": bool(per_device <= hw.memory_bytes),
        "bubble": bubble_fraction(pp, mb),
        "prefill_bound": str(stage.prefill.total["bound"]),
        "decode_bound": str(stage.decode.total["bound"]),
    }


@broadcasting(("batch_size", "prompt_len", "gen_len"))
def disaggregation(
    model: str | ModelSpec,
    hardware: str | Hardware,
    prefill_devices: int,
    decode_devices: int,
    batch_size: int = 32,
    prompt_len: int = 1024,
    gen_len: int = 256,
    **options: Any,
) -> dict[str, Any]:
    """Colocated vs disaggregated prefill and decode (DistServe/Splitwise-style), per device pool.

    Colocated: all ``prefill_devices + decode_devices`` devices run continuous batching with
    ``batch_size`` live sequences; to keep the batch full each device prefills ``batch_size /
    gen_len`` new requests per decode step (batch-1 prefills), which stall that step, so
    ``tpot = step + (batch/gen) * prefill``. Disaggregated: prefill devices only prefill
    (``1 / prefill`` requests/s each), decode devices only decode (``tpot = step``), and each
    request's KV cache crosses the link (adds ``kv_bytes / link`` to its TTFT). System
    throughput (generated tokens/s) is the smaller of the two pools' rates. Returns, for
    ``colocated`` and ``disaggregated``: ``ttft``, ``tpot`` (s), ``throughput`` (tokens/s)."""
    hw = load_hardware(hardware)
    x, y = check_sizes("prefill_devices", prefill_devices), check_sizes("decode_devices", decode_devices)
    prefill = generate(model, hw, 1, prompt_len, 1, **options).ttft
    step = analyze(model, hw, batch_size, prompt_len + gen_len // 2, stages=("decode",), **options).decode.time
    kv = kv_cache_bytes(load_model(model), 1, prompt_len, kv_bit_of(options))
    co_tpot = step + batch_size / gen_len * prefill
    n = x + y
    dis_rate = min(x / prefill * gen_len, y * batch_size / step)
    return {
        "colocated": {"ttft": prefill, "tpot": co_tpot, "throughput": n * batch_size / co_tpot},
        "disaggregated": {"ttft": prefill + kv / link_bandwidth(hw), "tpot": step, "throughput": dis_rate},
    }
