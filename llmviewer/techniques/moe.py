"""Mixture-of-experts routing statistics and their cost on the roofline.

Units: parameters are counts, bytes are bytes, times are seconds (the engine's roofline).

The engine's MoE operator (:class:`llmviewer.layers.ExpertLinear`) assumes uniform routing.
Real routers are skewed: a few experts are popular. We model expert popularity as a Zipf
(power-law) distribution, ``p_e`` proportional to ``e**-s`` (``s = 0``: uniform), and a token
that picks ``top_k`` experts as including expert ``e`` with probability ``q_e = min(1, c p_e)``,
with ``c`` chosen so that ``sum q_e = top_k`` (inclusion proportional to popularity, capped
at 1). Tokens route independently, so ``T`` tokens touch

    E[distinct experts] = sum_e 1 - (1 - q_e)**T.

This is exact for ``top_k = 1`` (``q = p``) and for uniform routing (it equals
``E (1 - (1 - k/E)**T)``, the engine's formula); for ``top_k > 1`` with skew it is an
approximation, since one token's ``top_k`` choices are not independent of each other.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .analysis import resolve_efficiency
from .errors import LLMViewerError
from .generation import pass_time
from .hardware import Hardware, load_hardware
from .layers import ExpertLinear, Traffic, build_ops, parameter_count
from .models import ModelSpec, load_model
from .roofline import Efficiency
from .workload import Pass, check_options, make_pass


def zipf_popularity(num_experts: int, s: float = 0.0) -> np.ndarray:
    """Routing probabilities of ``num_experts`` experts, ``p_e`` proportional to ``e**-s``
    (rank ``e`` = 1..E); ``s = 0`` is uniform. Sums to 1."""
    if not np.isfinite(s) or s < 0:
        raise LLMViewerError(f"zipf exponent s must be a finite number >= 0, got {s!r}")
    w = np.arange(1, num_experts + 1, dtype=float) ** -float(s)
    return w / w.sum()


def inclusion_probabilities(popularity: Any, top_k: int) -> np.ndarray:
    """Probability that one token includes each expert among its ``top_k``: ``min(1, c p_e)``
    with ``c`` such that they sum to ``top_k`` (water-filling)."""
    p = np.asarray(popularity, dtype=float)
    if p.ndim != 1 or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise LLMViewerError("popularity must be a 1-D array of non-negative probabilities summing to 1")
    if not 1 <= top_k <= len(p) or np.count_nonzero(p) < top_k:
        raise LLMViewerError(f"top_k must be in 1..{np.count_nonzero(p)} (experts with non-zero popularity)")
    capped = np.zeros(len(p), dtype=bool)
    for _ in range(len(p)):
        c = (top_k - capped.sum()) / p[~capped].sum()
        q = np.where(capped, 1.0, c * p)
        if not np.any(q > 1 + 1e-12):
            return np.minimum(q, 1.0)
        capped |= q > 1
    return np.minimum(q, 1.0)


def expected_distinct_experts(tokens: Any, popularity: Any, top_k: int) -> Any:
    """Expected distinct experts that ``tokens`` tokens touch (number or array), see the module
    docstring: ``sum_e 1 - (1 - q_e)**tokens``."""
    q = inclusion_probabilities(popularity, top_k)
    t = np.asarray(tokens, dtype=float)
    out = np.sum(1 - (1 - q) ** t[..., None], axis=-1)
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class SkewedExpertLinear(ExpertLinear):
    """:class:`ExpertLinear` with routing skewed by a Zipf exponent ``zipf_s``: weight bytes
    follow :func:`expected_distinct_experts`; OPs and activations are unchanged."""

    zipf_s: float = 0.0

    def traffic(self, p: Pass) -> Traffic:
        t = super().traffic(p)
        touched = expected_distinct_experts(p.tokens, zipf_popularity(self.num_experts, self.zipf_s), self.top_k)
        return Traffic(
            OPs=t.OPs, load_weight=touched * self.in_f * self.out_f * p.w_bytes, load_act=t.load_act,
            store_act=t.store_act,
        )  # fmt: skip


def skewed_ops(model: ModelSpec, zipf_s: float, flash_attention: bool = False, absorb_mla: bool = True) -> list:
    """The model's operators with every routed-expert projection skewed by ``zipf_s``."""
    out = []
    for op in build_ops(model, flash_attention, absorb_mla):
        if isinstance(op, ExpertLinear):
            op = SkewedExpertLinear(**{**op.__dict__, "zipf_s": float(zipf_s)})
        out.append(op)
    return out


def active_parameters(model: str | ModelSpec | dict, embeddings: bool = True) -> int:
    """Parameters one token uses: every routed-expert matrix counts ``top_k / num_experts`` of
    its parameters. ``embeddings=False`` leaves out the input embedding table (a lookup)."""
    m = load_model(model)
    total = 0
    for op in build_ops(m):
        if isinstance(op, ExpertLinear):
            total += op.count * op.in_f * op.out_f * op.top_k
        elif embeddings or op.name not in ("embed_tokens", "embed_positions"):
            total += op.count * op.params
    return total


