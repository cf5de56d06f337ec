"""A forward pass's workload: batch, new and cached tokens, bit widths; validated and broadcast.

Every size may be a Python int or a numpy array; arrays broadcast against each other, so a
sweep over thousands of settings is one evaluation. Scalars stay Python numbers, which keeps
single analyses fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arrays import maximum, plain
from ..errors import LLMViewerError

WEIGHT_BITS = frozenset(range(1, 17)) | {32}
"""Valid weight and KV-cache bit widths."""
ACTIVATION_BITS = frozenset({4, 8, 16, 32})
"""Valid activation bit widths (each maps to a class of compute units)."""
UNQUANTIZED_BITS = 16
"""Embeddings, lm_head, norm weights and biases stay at this width when weights are quantized."""
REDUCTION_BITS = 16
"""Tensor-parallel all-reduces send and sum partial results at no fewer bits than this: engines
reduce partial sums of FP8/INT8 matrix products in 16 bits (BF16/FP16)."""
FUSIONS = ("ideal", "none")
"""Element-wise fusion: ``"ideal"`` (default, the bound) fuses every element-wise operator (norms,
residual adds, activation x up, rotary, expert combine) into its neighbours' kernels, so its
activations never make a memory pass of their own (its OPs and parameter reads still count);
``"none"`` gives every element-wise operator its own read and write of its activations."""
MAX_COUNT = 10**12
"""Largest size (sequences, tokens, group sizes): far beyond any real workload, small enough
that every OPs, bytes and seconds result stays a finite float."""
MAX_SETTINGS = 2**22
"""Most workload settings (elements of the broadcast arrays) one call evaluates."""
ARRAYS_PER_SETTING = 64
"""About how many float64 arrays of the broadcast shape an evaluation holds at once (for the
memory estimate of a refused sweep)."""


def check_broadcast(**sizes: Any) -> tuple[int, ...]:
    """The broadcast shape of ``sizes`` (numbers or arrays, by argument name), refused with the
    memory it would need when it holds more than :data:`MAX_SETTINGS` settings: checked before
    anything of that shape is allocated."""
    shapes = {k: np.shape(v) for k, v in sizes.items() if isinstance(v, (list, tuple, np.ndarray))}
    try:
        shape = np.broadcast_shapes(*shapes.values())
    except ValueError:
        shown = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise LLMViewerError(f"array arguments do not broadcast together: shapes {shown}") from None
    n = math.prod(shape)
    if n > MAX_SETTINGS:
        need = n * 8 * ARRAYS_PER_SETTING
        raise LLMViewerError(
            f"{' x '.join(shapes)} broadcast to {n:,} settings (shape {shape}); evaluating them needs about "
            f"{need / 2**30:,.0f} GiB of memory: at most {MAX_SETTINGS:,} settings per call, split the sweep"
        )
    return shape


def check_sizes(name: str, value: Any, minimum_value: int = 1) -> Any:
    """Validate a count (batch, tokens): integers >= ``minimum_value``; numbers or arrays."""
    if isinstance(value, (bool, np.bool_)):
        raise LLMViewerError(f"{name} must be an integer >= {minimum_value}, got {value!r}")
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.size == 0:
            raise LLMViewerError(f"{name} must not be empty")
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise LLMViewerError(f"{name} must hold integers, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise LLMViewerError(f"{name} must hold whole numbers, got {arr[arr != np.round(arr)][:3]}")
        if np.any(arr < minimum_value):
            raise LLMViewerError(f"{name} must be >= {minimum_value}, got {arr.min()}")
        if np.any(arr > MAX_COUNT):
            raise LLMViewerError(f"{name} must be at most {MAX_COUNT:.0e}, got {arr.max()!r}")
        return arr.astype(np.float64)
    if isinstance(value, (int, np.integer)):
        out = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        out = int(value)
    else:
        raise LLMViewerError(f"{name} must be an integer >= {minimum_value}, got {value!r}")
    if out < minimum_value:
        raise LLMViewerError(f"{name} must be an integer >= {minimum_value}, got {out}")
    if out > MAX_COUNT:
        shown = f"{out:.3g}" if out.bit_length() < 1000 else "an integer of over 300 digits"
        raise LLMViewerError(f"{name} must be an integer in {minimum_value}..{MAX_COUNT:.0e}, got {shown}")
    return out


def check_bits(name: str, value: Any, valid: frozenset[int]) -> Any:
    """Validate a bit width (number or array) against the set of supported widths."""
    shown = ", ".join(str(b) for b in sorted(valid)) if len(valid) < 8 else "1-16 or 32"
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        bad = ~np.isin(arr, sorted(valid))
        if arr.size == 0 or bad.any():
            raise LLMViewerError(f"unsupported {name} {arr[bad][:3].tolist() if bad.any() else '[]'}; valid: {shown}")
        return arr.astype(np.float64)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or value not in valid:
        raise LLMViewerError(f"unsupported {name} {value!r}; valid: {shown}")
    return int(value)


def unit_bits(bits: Any) -> Any:
    """Round a storage width up to the compute-unit width that can consume it (4, 8, 16, 32)."""
    if isinstance(bits, np.ndarray):
        return np.select([bits <= 4, bits <= 8, bits <= 16], [4.0, 8.0, 16.0], 32.0)
    return 4 if bits <= 4 else 8 if bits <= 8 else 16 if bits <= 16 else 32


@dataclass(frozen=True)
class Pass:
    """One forward pass over a batch.

    ``batch`` sequences each feed ``new_tokens`` tokens while ``past_tokens`` tokens per sequence
    are already in the KV cache. Prefill is ``past_tokens = 0``; a decode step is
    ``new_tokens = 1``; verifying speculative tokens or a prefill chunk is anything between.
    ``logits_per_seq`` is how many positions per sequence go through lm_head.
    Bit widths are per element; ``*_bytes`` are the same in bytes.

    The defaults are the speed of light: fused (FlashAttention-style) attention, causal masking
    (only the lower triangle of scores) and ideal element-wise ``fusion`` (:data:`FUSIONS`).
    """

    batch: Any
    new_tokens: Any
    past_tokens: Any
    logits_per_seq: Any
    w_bits: Any
    a_bits: Any
    kv_bits: Any
    flash_attention: bool = True
    causal_attention: bool = True
    absorb_mla: bool = False
    w_group_size: int | None = None
    w_group_bits: int = 16
    tensor_parallel: int = 1
    fusion: str = "ideal"

    @property
    def tokens(self) -> Any:
        """Tokens processed by the pass across the batch."""
        return self.batch * self.new_tokens

    @property
    def w_bytes(self) -> Any:
        """Bytes per quantized weight, including its share of per-group scales (and zeros)."""
        if self.w_group_size is None:
            return self.w_bits / 8
        return self.w_bits / 8 + self.w_group_bits / 8 / self.w_group_size

    @property
    def a_bytes(self) -> Any:
        """Bytes per activation element."""
        return self.a_bits / 8

    @property
    def reduce_bytes(self) -> Any:
        """Bytes per element of a tensor-parallel all-reduce: the activation width, at least
        :data:`REDUCTION_BITS` (partial sums are reduced in 16 bits under FP8/INT8)."""
        return maximum(self.a_bits, REDUCTION_BITS) / 8

    @property
    def fuse_elementwise(self) -> bool:
        """Element-wise operators make no memory pass of their own (``fusion == "ideal"``)."""
        return self.fusion == "ideal"

    @property
    def kv_bytes(self) -> Any:
        return self.kv_bits / 8

    @property
    def hi_bits(self) -> Any:
        """Width of tensors left unquantized (embeddings, lm_head, norms, biases)."""
        return maximum(self.w_bits, UNQUANTIZED_BITS)

    @property
    def hi_bytes(self) -> Any:
        return self.hi_bits / 8

    def options(self) -> dict[str, Any]:
        """The workload options of this pass (bit widths, attention, quantization groups,
        parallelism) as plain values, named as :data:`OPTIONS`, for reports and JSON."""

        return {
            "w_bit": plain(self.w_bits),
            "a_bit": plain(self.a_bits),
            "kv_bit": plain(self.kv_bits),
            "use_flashattention": self.flash_attention,
            "causal_attention": self.causal_attention,
            "w_group_size": plain(self.w_group_size),
            "w_group_bits": plain(self.w_group_bits),
            "tensor_parallel": self.tensor_parallel,
            "fusion": self.fusion,
        }


def make_pass(
    batch: Any,
    new_tokens: Any,
    past_tokens: Any,
    logits_per_seq: Any,
    w_bit: Any = 16,
    a_bit: Any = 16,
    kv_bit: Any = None,
    flash_attention: bool = True,
    causal_attention: bool = True,
    absorb_mla: bool = False,
    w_group_size: int | None = None,
    w_group_bits: int = 16,
    tensor_parallel: int = 1,
    fusion: str = "ideal",
) -> Pass:
    """Validate a workload and build its :class:`Pass` (``kv_bit`` defaults to ``a_bit``).

    ``w_group_size``: quantized weights carry ``w_group_bits`` bits of metadata (an FP16 scale
    by default; 32 for a scale and a zero point) per group of that many weights.
    ``tensor_parallel``: devices that each hold a 1/n slice of every layer (Megatron-style).
    ``flash_attention``, ``causal_attention`` and ``fusion`` default to the speed of light
    (fused causal attention, ideal element-wise fusion); ``False``/``"none"`` give the unfused,
    non-causal accounting."""
    if fusion not in FUSIONS:
        raise LLMViewerError(f"unknown fusion {fusion!r}; valid: {', '.join(FUSIONS)}")
    check_broadcast(batch_size=batch, new_tokens=new_tokens, past_tokens=past_tokens, w_bit=w_bit, a_bit=a_bit,
                    kv_bit=kv_bit)  # fmt: skip
    w_bits = check_bits("w_bit", w_bit, WEIGHT_BITS)
    if w_group_size is not None and np.any(np.asarray(w_bits) >= 16):
        raise LLMViewerError(
            f"w_group_size {w_group_size!r} needs quantized weights (w_bit below 16), got w_bit {w_bit!r}: "
            "16-bit weights carry no group scales"
        )
    return Pass(
        batch=check_sizes("batch_size", batch),
        new_tokens=check_sizes("new tokens", new_tokens),
        past_tokens=check_sizes("cached tokens", past_tokens, minimum_value=0),
        logits_per_seq=logits_per_seq,
        w_bits=w_bits,
        a_bits=check_bits("a_bit", a_bit, ACTIVATION_BITS),
        kv_bits=check_bits("kv_bit", default_kv_bit(a_bit, kv_bit), WEIGHT_BITS),
        flash_attention=bool(flash_attention),
        causal_attention=bool(causal_attention),
        absorb_mla=bool(absorb_mla),
        w_group_size=None if w_group_size is None else check_sizes("w_group_size", w_group_size),
        w_group_bits=check_sizes("w_group_bits", w_group_bits),
        tensor_parallel=_single_int("tensor_parallel", tensor_parallel),
        fusion=fusion,
    )


def _single_int(name: str, value: Any) -> int:
    if isinstance(value, (list, tuple, np.ndarray)):
        raise LLMViewerError(f"{name} must be a single integer (it changes the model's layout), got an array")
    return check_sizes(name, value)


def stage_passes(
    batch_size: Any,
    context: Any,
    context_name: str = "seqlen",
    w_bit: Any = 16,
    a_bit: Any = 16,
    kv_bit: Any = None,
    use_flashattention: bool = True,
    causal_attention: bool = True,
    w_group_size: int | None = None,
    w_group_bits: int = 16,
    tensor_parallel: int = 1,
    fusion: str = "ideal",
) -> tuple[Pass, Pass]:
    """The prefill pass of a ``context``-token prompt and the first decode step after it
    (``context`` cached tokens), for ``batch_size`` sequences. The keyword arguments are the
    workload options that :func:`llmviewer.analyze`, :func:`llmviewer.generate` and
    :func:`llmviewer.memory_footprint` accept (see :func:`make_pass`). Passes of valid scalar
    arguments are kept (they are immutable), so that a repeated workload is validated once."""
    args = (batch_size, context, context_name, w_bit, a_bit, kv_bit, use_flashattention, causal_attention,
            w_group_size, w_group_bits, tensor_parallel, fusion)  # fmt: skip
    key = tuple((type(a), a) for a in args)  # typed: True is not 1, 1.5 is not refused as 1
    try:
        hit = _PASSES.get(key)
    except TypeError:  # arrays
        return _stage_passes(*args)
    if hit is None:
        hit = _stage_passes(*args)
        if len(_PASSES) >= 1024:
            _PASSES.clear()
        _PASSES[key] = hit
    return hit


_PASSES: dict[tuple, tuple[Pass, Pass]] = {}


def _stage_passes(
    batch_size: Any,
    context: Any,
    context_name: str,
    w_bit: Any,
    a_bit: Any,
    kv_bit: Any,
    use_flashattention: bool,
    causal_attention: bool,
    w_group_size: int | None,
    w_group_bits: int,
    tensor_parallel: int,
    fusion: str,
) -> tuple[Pass, Pass]:
    common = dict(
        w_bit=w_bit,
        a_bit=a_bit,
        kv_bit=kv_bit,
        flash_attention=use_flashattention,
        causal_attention=causal_attention,
        w_group_size=w_group_size,
        w_group_bits=w_group_bits,
        tensor_parallel=tensor_parallel,
        fusion=fusion,
    )
    context = check_sizes(context_name, context)  # named as the caller's argument in errors
    prefill = make_pass(batch_size, context, 0, 1, **common)
    return prefill, make_pass(batch_size, 1, context, 1, absorb_mla=True, **common)


OPTIONS = (
    "w_bit",
    "a_bit",
    "kv_bit",
    "use_flashattention",
    "causal_attention",
    "w_group_size",
    "w_group_bits",
    "tensor_parallel",
    "fusion",
)
"""Workload options accepted by analyze(), generate() and memory_footprint(). Defaults: the
speed of light (``use_flashattention=True``, ``causal_attention=True``, ``fusion="ideal"``)."""

UNFUSED = {"use_flashattention": False, "causal_attention": False, "fusion": "none"}
"""The unfused, non-causal accounting (every operator its own memory pass, full score blocks),
as the survey's comparisons of fusion use it: pass ``**UNFUSED`` to analyze() or generate()."""


