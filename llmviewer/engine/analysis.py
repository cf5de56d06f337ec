"""analyze(): a model's operators on a device's roofline, per stage, plus the memory footprint.

Conventions: prefill runs the whole prompt (``seqlen`` tokens per sequence) with an empty
KV cache and computes logits for the last position only; decode is ONE step that feeds one
token per sequence while ``seqlen`` tokens are already in the KV cache. The memory footprint
is the weights, the KV cache of ``batch_size x seqlen`` tokens, and the largest working set
(inputs plus outputs) of any single operator of either stage. By default every pass is the
speed of light (fused causal attention, ideal element-wise fusion: see
:class:`~llmviewer.specs.workload.Pass`); ``**UNFUSED`` gives the survey's unfused accounting.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from ..arrays import maximum, minimum, plain, ratio, where
from ..errors import LLMViewerError
from ..results import Result, frame
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import Attention, LatentAttention, ModelSpec, layer_mix, load_model
from ..specs.workload import Pass, Workload, check_options, stage_passes, unpack_workload
from .efficiency import PURE, Efficiency, calibration_name, elementwise_fusion, resolve_efficiency
from .graph import build_ops, shard
from .operators import TRAFFIC_FIELDS, Op, Traffic
from .roofline import BOUNDS, dtype_for_bits, op_time, peak_for_bits

NUMERIC_FIELDS = (
    "OPs",
    "memory_access",
    "arithmetic_intensity",
    "performance",
    *TRAFFIC_FIELDS,
    "link_bytes",
    "inference_time",
)
"""Per-operator numbers, in OPs, bytes, OPs/byte, OPs/s and seconds."""
STAGES = ("prefill", "decode")


@dataclass(frozen=True)
class StageResult(Result):
    """Roofline of every operator for one forward pass, and model totals.

    ``layers``: one dict per operator with ``name``, ``kind``, ``count`` (instances in the
    model), ``bound``, ``compute_dtype`` and the :data:`NUMERIC_FIELDS` for ONE instance.
    ``total``: the numeric fields summed over the whole model (every instance), with the
    overall intensity, performance and bound. Values are numbers, or arrays for sweeps.
    """

    stage: str
    layers: list[dict[str, Any]]
    total: dict[str, Any]
    ops: tuple = field(default=(), repr=False, compare=False)
    """The operators themselves, in the order of ``layers`` (their ``role`` says what each is)."""

    @property
    def time(self) -> Any:
        """Seconds for the whole pass."""
        return self.total["inference_time"]

    def layer(self, name: str) -> dict[str, Any]:
        """The entry of operator ``name``."""
        for row in self.layers:
            if row["name"] == name:
                return row
        raise KeyError(f"no operator {name!r}; have {[r['name'] for r in self.layers]}")

    def to_records(self) -> list[dict[str, Any]]:
        """Layers as plain dicts (numbers or lists), for JSON."""
        return [{k: plain(v) for k, v in row.items()} for row in self.layers]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``layers`` (see :meth:`to_records`) and ``total``."""
        return {"layers": self.to_records(), "total": {k: plain(v) for k, v in self.total.items()}}

    def to_frame(self):  # noqa: ANN201 - pandas is imported only here
        """Layers as a pandas DataFrame indexed by operator name (scalar settings only)."""
        return frame(self.to_records(), index="name")

    to_dataframe = to_frame


def count_pass(model: ModelSpec, p: Pass) -> list[tuple[Op, Traffic, Any]]:
    """Device-independent counts: each operator with its :class:`Traffic` (OPs, bytes) for one
    instance, and the operand width of the units that run it (None: vector units). Counts of a
    pass of scalar sizes are kept (per model object, a bounded number of passes), so that repeated
    calls (a device comparison, analyze then generate) count once; treat the list as read-only."""
    return _kept(model, p, _count)


def _kept(model: ModelSpec, key: Any, compute: Any) -> Any:
    """``compute(model, key)``, kept per model object for a hashable (scalar) ``key``: device-independent
    counts, so that repeated calls count once. Arrays (sweeps) are computed afresh."""
    try:
        cache = _COUNTED.get(id(model))
        if cache is None or cache[0] is not model:
            if len(_COUNTED) >= _MAX_MODELS:
                _COUNTED.clear()
            cache = _COUNTED[id(model)] = (model, {})
        hit = cache[1].get((compute, key))
    except TypeError:  # unhashable: array sizes
        return compute(model, key)
    if hit is None:
        if len(cache[1]) >= _MAX_PASSES:
            cache[1].clear()
        hit = cache[1][(compute, key)] = compute(model, key)
    return hit


