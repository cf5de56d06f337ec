"""Build one published config with transformers on the meta device and report its structure.

Usage: python probe.py <model_dir> <out_json> [--alias-model-type X]

Never passes trust_remote_code=True.  Runs offline (HF_HUB_OFFLINE=1 must be set by the caller).
"""
import json
import os
import sys
import time
import traceback
from collections import Counter, OrderedDict

import torch

torch.set_num_threads(1)

import transformers  # noqa: E402
from transformers import AutoConfig  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

try:
    from transformers import AutoModelForImageTextToText  # noqa: E402
except Exception:  # pragma: no cover
    AutoModelForImageTextToText = None

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

DTYPE = torch.bfloat16


def find_layers(model):
    """Return (path, ModuleList) of the decoder layers of the language model."""
    best = None
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and name.endswith("layers") and len(mod) > 0:
            low = name.lower()
            if "vision" in low or "visual" in low or "encoder" in low or "audio" in low or "mtp" in low:
                continue
            if best is None or len(mod) > len(best[1]):
                best = (name, mod)
    return best


def describe_layer(layer):
    info = OrderedDict()
    kids = OrderedDict(layer.named_children())
    info["class"] = type(layer).__name__
    info["children"] = {k: type(v).__name__ for k, v in kids.items()}
    mixer = None
    for key in ("self_attn", "linear_attn", "mixer", "mamba", "attention", "attn"):
        if key in kids:
            mixer = (key, kids[key])
            break
    if mixer:
        info["mixer_attr"] = mixer[0]
        info["mixer_class"] = type(mixer[1]).__name__
        pnames = [n for n, _ in mixer[1].named_parameters()]
        info["mixer_params"] = pnames
        info["attention_sinks"] = any(n.split(".")[-1] in ("sinks", "sink") for n in pnames)
        info["mla"] = any("kv_a_proj" in n for n in pnames)
        for attr in ("sliding_window", "is_sliding", "use_rope", "attention_type", "layer_type", "scaling"):
            if hasattr(mixer[1], attr):
                v = getattr(mixer[1], attr)
                if isinstance(v, (int, float, str, bool)) or v is None:
                    info[f"mixer.{attr}"] = v
    mlp = None
    for key in ("mlp", "feed_forward", "block_sparse_moe", "moe", "ffn"):
        if key in kids:
            mlp = (key, kids[key])
            break
    if mlp:
        m = mlp[1]
        info["mlp_attr"] = mlp[0]
        info["mlp_class"] = type(m).__name__
        sub = OrderedDict(m.named_children())
        info["mlp_children"] = {k: type(v).__name__ for k, v in sub.items()}
        experts = sub.get("experts")
        info["moe"] = experts is not None
        if experts is not None:
            info["experts_class"] = type(experts).__name__
            info["experts_params"] = {n: list(p.shape) for n, p in experts.named_parameters()}
            info["experts_uses_interface"] = hasattr(experts, "is_concatenated")
        info["shared_expert"] = any(k.startswith("shared_expert") for k in sub)
    # experts may live outside `mlp` (gemma4: layer.experts; nemotron_h: layer.mixer.experts)
    exp = [(n, m) for n, m in layer.named_modules() if n.split(".")[-1] == "experts"]
    if exp and not info.get("moe"):
        info["moe"] = True
        info["experts_path"] = exp[0][0]
        info["experts_class"] = type(exp[0][1]).__name__
        info["experts_params"] = {n: list(p.shape) for n, p in exp[0][1].named_parameters()}
        info["experts_uses_interface"] = hasattr(exp[0][1], "is_concatenated")
        info["shared_expert"] = any("shared_expert" in n for n, _ in layer.named_modules())
    info["n_params"] = sum(p.numel() for p in layer.parameters())
    return info


def summarize_layers(layers):
    descs = [describe_layer(l) for l in layers]
    sig = []
    for d in descs:
        s = (d.get("mixer_class"), d.get("mlp_class"), d.get("moe"), d.get("mixer.is_sliding"),
             d.get("mixer.sliding_window"), d.get("mixer.use_rope"), d.get("mixer.layer_type"),
             d.get("mixer.attention_type"))
        sig.append(s)
    runs = []
    for i, s in enumerate(sig):
        if runs and runs[-1]["sig"] == s:
            runs[-1]["layers"].append(i)
        else:
            runs.append({"sig": s, "layers": [i]})
    counts = Counter(sig)
    return descs, [{"signature": list(k), "count": v} for k, v in counts.items()], sig


