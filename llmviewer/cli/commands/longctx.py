"""``llmviewer longctx``: the longest context a device holds, and one decode step at a context length,
with an optional KV eviction budget (:mod:`llmviewer.techniques.kv_eviction`)."""

from __future__ import annotations

import argparse

from .. import options

HELP = "longest context that fits, and a decode step's memory and time split at --context tokens"
PARENTS = (
    options.model,
    options.device,
    options.batch,
    lambda: options.context("context length per sequence for the decode step"),
    options.precision,
    options.parallel,
    options.output,
)


def configure(parser: argparse.ArgumentParser) -> None:
    """``--kv-budget`` and ``--sinks``: cache at most that many tokens per sequence (eviction)."""
    parser.add_argument("--kv-budget", "--kv_budget", dest="kv_budget", type=int, default=None,
                        help="cached tokens kept per sequence and attention layer (H2O/SnapKV-like budget; "
                        "default: keep every token)")  # fmt: skip
    parser.add_argument("--sinks", type=int, default=0,
                        help="of the budget, initial 'attention sink' tokens kept (StreamingLLM uses 4)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Print the longest context and the decode step (or JSON)."""
    from ...studies.long_context import longest_context
    from ...techniques.kv_eviction import KVBudget, decode_step
    from ..render import print_json, si

    budget = None if args.kv_budget is None else KVBudget(args.kv_budget, args.sinks)
    kw = options.workload_options(args)
    hw = options.resolve_device(args)
    longest = longest_context(args.model, hw, args.batchsize, budget, **kw)
    step = decode_step(args.model, hw, args.seqlen, args.batchsize, budget, **kw)
    if args.json:
        return print_json({"longest_context": longest.to_dict(), "decode_step": step.to_dict()})
    limit = "no limit up to 2^30 tokens" if longest.tokens is None else f"{longest.tokens:,} tokens"
    print(
        f"{step.model} on {step.hardware}: batch {args.batchsize}, kv_bit {longest.kv_bit}"
        f"{'' if budget is None else f', KV budget {budget.tokens} tokens ({budget.sinks} sinks)'}\n"
        f"  longest context that fits  {limit}\n"
        f"  decode step at {args.seqlen:,} tokens ({step.cached:,} cached): memory {si(step.total, 'B')}"
        f" (weights {si(step.weights, 'B')}, KV/state {si(step.kv_cache, 'B')}),"
        f" {'fits' if step.fits else 'does NOT fit'}\n"
        f"  time per token  {si(step.time, 's')} (attention {si(step.attention_time, 's')},"
        f" rest {si(step.other_time, 's')}), {step.tokens_per_s:.4g} tokens/s"
    )
    return 0