def moe_decode(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    batch_size: Any = 1,
    context: Any = 1024,
    zipf_s: float = 0.0,
    calibration: Efficiency | str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """One decode step of an MoE model under routing skew ``zipf_s`` (0: uniform, the engine's
    default). Returns ``experts_touched`` (expected distinct experts per MoE layer),
    ``weight_bytes`` (parameter bytes read in the step), ``step_time`` (seconds) and
    ``time_per_token`` (seconds per generated token across the batch). ``batch_size`` and
    ``context`` may be arrays. Options: :data:`llmviewer.workload.OPTIONS` except tensor_parallel."""
    check_options(options)
    kw = dict(options)
    flash = bool(kw.pop("use_flashattention", False))
    if kw.get("tensor_parallel", 1) != 1:
        raise LLMViewerError("moe_decode models one device (tensor_parallel=1)")
    m, hw = load_model(model), load_hardware(hardware)
    if not m.is_moe:
        raise LLMViewerError(f"{m.name} has no routed experts")
    eff = resolve_efficiency(calibration)
    p = make_pass(batch_size, 1, context, 1, flash_attention=flash, absorb_mla=True, **kw)
    ops = skewed_ops(m, zipf_s, flash, True)
    counted = [(op, op.traffic(p), op.compute_bits(p)) for op in ops]
    step = pass_time(counted, hw, p, eff)
    touched = expected_distinct_experts(p.tokens, zipf_popularity(m.num_experts, zipf_s), m.experts_per_token)
    return dict(
        experts_touched=touched,
        weight_bytes=sum(t.load_weight * op.count for op, t, _ in counted),
        step_time=step,
        time_per_token=step / p.batch,
    )


# --------------------------------------------------------------------------- interactive figure


def moe_table(models: list[str], devices: list[str], batches: Any, skews: Any = (0.0,), context: int = 1024) -> Any:
    """:func:`moe_decode` for every (model, device, skew, batch) as a pandas DataFrame, rows in
    that nested order (one vectorised call per model, device and skew)."""
    import pandas as pd

    b = np.asarray(batches)
    frames = []
    for name, device, s in itertools.product(models, devices, skews):
        r = moe_decode(name, device, batch_size=b, context=context, zipf_s=float(s))
        m = load_model(name)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "device": load_hardware(device).name,
                    "zipf_s": float(s),
                    "batch": b.astype(int),
                    "experts_touched": np.broadcast_to(r["experts_touched"], b.shape),
                    "num_experts": m.num_experts,
                    "weight_gb": np.broadcast_to(r["weight_bytes"], b.shape) / 1e9,
                    "step_ms": np.broadcast_to(r["step_time"], b.shape) * 1e3,
                    "ms_per_token": np.broadcast_to(r["time_per_token"], b.shape) * 1e3,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def moe_explorer(
    models: list[str],
    devices: list[str],
    batches: Any = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    skews: Any = (0.0, 0.5, 1.0, 1.5),
    context: int = 1024,
) -> tuple[Any, Any]:
    """Interactive decode time per token of MoE models against batch size: choose the model,
    device, routing skew and a batch size to read off (time per token, experts touched). The
    JavaScript only selects rows of :func:`moe_table` (computed here by the engine). Returns
    (layout, table)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, Div, HoverTool, Select, Slider

    from .plots import _axes

    table = moe_table(models, devices, batches, skews, context)
    devs = [load_hardware(d).name for d in devices]
    n_b = len(batches)
    cols = ("batch", "ms_per_token", "experts_touched", "num_experts", "weight_gb", "step_ms")
    full = ColumnDataSource({k: table[k].to_numpy() for k in cols})
    rows = table.iloc[0:n_b]
    src = ColumnDataSource({k: rows[k].to_numpy() for k in cols}, name="moe-points")
    init_b = 0
    mark = ColumnDataSource({k: rows[k].to_numpy()[init_b : init_b + 1] for k in cols}, name="moe-selected")
    fig = _axes("", "batch size (sequences)", "decode time per generated token (ms)", True, True)
    fig.line("batch", "ms_per_token", source=src, line_width=2, color="#1f77b4")
    glyph = fig.scatter("batch", "ms_per_token", source=src, size=6, color="#1f77b4")
    fig.scatter("batch", "ms_per_token", source=mark, size=13, color="#d62728", marker="diamond")
    tips = [
        ("batch", "@batch"),
        ("time per token", "@ms_per_token{0.000} ms"),
        ("experts touched", "@experts_touched{0.0} of @num_experts"),
        ("weights read", "@weight_gb{0.0} GB"),
    ]
    fig.add_tools(HoverTool(renderers=[glyph], tooltips=tips))
    summary = Div(text="")
    c = {
        "model": Select(title="model", value=models[0], options=list(models)),
        "device": Select(title="device", value=devs[0], options=devs),
        "skew": Slider(start=0, end=len(skews) - 1, step=1, value=0, show_value=False),
        "batch": Slider(start=0, end=n_b - 1, step=1, value=init_b, show_value=False),
    }
    c["skew"].title = f"routing skew (Zipf s): {skews[0]:g}"
    c["batch"].title = f"batch size: {batches[init_b]}"
    callback = CustomJS(
        args=dict(
            full=full,
            src=src,
            mark=mark,
            summary=summary,
            c=c,
            models=list(models),
            devs=devs,
            skews=[float(x) for x in skews],
            batches=[int(x) for x in batches],
            cols=list(cols),
        ),  # fmt: skip
        code=_MOE_JS,
    )
    for key, widget in c.items():
        widget.name = f"moe-{key}"
        widget.js_on_change("value", callback)
    fig.js_on_event("document_ready", callback)
    layout = column(row(c["model"], c["device"]), row(c["batch"], c["skew"]), fig, summary)
    return layout, table


_MOE_JS = """
const m = models.indexOf(c.model.value), d = devs.indexOf(c.device.value);
const s = c.skew.value, b = c.batch.value, n = batches.length;
c.skew.title = "routing skew (Zipf s): " + skews[s];
c.batch.title = "batch size: " + batches[b];
const o = ((m * devs.length + d) * skews.length + s) * n;
const F = full.data;
const out = {}, sel = {};
for (const k of cols) { out[k] = F[k].slice(o, o + n); sel[k] = [F[k][o + b]]; }
src.data = out;
mark.data = sel;
summary.text = "<b>" + models[m] + "</b> on <b>" + devs[d] + "</b>, batch " + batches[b] + ", skew s = " +
  skews[s] + ": " + F.ms_per_token[o + b].toFixed(3) + " ms per token (step " + F.step_ms[o + b].toFixed(2) +
  " ms), " + F.experts_touched[o + b].toFixed(1) + " of " + F.num_experts[o + b] +
  " experts touched per MoE layer, " + F.weight_gb[o + b].toFixed(1) + " GB of weights read";
"""


__all__ = [
    "SkewedExpertLinear",
    "active_parameters",
    "expected_distinct_experts",
    "inclusion_probabilities",
    "moe_decode",
    "moe_explorer",
    "moe_table",
    "skewed_ops",
    "zipf_popularity",
]


# --------------------------------------------------------------------------- command line


def add_cli_parser(sub: Any) -> None:
    """Register ``llmviewer moe MODEL HARDWARE [--batchsize N --seqlen N --zipf S]``."""
    from .cli import add_precision_flags

    p = sub.add_parser("moe", help="one decode step of a mixture-of-experts model: experts touched, bytes, time")
    p.add_argument("model", help="MoE model (shipped name or config.json path)")
    p.add_argument("hardware", help="shipped device name or alias, or a device JSON file")
    p.add_argument("--batchsize", "--batch-size", dest="batchsize", type=int, default=1, help="sequences per batch")
    p.add_argument("--seqlen", type=int, default=1024, help="tokens already in the KV cache per sequence")
    p.add_argument(
        "--zipf", type=float, default=0.0, help="routing skew: Zipf exponent of expert popularity (0: uniform)"
    )
    add_precision_flags(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_cli(args: Any) -> int:
    """Run ``llmviewer moe`` from parsed arguments; returns the exit status."""
    import json

    from .cli import si, workload_options

    if args.zipf < 0:
        raise LLMViewerError(f"--zipf must be >= 0 (0: uniform routing), got {args.zipf}")
    m = load_model(args.model)
    r = moe_decode(m, args.hardware, batch_size=args.batchsize, context=args.seqlen, zipf_s=args.zipf,
                   calibration=args.calibrated, **workload_options(args))  # fmt: skip
    out = {"model": m.name, "experts": m.num_experts, "top_k": m.experts_per_token,
           "active_parameters": active_parameters(m), "total_parameters": parameter_count(m),
           **{k: float(v) for k, v in r.items()}}  # fmt: skip
    if args.json:
        print(json.dumps(out))
        return 0
    print(
        f"{m.name}: {m.num_experts} experts, top-{m.experts_per_token}; batch {args.batchsize},"
        f" {args.seqlen} cached tokens, routing skew {args.zipf:g}\n"
        f"  parameters  {si(out['active_parameters'])} active of {si(out['total_parameters'])}\n"
        f"  experts touched per MoE layer  {out['experts_touched']:.2f}\n"
        f"  weights read per step  {si(out['weight_bytes'], 'B')}\n"
        f"  step  {si(out['step_time'], 's')}, per generated token {si(out['time_per_token'], 's')}"
    )
    return 0