def count_params(model):
    total = 0
    cats = Counter()
    for n, p in model.named_parameters():
        k = p.numel()
        total += k
        low = n.lower()
        if "vision" in low or "visual" in low or "multi_modal_projector" in low or "audio" in low or "embed_vision" in low:
            cats["vision/mm"] += k
        elif "embed_tokens" in low or "embeddings" in low or "wte" in low or "per_layer" in low and "embed" in low:
            cats["embedding"] += k
        elif "lm_head" in low:
            cats["lm_head"] += k
        elif ".experts." in low:
            cats["routed_experts"] += k
        elif "shared_expert" in low:
            cats["shared_experts"] += k
        else:
            cats["other"] += k
    return total, dict(cats)


def flops_run(model, cfg_text, seq=16, impl=None):
    res = OrderedDict()
    assume_nz = False
    if impl == "eager_assume_nonzero":
        impl, assume_nz = "eager", True
    import torch.fx.experimental._config as fxcfg
    fxcfg.meta_nonzero_assume_all_nonzero = assume_nz
    res["meta_nonzero_assume_all_nonzero"] = assume_nz
    if impl is not None:
        try:
            model.set_experts_implementation(impl)
        except Exception as e:  # noqa: BLE001
            res["set_impl_error"] = f"{type(e).__name__}: {e}"[:300]
            return res
    try:
        res["experts_implementation"] = model.config._experts_implementation
    except Exception:  # noqa: BLE001
        pass
    ids = torch.zeros(1, seq, dtype=torch.long, device="meta")
    t0 = time.time()
    try:
        kw = {"use_cache": True}
        if os.environ.get("PROBE_PKV"):
            from transformers import DynamicCache
            kw["past_key_values"] = DynamicCache(config=model.config)
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(input_ids=ids, **kw)  # use_cache=False trips the packed-sequence check (.item() on meta)
        counts = fc.get_flop_counts()
        glob = {str(k): int(v) for k, v in counts.get("Global", {}).items()}
        res["ok"] = True
        res["total_flops"] = int(fc.get_total_flops())
        res["by_op"] = glob
        # per top-level module flops for first two decoder layers
        res["module_flops_sample"] = {k: int(sum(v.values())) for k, v in counts.items()
                                      if k.count(".") <= 5 and (".layers.0." in k or ".layers.1." in k
                                                                or k.endswith(".layers.0") or k.endswith(".layers.1"))}
    except Exception as e:  # noqa: BLE001
        res["ok"] = False
        tb = traceback.format_exc().strip().splitlines()
        res["error"] = f"{type(e).__name__}: {str(e)[:400]}"
        res["traceback_tail"] = [l for l in tb if "site-packages/transformers" in l][-4:] + tb[-2:]
    res["seconds"] = round(time.time() - t0, 2)
    return res


