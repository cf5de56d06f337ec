"""Measure kernel and whole-model timings on one GPU, for calibrating the roofline engine.

Run from the repository root (on a machine with a CUDA GPU):

    PYTHONUNBUFFERED=1 python3 benchmarks/gpu/measure_h100.py --out OUTDIR

or, to check the logic on a CPU with tiny sizes (no GPU needed):

    python benchmarks/gpu/measure_h100.py --smoke --out /tmp/smoke

Writes, into OUTDIR (rewritten after every row, so a run cut short still leaves data):

* ``environment.json`` - versions, GPU name and properties, nvidia-smi clocks, date.
* ``bandwidth.csv``    - device-to-device copy (bytes read + written) and a read-only sum.
* ``gemm.csv``         - ``F.linear(x[M,K], W[N,K])`` in bf16 (and fp8 ``torch._scaled_mm``
                         where it works), eager and CUDA-graph timings.
* ``attention.csv``    - ``F.scaled_dot_product_attention`` prefill (causal) and decode
                         (q_len=1), per SDPA backend, eager and CUDA-graph timings.
* ``models.csv``       - Hugging Face ``LlamaForCausalLM`` with random weights: prefill
                         forward and one decode step (eager; CUDA graph where capture works).

Timing: CUDA events around a region, warm-up first, median (and min) of ``--reps``
repetitions. Kernels are timed over a loop of ``inner`` calls per repetition (per-call
time reported) with weights / KV rotated among copies totalling >= 256 MB so that the
50 MB L2 cache does not hold them between calls.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import gc
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import traceback

import torch
import torch.nn.functional as F

T0 = time.time()
ROT_BYTES = 256e6  # rotate inputs among copies totalling at least this many bytes


def log(msg: str) -> None:
    print(f"[{time.time() - T0:7.1f}s] {msg}", flush=True)


class Table:
    """Rows accumulated in memory and rewritten to a CSV after every row."""

    def __init__(self, path: str):
        self.path = path
        self.rows: list[dict] = []

    def add(self, **row) -> None:
        self.rows.append(row)
        fields: list[str] = []
        for r in self.rows:
            for k in r:
                if k not in fields:
                    fields.append(k)
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            for r in self.rows:
                w.writerow(r)
        os.replace(tmp, self.path)


class Ctx:
    def __init__(self, args):
        self.args = args
        self.smoke = args.smoke
        self.dev = torch.device("cpu" if args.smoke else "cuda")
        self.cuda = self.dev.type == "cuda"
        self.reps = args.reps
        self.deadline = args.deadline

    def left(self) -> float:
        return self.deadline - (time.time() - T0)

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def free(self) -> None:
        gc.collect()
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()


def _median_min(ts):
    return statistics.median(ts), min(ts)


def bench(
    ctx: Ctx,
    call,
    n_inputs: int = 1,
    target_s: float = 2e-3,
    warmup: int = 3,
    reps: int | None = None,
    graph: bool = True,
    max_inner: int = 200,
):
    """Time ``call(i)`` (one operation on input set ``i % n_inputs``).

    Returns dict: inner, eager_s, eager_min_s, graph_s, graph_min_s, graph_err (per call).
    """
    reps = reps or ctx.reps
    out = {}
    # calibrate
    call(0)
    ctx.sync()
    if ctx.cuda:
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        call(0)
        e.record()
        e.synchronize()
        t1 = s.elapsed_time(e) / 1e3
    else:
        t = time.perf_counter()
        call(0)
        t1 = time.perf_counter() - t
    inner = int(max(1, min(max_inner, math.ceil(target_s / max(t1, 1e-7)))))
    out["inner"] = inner
    k = 0
    for _ in range(warmup):
        for _ in range(inner):
            call(k % n_inputs)
            k += 1
    ctx.sync()
    ts = []
    if ctx.cuda:
        evs = []
        for _ in range(reps):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for _ in range(inner):
                call(k % n_inputs)
                k += 1
            e.record()
            evs.append((s, e))
        torch.cuda.synchronize()
        ts = [s.elapsed_time(e) / 1e3 / inner for s, e in evs]
    else:
        for _ in range(reps):
            t = time.perf_counter()
            for _ in range(inner):
                call(k % n_inputs)
                k += 1
            ts.append((time.perf_counter() - t) / inner)
    out["eager_s"], out["eager_min_s"] = _median_min(ts)
    out["graph_s"] = out["graph_min_s"] = float("nan")
    out["graph_err"] = ""
    if graph and ctx.cuda:
        g = None
        try:
            st = torch.cuda.Stream()
            st.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(st):
                for j in range(2):
                    call(j % n_inputs)
            torch.cuda.current_stream().wait_stream(st)
            torch.cuda.synchronize()
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                for j in range(inner):
                    call(j % n_inputs)
            for _ in range(2):
                g.replay()
            torch.cuda.synchronize()
            evs = []
            for _ in range(reps):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                g.replay()
                e.record()
                evs.append((s, e))
            torch.cuda.synchronize()
            ts = [s.elapsed_time(e) / 1e3 / inner for s, e in evs]
            out["graph_s"], out["graph_min_s"] = _median_min(ts)
        except Exception as ex:  # noqa: BLE001
            out["graph_err"] = f"{type(ex).__name__}: {str(ex)[:150]}"
            try:
                torch.cuda.synchronize()
            except Exception:  # noqa: BLE001
                pass
        del g
    return out


# --------------------------------------------------------------------------- environment


def nvidia_smi() -> dict:
    q = (
        "name,driver_version,memory.total,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,"
        "clocks.applications.graphics,power.draw,power.limit,temperature.gpu,pstate"
    )
    try:
        r = subprocess.run(
            ["nvidia-smi", f"--query-gpu={q}", "--format=csv"], capture_output=True, text=True, timeout=30
        )
        lines = [ln for ln in r.stdout.strip().splitlines() if ln.strip()]
        if len(lines) >= 2:
            keys = [k.strip() for k in lines[0].split(",")]
            vals = [v.strip() for v in lines[1].split(",")]
            return dict(zip(keys, vals))
        return {"error": (r.stderr or r.stdout)[:300]}
    except Exception as ex:  # noqa: BLE001
        return {"error": f"{type(ex).__name__}: {ex}"}


def environment(ctx: Ctx) -> dict:
    import transformers

    env = {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if ctx.cuda else None,
        "transformers": transformers.__version__,
        "smoke": ctx.smoke,
        "argv": sys.argv,
    }
    if ctx.cuda:
        p = torch.cuda.get_device_properties(0)
        env["gpu_name"] = p.name
        env["gpu_total_memory_bytes"] = p.total_memory
        env["gpu_multiprocessors"] = p.multi_processor_count
        env["gpu_capability"] = f"{p.major}.{p.minor}"
        env["gpu_l2_cache_bytes"] = getattr(p, "L2_cache_size", None)
        env["nvidia_smi_before"] = nvidia_smi()
    return env


# --------------------------------------------------------------------------- bandwidth


def run_bandwidth(ctx: Ctx, tab: Table) -> None:
    sizes = [2**20, 2**22] if ctx.smoke else [2**28, 2**30, 2**32]
    for nbytes in sizes:
        n = nbytes // 2
        src = torch.randn(n, device=ctx.dev, dtype=torch.bfloat16)
        dst = torch.empty_like(src)
        r = bench(ctx, lambda i: dst.copy_(src), target_s=1e-3, reps=max(ctx.reps, 20))
        moved = 2 * nbytes
        tab.add(
            op="copy_d2d",
            bytes_per_tensor=nbytes,
            bytes_moved=moved,
            inner=r["inner"],
            eager_s=r["eager_s"],
            eager_min_s=r["eager_min_s"],
            graph_s=r["graph_s"],
            GBps_eager=moved / r["eager_s"] / 1e9,
            GBps_graph=moved / r["graph_s"] / 1e9,
        )
        log(
            f"copy {nbytes / 2**30:.2f} GiB: {moved / r['eager_s'] / 1e12:.3f} TB/s (eager), "
            f"{moved / r['graph_s'] / 1e12:.3f} TB/s (graph)"
        )
        ok = torch.equal(dst, src)
        if not ok:
            log("WARNING: copy result differs from source")
        r = bench(ctx, lambda i: torch.sum(src, dtype=torch.float32), target_s=1e-3, reps=max(ctx.reps, 20))
        tab.add(
            op="sum_read",
            bytes_per_tensor=nbytes,
            bytes_moved=nbytes,
            inner=r["inner"],
            eager_s=r["eager_s"],
            eager_min_s=r["eager_min_s"],
            graph_s=r["graph_s"],
            GBps_eager=nbytes / r["eager_s"] / 1e9,
            GBps_graph=nbytes / r["graph_s"] / 1e9,
        )
        log(f"sum  {nbytes / 2**30:.2f} GiB: {nbytes / r['eager_s'] / 1e12:.3f} TB/s (eager)")
        del src, dst
        ctx.free()


# --------------------------------------------------------------------------- GEMM


def run_gemm(ctx: Ctx, tab: Table) -> None:
    if ctx.smoke:
        shapes = [("qkvo", 64, 64), ("up", 64, 172), ("down", 172, 64), ("lm_head", 64, 500)]
        ms = [1, 2, 4, 8, 16]
    else:
        shapes = [
            ("attn_proj_4096x4096", 4096, 4096),
            ("mlp_up_4096x11008", 4096, 11008),
            ("mlp_down_11008x4096", 11008, 4096),
            ("lm_head_4096x32000", 4096, 32000),
        ]
        ms = [2**i for i in range(15)]  # 1 .. 16384
    fp8_ok = hasattr(torch, "float8_e4m3fn") and hasattr(torch, "_scaled_mm") and ctx.cuda
    jobs = [(n, k, n_, m) for (n, k, n_) in shapes for m in ms]
    jobs.append(("square_peak", 64 if ctx.smoke else 8192, 64 if ctx.smoke else 8192, 64 if ctx.smoke else 8192))
    for name, K, N, M in jobs:
        if ctx.left() < 0:
            tab.add(shape=name, M=M, N=N, K=K, status="skipped: deadline")
            continue
        wbytes = N * K * 2
        nw = int(min(32, max(1, math.ceil(ROT_BYTES / wbytes))))
        ws = [torch.randn(N, K, device=ctx.dev, dtype=torch.bfloat16) * 0.02 for _ in range(nw)]
        x = torch.randn(M, K, device=ctx.dev, dtype=torch.bfloat16)
        # correctness check against float64 once per shape / M
        y = F.linear(x, ws[0])
        ref = x[: min(M, 64)].double() @ ws[0].double().T
        rel = float((y[: min(M, 64)].double() - ref).norm() / ref.norm())
        r = bench(ctx, lambda i: F.linear(x, ws[i]), n_inputs=nw)
        flops = 2 * M * N * K
        byts = 2 * (M * K + N * K + M * N)
        row = dict(
            shape=name,
            M=M,
            N=N,
            K=K,
            dtype="bf16",
            flops=flops,
            bytes_min=byts,
            n_weight_copies=nw,
            inner=r["inner"],
            eager_s=r["eager_s"],
            eager_min_s=r["eager_min_s"],
            graph_s=r["graph_s"],
            graph_min_s=r["graph_min_s"],
            TFLOPs_graph=flops / r["graph_s"] / 1e12,
            GBps_graph=byts / r["graph_s"] / 1e9,
            TFLOPs_eager=flops / r["eager_s"] / 1e12,
            GBps_eager=byts / r["eager_s"] / 1e9,
            rel_err_vs_fp64=rel,
            graph_err=r["graph_err"],
            status="ok",
        )
        # fp8 (e4m3, per-tensor scale 1), best effort only
        row["fp8_graph_s"] = float("nan")
        row["fp8_eager_s"] = float("nan")
        row["fp8_err"] = ""
        if fp8_ok:
            try:
                w8 = [w.to(torch.float8_e4m3fn) for w in ws]
                x8 = x.to(torch.float8_e4m3fn)
                one = torch.ones((), device=ctx.dev, dtype=torch.float32)

                def f8(i):
                    return torch._scaled_mm(x8, w8[i].t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

                r8 = bench(ctx, f8, n_inputs=nw)
                row["fp8_eager_s"] = r8["eager_s"]
                row["fp8_graph_s"] = r8["graph_s"]
                del w8, x8
            except Exception as ex:  # noqa: BLE001
                row["fp8_err"] = f"{type(ex).__name__}: {str(ex)[:120]}"
        tab.add(**row)
        log(
            f"gemm {name:22s} M={M:6d}: graph {r['graph_s'] * 1e6:10.1f} us  eager "
            f"{r['eager_s'] * 1e6:10.1f} us  {flops / r['eager_s'] / 1e12:7.1f} TFLOP/s  "
            f"{byts / r['eager_s'] / 1e9:7.0f} GB/s  fp8 {row['fp8_graph_s'] * 1e6:9.1f} us  "
            f"rel {rel:.1e} {r['graph_err'][:40]} {row['fp8_err'][:40]}"
        )
        del ws, x, y, ref
        ctx.free()


# --------------------------------------------------------------------------- attention


def _backends():
    from torch.nn.attention import SDPBackend

    return [
        ("flash", SDPBackend.FLASH_ATTENTION),
        ("efficient", SDPBackend.EFFICIENT_ATTENTION),
        ("cudnn", SDPBackend.CUDNN_ATTENTION),
        ("math", SDPBackend.MATH),
    ]


def _profile_kernels(ctx: Ctx, fn) -> str:
    """Names of the GPU kernels ``fn`` launches (to tell which SDPA backend ran)."""
    if not ctx.cuda:
        return ""
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        # keep kernel names; drop runtime/driver API entries (cudaX, cuX) and memsets
        api = re.compile(r"^(cu[A-Z]|cuda|Activity|Memset|Memcpy)")
        names = sorted({e.key for e in prof.key_averages() if not api.match(e.key)})
        return "|".join(n[:100] for n in names)[:400]
    except Exception as ex:  # noqa: BLE001
        return f"profiler error {type(ex).__name__}"


def run_attention(ctx: Ctx, tab: Table) -> None:
    from torch.nn.attention import sdpa_kernel

    H, D = (4, 16) if ctx.smoke else (32, 128)
    jobs = []
    for B in (1, 8):
        for S in (16, 32) if ctx.smoke else (512, 2048, 8192):
            jobs.append(("prefill", B, H, H, S, S, True))
    for kvh in (H, 2) if ctx.smoke else (32, 8):
        for B in (1, 8, 32, 64):
            for L in (16, 32) if ctx.smoke else (512, 2048, 8192):
                jobs.append(("decode", B, H, kvh, 1, L, False))
    for phase, B, Hq, Hkv, Sq, Skv, causal in jobs:
        if ctx.left() < 0:
            tab.add(
                phase=phase,
                B=B,
                Hq=Hq,
                Hkv=Hkv,
                head_dim=D,
                q_len=Sq,
                kv_len=Skv,
                backend="all",
                status="skipped: deadline",
            )
            continue
        kvbytes = 2 * B * Hkv * Skv * D * 2
        qbytes = B * Hq * Sq * D * 2
        nrot = int(min(16, max(1, math.ceil(ROT_BYTES / (kvbytes + 2 * qbytes)))))
        qs = [torch.randn(B, Hq, Sq, D, device=ctx.dev, dtype=torch.bfloat16) for _ in range(nrot)]
        ks = [torch.randn(B, Hkv, Skv, D, device=ctx.dev, dtype=torch.bfloat16) for _ in range(nrot)]
        vs = [torch.randn(B, Hkv, Skv, D, device=ctx.dev, dtype=torch.bfloat16) for _ in range(nrot)]
        gqa = Hkv != Hq
        kw = dict(is_causal=causal)
        if gqa:
            kw["enable_gqa"] = True
        if causal:
            flops = 4 * B * Hq * D * (Sq * (Sq + 1) / 2)  # QK^T and PV over the causal half
        else:
            flops = 4 * B * Hq * D * Sq * Skv
        byts = kvbytes + 2 * qbytes  # read q, k, v; write o
        # reference for a correctness check (small slice, float64 math)
        ref = None
        try:
            qd, kd, vd = qs[0][:1, :2].double(), ks[0][:1], vs[0][:1]
            if gqa:
                rep = Hq // Hkv
                kd, vd = kd.repeat_interleave(rep, dim=1), vd.repeat_interleave(rep, dim=1)
            kd, vd = kd[:, :2].double(), vd[:, :2].double()
            ref = F.scaled_dot_product_attention(qd, kd, vd, is_causal=causal)
        except Exception:  # noqa: BLE001
            ref = None
        variants = [("default", None)] + _backends()
        for bname, be in variants:
            if bname == "math" and phase == "prefill" and not ctx.smoke and Skv > 2048:
                tab.add(
                    phase=phase,
                    B=B,
                    Hq=Hq,
                    Hkv=Hkv,
                    head_dim=D,
                    q_len=Sq,
                    kv_len=Skv,
                    causal=causal,
                    backend=bname,
                    status="skipped: math backend too large",
                )
                continue

            def call(i, be=be):
                if be is None:
                    return F.scaled_dot_product_attention(qs[i], ks[i], vs[i], **kw)
                with sdpa_kernel([be]):
                    return F.scaled_dot_product_attention(qs[i], ks[i], vs[i], **kw)

            row = dict(
                phase=phase,
                B=B,
                Hq=Hq,
                Hkv=Hkv,
                head_dim=D,
                q_len=Sq,
                kv_len=Skv,
                causal=causal,
                backend=bname,
                flops=flops,
                bytes_min=byts,
                n_rot=nrot,
            )
            try:
                o = call(0)
                rel = float("nan")
                if ref is not None:
                    rel = float((o[:1, :2].double() - ref).norm() / ref.norm())
                del o
                r = bench(ctx, call, n_inputs=nrot)
                kern = _profile_kernels(ctx, lambda: call(0)) if bname == "default" else ""
                row.update(
                    inner=r["inner"],
                    eager_s=r["eager_s"],
                    eager_min_s=r["eager_min_s"],
                    graph_s=r["graph_s"],
                    graph_min_s=r["graph_min_s"],
                    TFLOPs_graph=flops / r["graph_s"] / 1e12,
                    GBps_graph=byts / r["graph_s"] / 1e9,
                    rel_err_vs_fp64=rel,
                    graph_err=r["graph_err"],
                    kernels=kern,
                    status="ok",
                )
                log(
                    f"attn {phase:7s} B={B:2d} Hkv={Hkv:2d} q={Sq:5d} kv={Skv:5d} {bname:9s}: "
                    f"graph {r['graph_s'] * 1e6:9.1f} us eager {r['eager_s'] * 1e6:9.1f} us "
                    f"{flops / r['eager_s'] / 1e12:6.1f} TFLOP/s {byts / r['eager_s'] / 1e9:6.0f} GB/s "
                    f"rel {rel:.1e} {kern[:60]}"
                )
            except Exception as ex:  # noqa: BLE001
                row.update(status=f"error: {type(ex).__name__}: {str(ex)[:150]}")
                log(f"attn {phase} B={B} Hkv={Hkv} kv={Skv} {bname}: {row['status'][:100]}")
                if ctx.cuda:
                    torch.cuda.synchronize()
            tab.add(**row)
        del qs, ks, vs, ref
        ctx.free()


# --------------------------------------------------------------------------- whole models


def _load_model(ctx: Ctx, name: str):
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(os.path.join("llmviewer", "data", "models", name))
    if ctx.smoke:
        cfg.num_hidden_layers = 2
        cfg.hidden_size = 64
        cfg.intermediate_size = 128
        cfg.num_attention_heads = 4
        cfg.num_key_value_heads = 4 if cfg.num_key_value_heads == 32 else 2
        cfg.vocab_size = 500
        if hasattr(cfg, "head_dim"):
            cfg.head_dim = 16
    with torch.device(ctx.dev):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16, attn_implementation="sdpa")
    model.eval()
    return cfg, model


def _kv_dims(cfg):
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return cfg.num_hidden_layers, cfg.num_key_value_heads, hd


def _filled_cache(ctx: Ctx, cfg, B: int, L: int):
    from transformers import DynamicCache

    nl, kvh, hd = _kv_dims(cfg)
    try:
        cache = DynamicCache(config=cfg)
    except TypeError:
        cache = DynamicCache()
    for li in range(nl):
        k = torch.randn(B, kvh, L, hd, device=ctx.dev, dtype=torch.bfloat16)
        v = torch.randn(B, kvh, L, hd, device=ctx.dev, dtype=torch.bfloat16)
        cache.update(k, v, li)
        del k, v
    base = [(layer.keys, layer.values) for layer in cache.layers]
    assert cache.get_seq_length() == L, cache.get_seq_length()
    return cache, base


def _reset_cache(cache, base, L):
    for layer, (k, v) in zip(cache.layers, base):
        layer.keys, layer.values = k, v
    n = cache.get_seq_length()
    assert int(n) == L, (n, L)


def _time_events(ctx: Ctx, fn, reps: int, warmup: int, after=None):
    for _ in range(warmup):
        fn()
        if after:
            after()
    ctx.sync()
    ts, wall = [], []
    for _ in range(reps):
        if ctx.cuda:
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t = time.perf_counter()
            s.record()
            fn()
            e.record()
            e.synchronize()
            wall.append(time.perf_counter() - t)
            ts.append(s.elapsed_time(e) / 1e3)
        else:
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
            wall.append(ts[-1])
        if after:
            after()
    return statistics.median(ts), min(ts), statistics.median(wall)


def _is_oom(ex: Exception) -> bool:
    return isinstance(ex, torch.OutOfMemoryError) or "out of memory" in str(ex).lower()


def run_model(ctx: Ctx, tab: Table, name: str, eager: bool, graph: bool) -> None:
    if ctx.left() < 30:
        tab.add(model=name, phase="all", status="skipped: deadline")
        return
    log(f"model {name}: building (random weights) ...")
    t = time.time()
    cfg, model = _load_model(ctx, name)
    nparam = sum(p.numel() for p in model.parameters())
    wbytes = sum(p.numel() * p.element_size() for p in model.parameters())
    log(f"model {name}: built in {time.time() - t:.1f}s, {nparam / 1e9:.3f} B params, {wbytes / 1e9:.2f} GB")
    nl, kvh, hd = _kv_dims(cfg)
    kv_per_tok = 2 * nl * kvh * hd * 2
    common = dict(
        model=name, n_params=nparam, weight_bytes=wbytes, kv_bytes_per_token=kv_per_tok, dtype="bf16", attn="sdpa"
    )
    small = ctx.smoke
    prefill_cfgs = [(B, L) for B in (1, 8) for L in ((8, 16) if small else (512, 2048))]
    decode_cfgs = [(B, L) for B in (1, 8, 32, 64) for L in ((8, 16) if small else (512, 2048))]
    vocab = cfg.vocab_size
    with torch.inference_mode():
        if eager:
            for B, L in prefill_cfgs:
                row = dict(common, phase="prefill", mode="eager", B=B, L=L, tokens=B * L)
                if ctx.left() < 10:
                    tab.add(**row, status="skipped: deadline")
                    continue
                try:
                    ids = torch.randint(0, vocab, (B, L), device=ctx.dev)

                    def fwd():
                        return model(input_ids=ids, use_cache=True, logits_to_keep=1)

                    med, mn, wall = _time_events(ctx, fwd, reps=ctx.reps, warmup=2)
                    row.update(median_s=med, min_s=mn, wall_median_s=wall, tok_per_s=B * L / med, status="ok")
                    log(f"{name} prefill B={B:2d} L={L:5d}: {med * 1e3:9.2f} ms ({B * L / med:9.0f} tok/s)")
                except Exception as ex:  # noqa: BLE001
                    row.update(
                        status=("skipped: OOM" if _is_oom(ex) else f"error: {type(ex).__name__}: {str(ex)[:150]}")
                    )
                    log(f"{name} prefill B={B} L={L}: {row['status']}")
                    if not _is_oom(ex):
                        traceback.print_exc()
                tab.add(**row)
                ids = None
                ctx.free()
        for B, L in decode_cfgs:
            modes = []
            if eager:
                modes.append("eager")
            if graph and ctx.cuda and B in (1, 8):
                modes.append("cuda_graph")
            if not modes:
                continue
            base_row = dict(common, phase="decode", B=B, L=L, tokens=B)
            kvb = kv_per_tok * B * L
            if ctx.cuda:
                free_b, _ = torch.cuda.mem_get_info()
                need = kvb * (1.15 + (1.0 if "cuda_graph" in modes else 0.0)) + 2e9
                if need > free_b:
                    for m in modes:
                        tab.add(
                            **base_row,
                            mode=m,
                            kv_bytes=kvb,
                            status=f"skipped: OOM (needs ~{need / 1e9:.0f} GB, {free_b / 1e9:.0f} GB free)",
                        )
                    log(f"{name} decode B={B} L={L}: skipped, KV {kvb / 1e9:.1f} GB too large")
                    continue
            if ctx.left() < 10:
                for m in modes:
                    tab.add(**base_row, mode=m, status="skipped: deadline")
                continue
            cache = base = None
            try:
                cache, base = _filled_cache(ctx, cfg, B, L)
                ids = torch.randint(0, vocab, (B, 1), device=ctx.dev)

                def step():
                    return model(input_ids=ids, past_key_values=cache, use_cache=True)

                def reset():
                    _reset_cache(cache, base, L)

                ref_logits = None
                if "eager" in modes:
                    row = dict(base_row, mode="eager", kv_bytes=kvb)
                    try:
                        ref_logits = step().logits.float()
                        reset()
                        med, mn, wall = _time_events(ctx, step, reps=max(ctx.reps, 10), warmup=3, after=reset)
                        row.update(median_s=med, min_s=mn, wall_median_s=wall, tok_per_s=B / med, status="ok")
                        log(f"{name} decode B={B:2d} L={L:5d} eager: {med * 1e3:8.2f} ms (wall {wall * 1e3:8.2f} ms)")
                    except Exception as ex:  # noqa: BLE001
                        row.update(
                            status=("skipped: OOM" if _is_oom(ex) else f"error: {type(ex).__name__}: {str(ex)[:150]}")
                        )
                        log(f"{name} decode B={B} L={L} eager: {row['status']}")
                        if not _is_oom(ex):
                            traceback.print_exc()
                        reset()
                    tab.add(**row)
                if "cuda_graph" in modes:
                    row = dict(base_row, mode="cuda_graph", kv_bytes=kvb)
                    g = None
                    try:
                        if ref_logits is None:
                            ref_logits = step().logits.float()
                            reset()
                        # control: how much do two eager steps on the same input differ?
                        again = step().logits.float()
                        reset()
                        den = float(ref_logits.norm())
                        row["rel_diff_eager_repeat"] = (
                            float((again - ref_logits).norm()) / den if den > 0 else float("nan")
                        )
                        row["logits_finite"] = bool(torch.isfinite(ref_logits).all())
                        del again
                        st = torch.cuda.Stream()
                        st.wait_stream(torch.cuda.current_stream())
                        with torch.cuda.stream(st):
                            for _ in range(3):
                                step()
                                reset()
                        torch.cuda.current_stream().wait_stream(st)
                        torch.cuda.synchronize()
                        g = torch.cuda.CUDAGraph()
                        with torch.cuda.graph(g):
                            static_out = step()
                        reset()
                        g.replay()
                        torch.cuda.synchronize()
                        got = static_out.logits.float()
                        den = float(ref_logits.norm())
                        rel = float((got - ref_logits).norm()) / den if den > 0 else float("nan")
                        med, mn, wall = _time_events(ctx, g.replay, reps=max(ctx.reps, 20), warmup=3)
                        row.update(
                            median_s=med,
                            min_s=mn,
                            wall_median_s=wall,
                            tok_per_s=B / med,
                            rel_diff_vs_eager=rel,
                            status="ok",
                        )
                        log(
                            f"{name} decode B={B:2d} L={L:5d} graph: {med * 1e3:8.2f} ms (rel diff vs eager "
                            f"{rel:.1e}; eager vs eager {row['rel_diff_eager_repeat']:.1e})"
                        )
                        del static_out
                    except Exception as ex:  # noqa: BLE001
                        row.update(status=f"error: {type(ex).__name__}: {str(ex)[:200]}")
                        log(f"{name} decode B={B} L={L} graph: {row['status']}")
                        traceback.print_exc()
                        try:
                            torch.cuda.synchronize()
                        except Exception:  # noqa: BLE001
                            pass
                    tab.add(**row)
                    del g
            except Exception as ex:  # noqa: BLE001
                st_ = "skipped: OOM" if _is_oom(ex) else f"error: {type(ex).__name__}: {str(ex)[:150]}"
                for m in modes:
                    tab.add(**base_row, mode=m, kv_bytes=kvb, status=st_)
                log(f"{name} decode B={B} L={L}: {st_}")
                if not _is_oom(ex):
                    traceback.print_exc()
            cache = base = ids = ref_logits = None
            ctx.free()
    del model
    ctx.free()
    log(f"model {name}: done")


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.environ.get("OUT", "measure_out"))
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (logic check)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument(
        "--deadline", type=float, default=480.0, help="seconds after start beyond which remaining configs are skipped"
    )
    ap.add_argument("--sections", default="bandwidth,gemm,attention,models,graphs")
    ap.add_argument(
        "--models",
        default="Llama-3.1-8B,Llama-2-7b-hf",
        help="order matters: the last one also gets CUDA-graph decode while loaded",
    )
    args = ap.parse_args()
    if not args.smoke and not torch.cuda.is_available():
        print("no CUDA device; use --smoke for a CPU logic check", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    ctx = Ctx(args)
    if ctx.smoke:
        ctx.reps = min(ctx.reps, 3)
    torch.manual_seed(0)
    sections = set(args.sections.split(","))
    env = environment(ctx)
    envpath = os.path.join(args.out, "environment.json")

    def write_env():
        with open(envpath, "w") as f:
            json.dump(env, f, indent=2, default=str)

    write_env()
    log(f"env: {json.dumps({k: env.get(k) for k in ('gpu_name', 'torch', 'torch_cuda', 'transformers')})}")
    log(f"nvidia-smi: {env.get('nvidia_smi_before')}")
    if ctx.cuda:
        torch.backends.cuda.matmul.allow_tf32 = False

    timings = {}
    for sec, fn, fname in (
        ("bandwidth", run_bandwidth, "bandwidth.csv"),
        ("gemm", run_gemm, "gemm.csv"),
        ("attention", run_attention, "attention.csv"),
    ):
        if sec in sections:
            t = time.time()
            try:
                fn(ctx, Table(os.path.join(args.out, fname)))
            except Exception:  # noqa: BLE001
                traceback.print_exc()
            timings[sec] = time.time() - t
            log(f"section {sec} done in {timings[sec]:.1f}s")
    if "models" in sections or "graphs" in sections:
        tab = Table(os.path.join(args.out, "models.csv"))
        names = [n for n in args.models.split(",") if n]
        t = time.time()
        for i, name in enumerate(names):
            last = i == len(names) - 1
            try:
                run_model(ctx, tab, name, eager="models" in sections, graph="graphs" in sections and last)
            except Exception as ex:  # noqa: BLE001
                traceback.print_exc()
                tab.add(model=name, phase="all", status=f"error: {type(ex).__name__}: {str(ex)[:150]}")
                ctx.free()
        # CUDA-graph decode for the models loaded earlier, if time remains
        if "graphs" in sections and ctx.cuda:
            for name in names[:-1]:
                if ctx.left() < 60:
                    tab.add(model=name, phase="decode", mode="cuda_graph", status="skipped: deadline")
                    continue
                try:
                    run_model(ctx, tab, name, eager=False, graph=True)
                except Exception as ex:  # noqa: BLE001
                    traceback.print_exc()
                    tab.add(
                        model=name,
                        phase="decode",
                        mode="cuda_graph",
                        status=f"error: {type(ex).__name__}: {str(ex)[:150]}",
                    )
                    ctx.free()
        timings["models"] = time.time() - t
    env["section_seconds"] = timings
    env["total_seconds"] = time.time() - T0
    if ctx.cuda:
        env["nvidia_smi_after"] = nvidia_smi()
    write_env()
    log("all done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