_COUNTED: dict[int, tuple[ModelSpec, dict[Any, Any]]] = {}
_MAX_MODELS, _MAX_PASSES = 64, 512


def _count(model: ModelSpec, p: Pass) -> list[tuple[Op, Traffic, Any]]:
    ops = build_ops(model, p.flash_attention, p.absorb_mla, p.tensor_parallel)
    return [(op, op.traffic(p), op.compute_bits(p)) for op in ops]


def evaluate_pass(
    model: ModelSpec,
    hardware: Hardware,
    p: Pass,
    stage: str = "custom",
    efficiency: Efficiency = PURE,
    counted: list | None = None,
) -> StageResult:
    """Roofline of every operator of ``model`` for the forward pass ``p`` on ``hardware``
    (pure, or derated by a calibrated ``efficiency``). ``counted``: :func:`count_pass`'s result
    for ``p``, if already at hand."""
    # dequantising matrix products, a decode step replayed as one graph: where calibrated (as forward_time)
    efficiency = efficiency.for_pass(p, decode=stage == "decode")
    if efficiency is PURE:
        fast = _pure_scalar_pass(model, hardware, p, stage, counted)
        if fast is not None:
            return fast
    counted = count_pass(model, p) if counted is None else counted
    units: dict[Any, tuple[Any, Any]] = {}  # compute bits -> (peak OPs/s, dtype), looked up once per pass
    rows, tokens = [], p.tokens
    for op, t, bits in counted:
        key = bits if bits is None or type(bits) is int else None
        unit = units.get(key) if key is not None or bits is None else None
        if unit is None:
            unit = (peak_for_bits(hardware, bits), dtype_for_bits(hardware, bits))
            if key is not None or bits is None:
                units[key] = unit
        rows.append(layer_row(op, t, bits, hardware, tokens, efficiency, unit[0], dtype=unit[1]))
    total = totals(rows)
    if efficiency.step_cost:  # a replayed graph's fixed cost belongs to the step, not to an operator
        total["inference_time"] = total["inference_time"] + efficiency.step_cost
        total["performance"] = ratio(total["OPs"], total["inference_time"])
    return StageResult(stage=stage, layers=rows, total=total, ops=tuple(op for op, _, _ in counted))


def _pure_scalar_pass(model: ModelSpec, hw: Hardware, p: Pass, stage: str, counted: list | None) -> StageResult | None:
    """:func:`evaluate_pass` at the pure roofline for a pass of scalar sizes met before, from the kept
    device-independent part of every layer entry (:func:`_prepared`): the same operations in the same
    order as :func:`layer_row` and :func:`totals`, so the same floats. None where that part does
    not apply (arrays, a collective, a peak or bandwidth that is not a float, ``counted`` other
    than :func:`count_pass`'s own list)."""
    slot = _kept(model, p, _new_slot)  # a pass met once takes the general path: preparing costs more than it saves
    if slot[0] is None:
        slot[0] = False
        return None
    if slot[0] is False:
        slot[0] = (_prepared(model, p),)
    prepared = slot[0][0]
    bw = hw.memory_bandwidth
    if prepared is None or type(bw) is not float or not (counted is None or counted is prepared[3]):
        return None
    entries, sums, operators, _ = prepared
    units: dict[Any, tuple[Any, Any]] = {}
    rows, share = [], dict.fromkeys(BOUNDS, 0)
    it = 0
    for template, ops, mem, bits, n in entries:
        unit = units.get(bits)
        if unit is None:
            unit = units[bits] = (peak_for_bits(hw, bits), dtype_for_bits(hw, bits))
            if type(unit[0]) is not float:
                return None
        compute, memory = ops / unit[0], mem / bw  # roofline.op_terms at the pure roofline
        time = (memory if memory > compute else compute) + 0.0  # roofline.combine without a link term
        bound = "compute" if compute > memory else "memory"
        row = template.copy()
        row["performance"] = ops / time if time > 0 else 0.0
        row["inference_time"], row["bound"], row["compute_dtype"] = time, bound, unit[1]
        rows.append(row)
        t = time * n
        it += t
        share[bound] += t
    return StageResult(
        stage=stage, layers=rows, total=_finish_totals(dict(sums, inference_time=it), share), ops=operators
    )


def _new_slot(model: ModelSpec, p: Pass) -> list:
    return [None]


