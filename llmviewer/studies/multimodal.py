"""Multimodal time to first token: the vision encoder, then the decoder's prefill of image and text tokens.

The encoder (:func:`llmviewer.engine.vision.encoder_time`) runs first; its image tokens, reduced
by ``keep`` (visual-token pruning or merging such as FastV or PruMerge, modelled as fewer tokens
entering the decoder), join ``text_tokens`` prompt tokens in one prefill pass. Time to first
token is the sum of the two. The vision tower is read from the model's config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.analysis import analyze
from ..engine.vision import encoder_time, image_tokens
from ..errors import LLMViewerError
from ..results import Result, frame
from ..specs.hardware import load_hardware
from ..specs.models import load_model
from ..specs.workload import check_sizes


@dataclass(frozen=True)
class MultimodalPrefill(Result):
    """Answer of :func:`multimodal_ttft`: seconds of the encoder (``encoder_time``) and of the
    decoder's prefill (``prefill_time``), their sum ``ttft``, the encoder's share of it
    (``encoder_share``, 0..1), the decoder's input (``image_tokens`` after pruning, ``text_tokens``)
    and the encoder's OPs and bound."""

    model: str
    hardware: str
    images: int
    image_size: int
    keep: float
    image_tokens: int
    text_tokens: int
    encoder_OPs: float
    encoder_bound: str
    encoder_time: float
    prefill_time: float
    ttft: float
    encoder_share: float


def multimodal_ttft(
    model: Any,
    hardware: Any,
    images: int = 1,
    image_size: int | None = None,
    keep: float = 1.0,
    text_tokens: int = 128,
    w_bit: int = 16,
    a_bit: int = 16,
) -> MultimodalPrefill:
    """Time to first token of a prompt of ``images`` images (``image_size``² pixels each; default
    the config's size) and ``text_tokens`` text tokens for ``model`` on ``hardware``: the vision
    encoder's roofline time plus the decoder's prefill of ``keep`` x image tokens + text tokens
    (seconds). Weights of both at ``w_bit``, activations at ``a_bit``."""
    m, hw = load_model(model), load_hardware(hardware)
    if m.vision is None:
        raise LLMViewerError(f"model {m.name!r} has no vision tower in its config (vision_config): not multimodal")
    text_tokens = check_sizes("text_tokens", text_tokens, minimum_value=0)
    enc = encoder_time(m.vision, hw, images, image_size, w_bit, a_bit)
    tokens = images * image_tokens(m.vision, image_size, keep)
    prefill = analyze(m, hw, seqlen=tokens + text_tokens, stages=("prefill",), w_bit=w_bit, a_bit=a_bit).prefill.time
    ttft = enc["time"] + prefill
    return MultimodalPrefill(
        model=m.name,
        hardware=hw.name,
        images=images,
        image_size=m.vision.image_size if image_size is None else image_size,
        keep=float(keep),
        image_tokens=tokens,
        text_tokens=text_tokens,
        encoder_OPs=enc["OPs"],
        encoder_bound=enc["bound"],
        encoder_time=enc["time"],
        prefill_time=prefill,
        ttft=ttft,
        encoder_share=enc["time"] / ttft,
    )


def multimodal_sweep(model: Any, hardware: Any, images: list[int], image_sizes: list[int], **kwargs: Any) -> Any:
    """:func:`multimodal_ttft` for every number of images and image size: a pandas DataFrame."""
    rows = [multimodal_ttft(model, hardware, n, size, **kwargs).to_dict() for size in image_sizes for n in images]
    return frame(rows)


def vision_towers(models: list[Any], hardware: Any, text_tokens: int = 128, **kwargs: Any) -> Any:
    """The vision towers of multimodal ``models`` side by side, one image at each config's native size
    with ``text_tokens`` text tokens on ``hardware`` (:func:`multimodal_ttft`): a pandas DataFrame with
    the tower's ``style``, ``tower_parameters`` (elements, projector included), ``image_size`` (pixels a
    side), ``patches``, ``image_tokens``, ``encoder_OPs``, ``encoder_time``, ``prefill_time`` and
    ``ttft`` (seconds) and ``encoder_share`` (0..1)."""
    from ..engine.vision import vision_parameters

    rows = []
    for model in models:
        m = load_model(model)
        r = multimodal_ttft(m, hardware, 1, text_tokens=text_tokens, **kwargs)
        v = m.vision
        rows.append(
            {"model": m.name, "style": v.style, "tower_parameters": vision_parameters(v), "image_size": v.image_size,
             "patches": v.patches, "image_tokens": r.image_tokens, "encoder_OPs": r.encoder_OPs,
             "encoder_time": r.encoder_time, "prefill_time": r.prefill_time, "ttft": r.ttft,
             "encoder_share": r.encoder_share}
        )  # fmt: skip
    return frame(rows)
