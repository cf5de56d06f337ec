"""``llmviewer encode``: a multimodal model's vision encoder as its own roofline workload, and its
share of the time to first token."""

from __future__ import annotations

import argparse

from .. import options

HELP = "vision encoder time and its share of time to first token for N images"
PARENTS = (options.model, options.device, options.precision, options.output)


def configure(parser: argparse.ArgumentParser) -> None:
    """Images, their size, the fraction of image tokens kept, and the text prompt."""
    parser.add_argument("--images", type=int, default=1, help="images in the prompt")
    parser.add_argument("--image-size", "--image_size", dest="image_size", type=int, default=None,
                        help="image side in pixels (default: the config's image_size)")  # fmt: skip
    parser.add_argument("--keep", type=float, default=1.0,
                        help="fraction of image tokens kept by visual-token pruning or merging, in (0, 1]")  # fmt: skip
    parser.add_argument("--text-tokens", "--text_tokens", dest="text_tokens", type=int, default=128,
                        help="text tokens in the prompt")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Print encoder and prefill times (or JSON)."""
    from ...studies.multimodal import multimodal_ttft
    from ..render import print_json, si

    r = multimodal_ttft(
        args.model, options.resolve_device(args), images=args.images, image_size=args.image_size, keep=args.keep,
        text_tokens=args.text_tokens, w_bit=args.w_bit, a_bit=args.a_bit,
    )  # fmt: skip
    if args.json:
        return print_json(r.to_dict())
    print(
        f"{r.model} on {r.hardware}: {r.images} image(s) of {r.image_size} px, {r.text_tokens} text tokens\n"
        f"  vision encoder  {si(r.encoder_OPs, 'OPs')}, {si(r.encoder_time, 's')} ({r.encoder_bound}-bound)\n"
        f"  decoder prefill  {r.image_tokens + r.text_tokens} tokens ({r.image_tokens} image tokens,"
        f" keep {r.keep:g}), {si(r.prefill_time, 's')}\n"
        f"  time to first token  {si(r.ttft, 's')}, encoder share {100 * r.encoder_share:.1f}%"
    )
    return 0