def _prepared(model: ModelSpec, p: Pass) -> tuple[list, dict[str, Any], tuple, list] | None:
    """The device-independent part of a scalar pass's layer entries (kept per model and pass by
    :func:`_kept`): each entry without its time, bound, performance and dtype, with its OPs, bytes,
    operand width and count; the sums :func:`totals` makes of them; the operators; and
    :func:`count_pass`'s list they come from. None for arrays or a collective."""
    entries, sums = [], dict.fromkeys(_SUMMED[:-1], 0)
    counted = count_pass(model, p)
    for op, t, bits in counted:
        ops, mem = t.OPs, t.memory_access
        fields = (ops, mem, t.load_weight, t.load_act, t.store_act, t.load_kv_cache, t.store_kv_cache, t.link_bytes)
        if op.kind == "communication" or not (bits is None or type(bits) is int):
            return None
        if not all(type(x) in _NUMBERS for x in (*fields, op.count)):
            return None
        row = {"name": op.name, "kind": op.kind, "count": op.count, "OPs": ops, "memory_access": mem,
               "arithmetic_intensity": ops / mem if mem > 0 else 0.0, "performance": 0.0,
               "load_weight": t.load_weight, "load_act": t.load_act, "store_act": t.store_act,
               "load_kv_cache": t.load_kv_cache, "store_kv_cache": t.store_kv_cache, "link_bytes": t.link_bytes,
               "inference_time": 0.0, "bound": "", "compute_dtype": ""}  # fmt: skip
        entries.append((row, ops, mem, bits, op.count))
        for k, x in zip(_SUMMED[:-1], fields, strict=True):
            sums[k] += x * op.count
    return entries, sums, tuple(op for op, _, _ in counted), counted


def evaluate_op(op: Op, hardware: Hardware, p: Pass, efficiency: Efficiency = PURE) -> dict[str, Any]:
    """Roofline of ONE operator instance for the pass ``p`` (the fields of a layer entry)."""
    return layer_row(op, op.traffic(p), op.compute_bits(p), hardware, p.tokens, efficiency)