def default_kv_bit(a_bit: Any, kv_bit: Any = None) -> Any:
    """The KV-cache width: ``kv_bit``, or the activation width when it is None (the one default)."""
    return a_bit if kv_bit is None else kv_bit


def kv_bit_of(options: dict[str, Any]) -> Any:
    """The KV-cache width that workload ``options`` (:data:`OPTIONS`) select."""
    return default_kv_bit(options.get("a_bit", 16), options.get("kv_bit"))


def pass_arguments(options: dict[str, Any]) -> dict[str, Any]:
    """Workload ``options`` (:data:`OPTIONS`, validated) as :func:`make_pass` keyword arguments."""
    check_options(options)
    kw = dict(options)
    if "use_flashattention" in kw:
        kw["flash_attention"] = kw.pop("use_flashattention")
    return kw


def check_options(options: dict[str, Any]) -> None:
    """Reject unknown workload options with the list of valid ones."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise LLMViewerError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(OPTIONS)}")


@dataclass(frozen=True)
class Workload:
    """What is run, validated once when built: ``batch_size`` sequences with ``prompt_len``-token
    prompts (analyze's ``seqlen``: the prompt of prefill and the tokens cached at the decode step),
    ``gen_len`` generated tokens each, and the workload options (:data:`OPTIONS`: bit widths,
    attention, quantization groups, tensor parallelism, fusion). Sizes and bit widths may be
    numpy arrays (they broadcast). Pass it as ``workload=`` (or as the third positional
    argument) to :func:`llmviewer.analyze`, :func:`llmviewer.generate`,
    :func:`llmviewer.memory_footprint`, :func:`llmviewer.fits` and
    :func:`llmviewer.studies.sweep.sweep`, instead of the separate arguments."""

    batch_size: Any = 1
    prompt_len: Any = 1024
    gen_len: Any = 128
    w_bit: Any = 16
    a_bit: Any = 16
    kv_bit: Any = None
    use_flashattention: bool = True
    causal_attention: bool = True
    w_group_size: int | None = None
    w_group_bits: int = 16
    tensor_parallel: int = 1
    fusion: str = "ideal"

    def __post_init__(self) -> None:
        """The one validation: the same checks (and messages) as the separate arguments get."""
        check_broadcast(batch_size=self.batch_size, prompt_len=self.prompt_len, gen_len=self.gen_len)
        check_sizes("gen_len", self.gen_len)
        stage_passes(self.batch_size, self.prompt_len, "prompt_len", **self.options())

    def options(self) -> dict[str, Any]:
        """The workload options (:data:`OPTIONS`) as keyword arguments."""
        return {k: getattr(self, k) for k in OPTIONS}


def unpack_workload(
    workload: Any, sizes: dict[str, Any], defaults: dict[str, Any], options: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(sizes, options)`` of a call given a :class:`Workload` or not. ``sizes``: the call's own
    size arguments (e.g. ``batch_size``, ``seqlen``), named as the Workload field they take
    (``seqlen`` from ``prompt_len``) through ``defaults`` (argument -> (field, default)).
    Giving a workload and also a size that differs from its default, or an option, is refused."""
    if workload is None:
        return sizes, options
    if not isinstance(workload, Workload):
        raise LLMViewerError(f"workload must be a llmviewer Workload, got {type(workload).__name__}")
    clash = [k for k, (_, d) in defaults.items() if not _same(sizes[k], d)] + sorted(options)
    if clash:
        raise LLMViewerError(f"give the workload or {', '.join(clash)}, not both (the Workload holds them)")
    return {k: getattr(workload, f) for k, (f, _) in defaults.items()}, workload.options()


def _same(value: Any, default: Any) -> bool:
    return not isinstance(value, (list, tuple, np.ndarray)) and type(value) is type(default) and value == default


def accepts_workload(**sizes: str) -> Any:
    """Decorator: the function also takes ``workload=`` (a :class:`Workload`), which supplies its
    size arguments (``sizes``: argument name -> Workload field, e.g. ``context="prompt_len"``) and
    the workload options (passed as keyword arguments). Giving a workload and one of those
    arguments is refused in one line."""
    import functools
    import inspect

    def wrap(fn: Any) -> Any:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args: Any, workload: Workload | None = None, **kwargs: Any) -> Any:
            if workload is None:
                return fn(*args, **kwargs)
            if not isinstance(workload, Workload):
                raise LLMViewerError(f"workload must be a llmviewer Workload, got {type(workload).__name__}")
            given = sig.bind_partial(*args, **kwargs).arguments
            clash = [k for k in sizes if k in given] + [k for k in OPTIONS if k in kwargs or k in given]
            if clash:
                raise LLMViewerError(f"give the workload or {', '.join(clash)}, not both (the Workload holds them)")
            kwargs.update({arg: getattr(workload, f) for arg, f in sizes.items()}, **workload.options())
            return fn(*args, **kwargs)

        call.__doc__ = (fn.__doc__ or "") + (
            "\n\n    ``workload``: a :class:`llmviewer.specs.workload.Workload` instead of "
            + ", ".join(f"``{k}`` (its ``{f}``)" for k, f in sizes.items())
            + " and the workload options."
        )
        return call

    return wrap
