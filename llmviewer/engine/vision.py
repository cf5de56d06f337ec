"""A multimodal model's vision tower as a separate encoder: its parameters, OPs and bytes per image.

Conventions (SigLIP-style ViT, as Gemma-3 uses): an image of ``image_size``² pixels is cut into
``(image_size / patch_size)²`` patches, embedded by a patch convolution (a matmul of
``channels * patch_size²`` inputs per patch) plus learned positions, run through ``layers``
pre-norm blocks (q, k, v, o with biases, full bidirectional attention over all patches, two
LayerNorms, a plain fc1 -> GELU -> fc2 MLP with biases), a final LayerNorm, then pooled to
``tokens_per_image`` tokens and projected to the text model's width (an RMSNorm and a matmul
without bias). A multiply-accumulate is 2 OPs; elementwise work (norms, GELU, softmax) is left
out of ``matmul_OPs``.

Pixtral (Mistral-3.1, ``style="pixtral"``), for one square image of ``image_size`` pixels (the
largest the config allows): a patch convolution without bias, an RMSNorm, ``layers`` pre-norm
blocks (q, k, v, o without biases, 2-D rotary positions, attention over the image's patches, two
RMSNorms, a gated SiLU MLP without biases); the projector: an RMSNorm, the patch merger (``merge``²
neighbouring patches concatenated and projected back to the vision width) and two matmuls to the
text width with a GELU between. The text model receives the merged patches plus one
``[IMG_BREAK]``/``[IMG_END]`` token per row.

Llama-4 (``style="llama4"``), per ``image_size`` tile: a patch embedding (a matmul without bias), a
class token and learned positions, LayerNorms before and after ``layers`` blocks (q, k, v, o with
biases, attention over the patches and the class token, two LayerNorms, fc1 -> GELU -> fc2 with
biases); the adapter: pixel shuffle (``merge``² patches into one token), an MLP of two matmuls without
bias to ``adapter_dim``; the projector: one matmul to the text width.

Qwen3-VL (``style="qwen3_vl"``), for the reference image whose patch grid is the learned position
table (``sqrt(positions)`` patches a side; other sizes interpolate it): a 3-D patch convolution with
bias over ``temporal_patch`` copies of the image, ``layers`` blocks (LayerNorms, fused qkv and proj with
biases, attention over the image's patches, fc1 -> GELU -> fc2 with biases), then the merger (LayerNorm,
``merge``² patches concatenated, two matmuls with biases to the text width) and ``deepstack`` more
mergers of the same shape (their features are added into the first text layers). Qwen3.5 has the same
tower without deepstack mergers.

Gemma-4 (``style="gemma4"``), for the largest square image within the processor's token budget: a patch
embedding (a matmul without bias; ``positions`` rows of learned x and y tables, added), ``layers`` blocks
(q, k, v, o without biases, ``heads`` x ``head_dim`` queries and ``kv_heads`` keys and values, q/k RMSNorms
with scales and a weightless v norm, 2-D rotary positions, attention over the image's patches, four
RMSNorms, a gated GELU MLP without biases), average pooling of ``merge``² neighbouring patches into one
token, then the embedder: a weightless RMSNorm and one matmul to the text width. The pooling is an average
(``patches x hidden`` additions, element-wise, not in ``matmul_OPs``); transformers computes it as a
one-hot matmul of ``2 x tokens x patches x hidden`` FLOPs (tests/test_against_torch.py adds them back).
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
    if v.style == "gemma4":
        q, kv = v.heads * v.head_dim, v.kv_heads * v.head_dim
        layer = 2 * h * q + 2 * h * kv + 2 * v.head_dim + 3 * h * inter + 4 * h
        embed = v.channels * v.patch_size**2 * h + 2 * v.positions * h
        return embed + v.layers * layer + h * v.text_hidden_size
    if v.style == "qwen3_vl":
        wide, out = v.merge**2 * h, v.text_hidden_size
        layer = 4 * h + (3 * h * h + 3 * h) + (h * h + h) + (h * inter + inter) + (inter * h + h)
        embed = v.channels * v.temporal_patch * v.patch_size**2 * h + h + v.positions * h
        merger = (wide * wide + wide) + (wide * out + out)
        return embed + v.layers * layer + (2 * h + merger) + v.deepstack * (2 * wide + merger)
    if v.style == "llama4":
        a, n_in = v.adapter_dim, v.channels * v.patch_size**2
        layer = 4 * (h * h + h) + (h * inter + inter) + (inter * h + h) + 4 * h
        embed = n_in * h + h + (v.patches + 1) * h + 4 * h
        return embed + v.layers * layer + v.merge**2 * h * a + a * a + a * v.text_hidden_size
    if v.style == "pixtral":
        th, m2 = v.text_hidden_size, v.merge**2
        layer = 4 * h * h + 3 * h * inter + 2 * h
        return v.channels * v.patch_size**2 * h + h + v.layers * layer + h + m2 * h * h + h * th + th * th
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
    if v.style == "gemma4":
        q, kv = v.heads * v.head_dim, v.kv_heads * v.head_dim
        per_layer = 2 * n * (2 * h * q + 2 * h * kv + 3 * h * inter) + 2 * 2 * n * n * q
        ops = (
            2 * n * v.channels * v.patch_size**2 * h
            + v.layers * per_layer
            + 2 * v.tokens_per_image * h * v.text_hidden_size
        )
        act = v.layers * n * (q + 2 * kv + h + 2 * inter + h) * a_bit / 8
    elif v.style == "qwen3_vl":
        wide, merged = v.merge**2 * h, n // v.merge**2
        per_layer = 2 * n * (4 * h * h + 2 * h * inter) + 2 * 2 * n * n * h
        ops = (
            2 * n * v.channels * v.temporal_patch * v.patch_size**2 * h
            + v.layers * per_layer
            + (1 + v.deepstack) * 2 * merged * (wide * wide + wide * v.text_hidden_size)
        )
        act = v.layers * n * (4 * h + inter + h) * a_bit / 8
    elif v.style == "llama4":
        a, tokens, seq = v.adapter_dim, v.tokens_per_image, n + 1  # the class token joins the patches
        per_layer = 2 * seq * (4 * h * h + 2 * h * inter) + 2 * 2 * seq * seq * h
        ops = (
            2 * n * v.channels * v.patch_size**2 * h
            + v.layers * per_layer
            + 2 * tokens * (v.merge**2 * h * a + a * a + a * v.text_hidden_size)
        )
        act = v.layers * seq * (4 * h + inter + h) * a_bit / 8
    elif v.style == "pixtral":
        th, merged = v.text_hidden_size, n // v.merge**2
        per_layer = 2 * n * (4 * h * h + 3 * h * inter) + 2 * 2 * n * n * h
        ops = (
            2 * n * v.channels * v.patch_size**2 * h
            + v.layers * per_layer
            + 2 * merged * (v.merge**2 * h * h + h * th + th * th)
        )
        act = v.layers * n * (4 * h + 2 * inter + h) * a_bit / 8
    else:
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
