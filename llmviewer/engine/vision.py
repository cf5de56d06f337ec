"""A multimodal model's vision tower as a separate encoder: its parameters, OPs and bytes per image.

Conventions (SigLIP-style ViT, as Gemma-3 uses): an image of ``image_size``² pixels is cut into
``(image_size / patch_size)²`` patches, embedded by a patch convolution (a matmul of
``channels * patch_size²`` inputs per patch) plus learned positions, run through ``layers``
pre-norm blocks (q, k, v, o with biases, full bidirectional attention over all patches, two
LayerNorms, a plain fc1 -> GELU -> fc2 MLP with biases), a final LayerNorm, then pooled to
``tokens_per_image`` tokens and projected to the text model's width (an RMSNorm and a matmul
without bias). A multiply-accumulate is 2 OPs; elementwise work (norms, GELU, softmax) is left
out of ``matmul_OPs``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import LLMViewerError
from ..specs.hardware import Hardware
from ..specs.models import VisionEncoder
from .roofline import peak_for_bits, roofline_time


def vision_parameters(v: VisionEncoder) -> int:
    """Parameters of the vision tower and its projector (elements)."""
    h, inter = v.hidden_size, v.intermediate_size
    layer = 4 * (h * h + h) + 4 * h + (h * inter + inter) + (inter * h + h)
    embed = v.channels * v.patch_size**2 * h + h + v.patches * h
    return v.layers * layer + embed + 2 * h + h * v.text_hidden_size + h


def vision_encoder_cost(v: VisionEncoder, images: Any = 1, w_bit: int = 16, a_bit: int = 16) -> dict[str, Any]:
    """Cost of encoding ``images`` images: ``matmul_OPs`` (OPs: patch embedding, projections, MLP,
    the patches² attention scores and weighted sums, the projector on the pooled tokens),
    ``parameters`` (elements), ``weight_bytes`` (bytes, at ``w_bit``), ``activation_bytes``
    (bytes written by the blocks' matmuls, at ``a_bit``) and ``tokens`` (image tokens the text
    model receives)."""
    h, inter, n = v.hidden_size, v.intermediate_size, v.patches
    per_layer = 2 * n * (4 * h * h + 2 * h * inter) + 2 * 2 * n * n * h
    ops = (
        2 * n * v.channels * v.patch_size**2 * h
        + v.layers * per_layer
        + 2 * v.tokens_per_image * h * v.text_hidden_size
    )
    act = v.layers * n * (4 * h + inter + h) * a_bit / 8
    return {
        "matmul_OPs": images * ops,
        "parameters": vision_parameters(v),
        "weight_bytes": vision_parameters(v) * w_bit / 8,
        "activation_bytes": images * act,
        "tokens": images * v.tokens_per_image,
    }


def image_tokens(v: VisionEncoder, image_size: int | None = None, keep: float = 1.0) -> int:
    """Image tokens the text model receives for one image of ``image_size``² pixels (default: the
    config's native size): the pooled tokens of the native size, scaled with the patch count at the
    same pooling ratio (dynamic-resolution encoders), times ``keep``, the fraction that visual-token
    pruning or merging keeps (rounded, at least 1)."""
    size = v.image_size if image_size is None else _check_size(v, image_size)
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
        raise LLMViewerError(f"keep must be a fraction of image tokens in (0, 1], got {keep!r}")
    pooled = v.tokens_per_image * (size // v.patch_size) ** 2 / v.patches
    return max(1, round(pooled * keep))


def _check_size(v: VisionEncoder, image_size: Any) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not v.patch_size <= image_size <= 16384:
        raise LLMViewerError(
            f"image_size must be an integer of pixels in {v.patch_size}..16384 (at least one patch), got {image_size!r}"
        )
    return image_size


def encoder_time(
    v: VisionEncoder,
    hardware: Hardware,
    images: int = 1,
    image_size: int | None = None,
    w_bit: int = 16,
    a_bit: int = 16,
) -> dict[str, Any]:
    """The vision tower as one roofline workload: encoding ``images`` images of ``image_size``²
    pixels on ``hardware``. ``OPs`` (matmul OPs of :func:`vision_encoder_cost` at that size),
    ``bytes`` (weights read once at ``w_bit`` plus the blocks' activations written and read back
    at ``a_bit``), ``time`` (seconds: max of OPs at the peak of ``a_bit``-wide units and bytes at
    the memory bandwidth), ``bound`` and ``tokens`` (image tokens for the text model, unpruned)."""
    size = v.image_size if image_size is None else _check_size(v, image_size)
    if isinstance(images, bool) or not isinstance(images, int) or not 1 <= images <= 10**6:
        raise LLMViewerError(f"images must be an integer in 1..1000000, got {images!r}")
    sized = replace(v, image_size=size, tokens_per_image=image_tokens(v, size))
    cost = vision_encoder_cost(sized, images, w_bit, a_bit)
    weights = vision_parameters(v) * w_bit / 8  # the position table is interpolated, not resized
    memory = weights + 2 * cost["activation_bytes"]
    time, bound = roofline_time(cost["matmul_OPs"], memory, peak_for_bits(hardware, a_bit), hardware.memory_bandwidth)
    return {"OPs": cost["matmul_OPs"], "bytes": memory, "time": time, "bound": bound, "tokens": cost["tokens"]}