def layer_row(
    op: Op,
    t: Traffic,
    bits: Any,
    hw: Hardware,
    tokens: Any,
    eff: Efficiency = PURE,
    peak: Any = None,
    extra_compute: Any = 0.0,
    dtype: Any = None,
) -> dict[str, Any]:
    """The layer entry of one operator instance with traffic ``t`` (OPs, bytes) on ``hw``, in a
    pass of ``tokens`` tokens: :func:`~llmviewer.engine.roofline.op_time` at the peak of the units
    of ``bits`` (or at ``peak`` OPs/s, named ``dtype``), ``extra_compute`` seconds added to the compute term. Keys:
    name, kind, count, the :data:`NUMERIC_FIELDS` (OPs, bytes, OPs/byte, OPs/s, seconds), bound
    and compute_dtype."""
    time, bound = op_time(op.kind, t, peak_for_bits(hw, bits) if peak is None else peak, hw, tokens, eff, extra_compute)
    ops, mem = t.OPs, t.memory_access
    if type(time) is float and type(mem) in _NUMBERS:  # one setting: ratio()'s arithmetic, without the calls
        intensity, performance = (ops / mem if mem > 0 else 0.0), (ops / time if time > 0 else 0.0)
    else:  # 0 for an operator that moves no bytes (fused away)
        intensity, performance = ratio(ops, mem), ratio(ops, time)
    return {
        "name": op.name,
        "kind": op.kind,
        "count": op.count,
        "OPs": ops,
        "memory_access": mem,
        "arithmetic_intensity": intensity,
        "performance": performance,
        "load_weight": t.load_weight,
        "load_act": t.load_act,
        "store_act": t.store_act,
        "load_kv_cache": t.load_kv_cache,
        "store_kv_cache": t.store_kv_cache,
        "link_bytes": t.link_bytes,
        "inference_time": time,
        "bound": bound,
        "compute_dtype": dtype_for_bits(hw, bits) if dtype is None else dtype,
    }


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Model totals of per-instance layer entries: every numeric field summed over all instances
    (``count``), the overall intensity (OPs/byte) and performance (OPs/s), and the bound that
    takes the largest share of the time."""
    if all(type(r["bound"]) is str for r in rows):  # scalar settings: one pass, the same sums in the same order
        o = m = lw = la = sa = lk = sk = lb = it = 0
        share = dict.fromkeys(BOUNDS, 0)
        for r in rows:
            n = r["count"]
            o += r["OPs"] * n
            m += r["memory_access"] * n
            lw += r["load_weight"] * n
            la += r["load_act"] * n
            sa += r["store_act"] * n
            lk += r["load_kv_cache"] * n
            sk += r["store_kv_cache"] * n
            lb += r["link_bytes"] * n
            t = r["inference_time"] * n
            it += t
            share[r["bound"]] += t  # the other bounds would add exactly 0.0
        total: dict[str, Any] = dict(zip(_SUMMED, (o, m, lw, la, sa, lk, sk, lb, it), strict=True))
    else:
        total = {f: sum(r[f] * r["count"] for r in rows) for f in _SUMMED}
        share = {b: sum(r["inference_time"] * r["count"] * (r["bound"] == b) for r in rows) for b in BOUNDS}
    return _finish_totals(total, share)


def _finish_totals(total: dict[str, Any], share: dict[str, Any]) -> dict[str, Any]:
    """:func:`totals` from the summed fields and the time taken under each bound."""
    total["arithmetic_intensity"] = total["OPs"] / total["memory_access"]
    total["performance"] = ratio(total["OPs"], total["inference_time"])
    # the whole pass is bound by whatever bounds the largest share of its time
    bound = "memory"
    if all(type(v) in _NUMBERS for v in share.values()):  # one setting: the lines below without the calls
        top = max(share.values())
        for b in reversed(BOUNDS):
            bound = b if share[b] == top else bound
    else:
        top = functools.reduce(maximum, share.values())
        for b in reversed(BOUNDS):
            bound = where(share[b] == top, b, bound)
    total["bound"] = bound
    return {k: total[k] for k in (*NUMERIC_FIELDS, "bound")}


_SUMMED = ("OPs", "memory_access", *TRAFFIC_FIELDS, "link_bytes", "inference_time")
_NUMBERS = (int, float)


def weight_bytes(model: ModelSpec, p: Pass) -> Any:
    """Bytes of parameters one device holds: quantized block weights at ``w_bit`` (plus group
    scales), the rest unquantized; a 1/n slice of each layer under n-way tensor parallelism."""
    return _kept(model, p, _weight_bytes)


def _weight_bytes(model: ModelSpec, p: Pass) -> Any:
    return sum(op.weight_bytes(p) * op.count for op in build_ops(model, tensor_parallel=p.tensor_parallel))


def kv_cache_bytes(model: ModelSpec, batch: Any, tokens: Any, kv_bits: Any, tensor_parallel: int = 1) -> Any:
    """Bytes of the KV cache one device holds for ``tokens`` tokens of each of ``batch`` sequences
    (sliding-window layers keep at most ``window`` tokens, chunked layers one chunk; MLA keeps the latent), plus the
    fixed-size conv and recurrent state of linear-attention/SSM layers (constant in ``tokens``)."""
    model = shard(model, tensor_parallel)
    total: Any = 0
    recurrent = False
    for kind, n in layer_mix(model).mixers:  # each distinct token mixer once, with its layer count
        if isinstance(kind, Attention):
            kept = kind.window if kind.chunk is None else kind.chunk  # a chunked layer keeps at most one chunk
            cached = n * (tokens if kept is None else minimum(tokens, kept))
            total = total + batch * cached * kind.kv_elements_per_token * kv_bits / 8
        elif isinstance(kind, LatentAttention):
            total = total + batch * n * tokens * (kind.kv_lora_rank + kind.qk_rope_head_dim) * kv_bits / 8
        else:
            recurrent = True
    if recurrent:
        total = total + batch * model.state_bytes(kv_bits)
    return total


def activation_bytes(model: ModelSpec, p: Pass, counted: list | None = None) -> Any:
    """Largest working set of one operator in the pass: its activation inputs plus outputs (bytes).
    ``counted``: :func:`count_pass`'s result for ``p``, if already at hand."""
    if counted is None:
        return _kept(model, p, _activation_bytes)  # kept per model and pass, like the counts
    return _activation_bytes(model, p, counted)


def _activation_bytes(model: ModelSpec, p: Pass, counted: list | None = None) -> Any:
    sets = [t.load_act + t.store_act for _, t, _ in (count_pass(model, p) if counted is None else counted)]
    if all(type(x) in _NUMBERS for x in sets):
        return max(sets)
    return functools.reduce(maximum, sets)