def main():
    mdir, out = sys.argv[1], sys.argv[2]
    alias = None
    if "--alias-model-type" in sys.argv:
        alias = sys.argv[sys.argv.index("--alias-model-type") + 1]
    rep = OrderedDict(model_dir=mdir, transformers=transformers.__version__, torch=torch.__version__)
    raw = json.load(open(os.path.join(mdir, "config.json")))
    rep["model_type"] = raw.get("model_type")
    t0 = time.time()
    try:
        if alias:
            d = dict(raw)
            d.pop("auto_map", None)
            d["model_type"] = alias
            rep["alias_model_type"] = alias
            cfg = AutoConfig.for_model(**d)
        else:
            cfg = AutoConfig.from_pretrained(mdir, trust_remote_code=False)
        rep["config_class"] = type(cfg).__name__
        rep["config_ok"] = True
    except Exception as e:  # noqa: BLE001
        rep["config_ok"] = False
        rep["config_error"] = f"{type(e).__name__}: {str(e)[:500]}"
        json.dump(rep, open(out, "w"), indent=1)
        return
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    keys = ["layer_types", "sliding_window", "sliding_window_pattern", "_sliding_window_pattern", "no_rope_layers",
            "attention_chunk_size", "interleave_moe_layer_step", "moe_layers", "first_k_dense_replace",
            "mlp_only_layers", "decoder_sparse_step", "full_attention_interval", "hybrid_override_pattern",
            "layers_block_type", "mlp_layer_types", "num_local_experts", "num_experts", "n_routed_experts",
            "num_experts_per_tok", "top_k_experts", "n_shared_experts", "shared_expert_intermediate_size",
            "moe_intermediate_size", "intermediate_size", "q_lora_rank", "kv_lora_rank", "qk_rope_head_dim",
            "qk_nope_head_dim", "v_head_dim", "head_dim", "global_head_dim", "num_key_value_heads",
            "num_global_key_value_heads", "attention_k_eq_v", "num_kv_shared_layers", "partial_rotary_factor",
            "rope_parameters", "rope_scaling", "mamba_num_heads", "mamba_head_dim", "ssm_state_size", "n_groups",
            "conv_kernel", "linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim",
            "linear_value_head_dim", "linear_conv_kernel_dim", "attn_output_gate", "use_qk_norm",
            "query_pre_attn_scalar", "final_logit_softcapping", "attn_logit_softcapping", "enable_moe_block",
            "use_double_wide_mlp", "hidden_size_per_layer_input", "num_nextn_predict_layers", "mtp_num_hidden_layers"]
    seen = {}
    for k in keys:
        try:
            if not hasattr(text_cfg, k):
                continue
            v = getattr(text_cfg, k)
        except Exception as e:  # noqa: BLE001  (e.g. gemma4 per-layer attributes)
            seen[k] = f"<{type(e).__name__}>"
            continue
        if True:
            try:
                json.dumps(v)
            except TypeError:
                v = str(v)
            seen[k] = v
    rep["text_config_resolved"] = seen
    built = None
    errors = {}
    with torch.device("meta"):
        for label, fn in (("AutoModelForCausalLM(cfg)", lambda: AutoModelForCausalLM.from_config(cfg, dtype=DTYPE)),
                          ("AutoModelForImageTextToText(cfg)",
                           lambda: AutoModelForImageTextToText.from_config(cfg, dtype=DTYPE)),
                          ("AutoModelForCausalLM(text_config)", lambda: AutoModelForCausalLM.from_config(text_cfg, dtype=DTYPE))):
            try:
                m = fn()
                built = (label, m)
                break
            except Exception as e:  # noqa: BLE001
                errors[label] = f"{type(e).__name__}: {str(e)[:300]}"
    rep["build_errors"] = errors
    if built is None:
        rep["build_ok"] = False
        json.dump(rep, open(out, "w"), indent=1)
        return
    label, model = built
    model.eval()
    rep["build_ok"] = True
    rep["build_via"] = label
    rep["model_class"] = type(model).__name__
    rep["build_seconds"] = round(time.time() - t0, 2)
    total, cats = count_params(model)
    rep["params_total"] = total
    rep["params_by_category"] = cats
    if "text_config" in label:
        rep["note"] = "text-only model built from get_text_config(); vision tower not included"
    # text-only build as well for multimodal wrappers (param count of language model alone)
    lay = find_layers(model)
    if lay:
        rep["layers_path"] = lay[0]
        descs, sigcounts, sig = summarize_layers(lay[1])
        rep["n_layers"] = len(descs)
        rep["layer_signature_counts"] = sigcounts
        rep["layer_signature_per_layer"] = [list(s) for s in sig]
        rep["layer0"] = descs[0]
        # a representative MoE layer, if any
        for d in descs:
            if d.get("moe"):
                rep["first_moe_layer"] = d
                break
        rep["experts_layers"] = [i for i, d in enumerate(descs) if d.get("moe")]
        rep["sinks_layers"] = [i for i, d in enumerate(descs) if d.get("attention_sinks")]
    try:
        rep["experts_implementation_default"] = model.get_experts_implementation()
    except Exception as e:  # noqa: BLE001
        rep["experts_implementation_default"] = f"n/a ({type(e).__name__})"
    try:
        rep["attn_implementation"] = model.config._attn_implementation
    except Exception:  # noqa: BLE001
        pass
    rep["flops"] = OrderedDict()
    impls = [None]
    if rep.get("experts_layers"):
        impls += ["batched_mm", "eager", "eager_assume_nonzero"]
    for impl in impls:
        rep["flops"][impl or "default"] = flops_run(model, text_cfg, impl=impl)
        if os.environ.get("PROBE_SDPA") and impl is None:
            cur = model.config._attn_implementation
            other = "sdpa" if cur != "sdpa" else "eager"
            try:
                model.set_attn_implementation(other)
                rep["flops"]["default+" + other] = flops_run(model, text_cfg, impl=None)
                model.set_attn_implementation(cur)
            except Exception as e:  # noqa: BLE001
                rep["flops"]["default+" + other] = {"ok": False, "error": f"{type(e).__name__}: {str(e)[:200]}"}
        json.dump(rep, open(out, "w"), indent=1)
    json.dump(rep, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