def _footprint(
    m: ModelSpec, prefill: Pass, decode: Pass, prefill_counted: list | None = None, decode_counted: list | None = None
) -> dict[str, Any]:
    activations = maximum(activation_bytes(m, prefill, prefill_counted), activation_bytes(m, decode, decode_counted))
    memory = {
        "weights": weight_bytes(m, prefill),
        "kv_cache": kv_cache_bytes(m, prefill.batch, prefill.new_tokens, prefill.kv_bits, prefill.tensor_parallel),
        "activations": activations,
    }
    memory["total"] = memory["weights"] + memory["kv_cache"] + memory["activations"]
    return memory


def memory_footprint(
    model: str | ModelSpec | dict,
    batch_size: Any = 1,
    seqlen: Any = 1024,
    workload: Workload | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Bytes one device needs to serve ``batch_size`` sequences of ``seqlen`` tokens:
    ``weights``, ``kv_cache``, ``activations`` (largest working set of one operator, prefill
    or decode) and ``total``. The same footprint :func:`analyze` reports; no device needed.
    ``options``: see :data:`llmviewer.specs.workload.OPTIONS`; or a :class:`Workload` (its
    ``prompt_len`` is ``seqlen``), also as the second positional argument."""
    check_options(options)
    if isinstance(batch_size, Workload):
        workload, batch_size = batch_size, 1
    sizes, options = unpack_workload(workload, {"batch_size": batch_size, "seqlen": seqlen}, _ANALYZE_SIZES, options)
    return _footprint(load_model(model), *stage_passes(sizes["batch_size"], sizes["seqlen"], "seqlen", **options))


_ANALYZE_SIZES = {"batch_size": ("batch_size", 1), "seqlen": ("prompt_len", 1024)}


@dataclass(frozen=True)
class Analysis(Result):
    """Result of :func:`analyze`: per-stage rooflines and the memory footprint (bytes)."""

    model: ModelSpec
    hardware: Hardware
    settings: dict[str, Any]
    prefill: StageResult | None
    decode: StageResult | None
    memory: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: model, hardware, settings, prefill, decode, memory."""
        out: dict[str, Any] = {
            "model": self.model.name,
            "hardware": self.hardware.name,
            "settings": dict(self.settings),
        }
        for stage in STAGES:
            res = getattr(self, stage)
            if res is not None:
                out[stage] = res.to_dict()
        out["memory"] = {k: plain(v) for k, v in self.memory.items()}
        if self.model.ignored_fields is not None:
            out["ignored_fields"] = list(self.model.ignored_fields)
        if self.model.vision is not None:  # a multimodal model's vision tower, apart from the decoder
            from .vision import vision_encoder_cost

            w, a = self.settings.get("w_bit", 16), self.settings.get("a_bit", 16)
            cost = vision_encoder_cost(
                self.model.vision, 1, w if isinstance(w, int) else 16, a if isinstance(a, int) else 16
            )
            out["vision_encoder_per_image"] = {k: plain(v) for k, v in cost.items()}
        return out

    def to_frame(self):  # noqa: ANN201 - pandas is imported only here
        """Per-layer rows of every analysed stage, with a ``stage`` column first (scalar settings only)."""
        stages = [s for s in (self.prefill, self.decode) if s is not None]
        return frame([{"stage": s.stage, **row} for s in stages for row in s.to_records()])


def analyze(
    model: str | ModelSpec | dict,
    hardware: str | Hardware | dict,
    batch_size: Any = 1,
    seqlen: Any = 1024,
    stages: tuple[str, ...] = STAGES,
    calibration: Efficiency | str | None = None,
    arch: str | None = None,
    workload: Workload | None = None,
    **options: Any,
) -> Analysis:
    """Roofline analysis of ``model`` on ``hardware`` for prefill of a ``seqlen``-token prompt
    and one decode step with ``seqlen`` cached tokens, at ``batch_size`` sequences.

    Options (:data:`llmviewer.specs.workload.OPTIONS`): ``w_bit``, ``a_bit``, ``kv_bit`` (default
    ``a_bit``), ``use_flashattention`` (default True), ``causal_attention`` (default True),
    ``fusion`` (``"ideal"`` by default, ``"none"``: element-wise operators each make a memory
    pass), ``w_group_size`` and ``w_group_bits`` (per-group quantization metadata),
    ``tensor_parallel`` (devices; results are per device). The defaults make the pure roofline
    the speed of light; ``**llmviewer.specs.workload.UNFUSED`` gives the unfused, non-causal
    accounting. Sizes and bit widths may be numpy arrays (they broadcast).
    ``calibration``: None for the pure roofline (a bound), or an engine class name
    (``"serving"``, ``"llama.cpp"``, ``"pytorch-eager"``) or :class:`Efficiency` for the
    calibrated estimate (:mod:`llmviewer.engine.efficiency`). ``arch``: read the config as that
    ``model_type``; the result then lists the config fields it ignored (``model.ignored_fields``,
    ``ignored_fields`` in JSON). ``workload``: a :class:`~llmviewer.specs.workload.Workload`
    instead of ``batch_size``, ``seqlen`` (its ``prompt_len``) and the options (also accepted as
    the third positional argument). Units: OPs, bytes, seconds, OPs/s.
    """
    check_options(options)
    if isinstance(batch_size, Workload):
        workload, batch_size = batch_size, 1
    if workload is not None:
        sizes, options = unpack_workload(
            workload, {"batch_size": batch_size, "seqlen": seqlen}, _ANALYZE_SIZES, options
        )
        batch_size, seqlen = sizes["batch_size"], sizes["seqlen"]
    options = elementwise_fusion(calibration, options)
    m = load_model(model, arch=arch)
    hw = load_hardware(hardware)
    bad = set(stages) - set(STAGES)
    if bad or not stages:
        raise LLMViewerError(f"stages must be a non-empty subset of {STAGES}, got {stages!r}")
    prefill_pass, decode_pass = stage_passes(batch_size, seqlen, **options)
    eff = resolve_efficiency(calibration)
    counted = {"prefill": count_pass(m, prefill_pass), "decode": count_pass(m, decode_pass)}
    prefill = evaluate_pass(m, hw, prefill_pass, "prefill", eff, counted["prefill"]) if "prefill" in stages else None
    decode = evaluate_pass(m, hw, decode_pass, "decode", eff, counted["decode"]) if "decode" in stages else None
    try:  # scalar sizes: the working sets are kept per model and pass, like the counts
        hash((prefill_pass, decode_pass))
        memory = _footprint(m, prefill_pass, decode_pass)
    except TypeError:  # arrays: from the counts at hand
        memory = _footprint(m, prefill_pass, decode_pass, counted["prefill"], counted["decode"])
    settings = dict(
        batch_size=plain(prefill_pass.batch),
        seqlen=plain(prefill_pass.new_tokens),
        **prefill_pass.options(),
        calibration=calibration_name(calibration),
    )
    return Analysis(m, hw, settings, prefill, decode, memory)


@dataclass(frozen=True)
class Fit:
    """Answer of :func:`fits`: ``fits`` (bool, or a bool array when sizes are arrays), the
    per-device footprint it compared (``needed``, bytes: weights + KV cache + largest operator
    working set, summed over every model sharing the device) and the device's memory
    (``capacity``, bytes). ``bool(fit)`` is ``fit.fits`` for a scalar answer."""

    fits: Any
    needed: Any
    capacity: float

    def __bool__(self) -> bool:
        return bool(self.fits)


def fits(
    model: str | ModelSpec | dict | tuple | list,
    hardware: str | Hardware | dict,
    batch_size: Any = 1,
    seqlen: Any = 1024,
    workload: Workload | None = None,
    **options: Any,
) -> Fit:
    """THE fit rule of llmviewer and of the book: a configuration fits when the footprint one
    device holds (:func:`memory_footprint`: weights, KV cache of ``batch_size x seqlen`` tokens
    and the largest working set of one operator; a 1/n share under ``tensor_parallel=n``) is at
    most the device's memory. ``model`` may be a list of models that share the device (e.g. a
    speculative-decoding target and its draft); their footprints add up. FlashAttention
    (``use_flashattention``) changes the working set, so pass it as the figure or table uses it.
    ``workload``: a :class:`Workload` instead of the sizes and options (or as the third argument)."""
    if isinstance(batch_size, Workload):
        workload, batch_size = batch_size, 1
    sizes, options = unpack_workload(workload, {"batch_size": batch_size, "seqlen": seqlen}, _ANALYZE_SIZES, options)
    hw = load_hardware(hardware)
    models = list(model) if isinstance(model, tuple | list) else [model]
    needed = sum(memory_footprint(m, sizes["batch_size"], sizes["seqlen"], **options)["total"] for m in models)
    return Fit(needed <= hw.memory_bytes, needed, hw.memory_bytes)
