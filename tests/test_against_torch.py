"""The engine's counts against a real framework.

Every shipped model is built by ``transformers`` on the meta device (no weights, no download).
For dense models, torch's FlopCounterMode counts the matmul FLOPs of a prefill and of one
decode step with a KV cache; they must match the engine's matmul OPs within 0.1%, and the
KV cache tensors must have exactly the engine's KV-cache bytes. Parameter counts must match
exactly for every model.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from dataclasses import replace

import pytest

import llmviewer
from llmviewer.engine.analysis import kv_cache_bytes
from llmviewer.specs.models import shipped_models
from llmviewer.specs.workload import make_pass

from .conftest import DENSE, SHIPPED, require_or_skip

# hybrid stacks (gated DeltaNet or Mamba2 layers between attention layers) have their own test below
HYBRID = [n for n in SHIPPED if llmviewer.load_model(n).linear_layers]
# Llama-4: transformers runs every routed expert on every token (its own test below)
ALL_EXPERTS = [n for n in SHIPPED if llmviewer.load_model(n).model_type in ("llama4", "llama4_text")]
MOE = [n for n in SHIPPED if n not in DENSE and n not in HYBRID and n not in ALL_EXPERTS]
SLOW_MOE = {"gemma-4-26B-A4B"}  # its multimodal wrapper takes ~20 s on meta: run with -m slow
DENSE = [n for n in DENSE if n not in HYBRID]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = require_or_skip("torch")
transformers = require_or_skip("transformers")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

BATCH, PROMPT = 2, 24


# model_types transformers does not know but whose architecture it builds under another name
# (an explicit conversion: the config is read as JSON and its model_type renamed, no remote code).
ALIASES = {"kimi_k2": "deepseek_v3"}
VISION_MODULES = ("vision_tower.", "multi_modal_projector.", "model.visual.", "model.embed_vision.", "vision_model.")
IMAGE_TEXT_ONLY = {"qwen3_vl", "mistral3"}
# transformers 5.23 ties lm_head for mistral3 (a top-level tie_word_embeddings default of True) although the
# checkpoint ships its own lm_head (text_config: Mistral's default False); the engine counts the checkpoint's
# lm_head, so the test adds it back to what transformers builds (an explicit conversion).
TIED_BY_TRANSFORMERS = {"mistral3"}


@functools.lru_cache(maxsize=2)
def meta_model(name: str):
    raw = json.loads(shipped_models()[name].read_text())
    if raw.get("model_type") in ALIASES:
        target = ALIASES[raw.pop("model_type")]
        raw.pop("auto_map", None)
        cfg = transformers.AutoConfig.for_model(target, **raw)
    else:
        cfg = transformers.AutoConfig.from_pretrained(shipped_models()[name].parent)
    if raw.get("model_type") in IMAGE_TEXT_ONLY:  # AutoModelForCausalLM refuses these wrappers
        with torch.device("meta"):
            return transformers.AutoModelForImageTextToText.from_config(
                cfg, dtype=torch.bfloat16, attn_implementation="eager"
            )
    with torch.device("meta"):
        return transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16, attn_implementation="eager")


def engine_matmul_ops(name, new: int, past: int) -> tuple[float, float]:
    """The engine's matmul OPs for the pass (``name``: a shipped model or a spec), and the part of them
    that is bias additions (which FlopCounterMode does not count)."""
    # eager attention computes the full score block through memory: the unfused, non-causal accounting
    p = make_pass(BATCH, new, past, 1, flash_attention=False, causal_attention=False, fusion="none")
    ops = [op for op in llmviewer.build_ops(llmviewer.load_model(name), flash_attention=False) if op.kind == "matmul"]
    total = sum(op.traffic(p).OPs * op.count for op in ops)
    bias = sum(
        op._tokens(p) * op.groups * op.out_f * op.count * getattr(op, "top_k", 1)
        for op in ops
        if getattr(op, "bias", False)
    )
    return total, bias


@pytest.mark.parametrize("name", SHIPPED)
def test_parameter_count_matches_transformers(name):
    model = meta_model(name)
    # multimodal wrappers: the engine analyses the text model; the vision tower and projector are set aside
    theirs = sum(p.numel() for n, p in model.named_parameters() if not any(v in n for v in VISION_MODULES))
    m = llmviewer.load_model(name)
    if json.loads(shipped_models()[name].read_text()).get("model_type") in TIED_BY_TRANSFORMERS:
        assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
        theirs += m.vocab_size * m.hidden_size
    assert llmviewer.parameter_count(m) == theirs


@pytest.mark.parametrize("name", DENSE)
def test_matmul_ops_and_kv_cache_match_flop_counter(name):
    model = meta_model(name)
    ids = torch.zeros(BATCH, PROMPT, dtype=torch.long, device="meta")
    with FlopCounterMode(display=False) as prefill:
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    step = torch.zeros(BATCH, 1, dtype=torch.long, device="meta")
    with FlopCounterMode(display=False) as decode:
        out = model(input_ids=step, past_key_values=out.past_key_values, use_cache=True)

    for (total, bias), counted in (
        (engine_matmul_ops(name, PROMPT, 0), prefill),
        (engine_matmul_ops(name, 1, PROMPT), decode),
    ):
        assert total == pytest.approx(counted.get_total_flops(), rel=1e-3)  # the bound
        assert total - bias == counted.get_total_flops()  # in fact exact, once bias adds are set aside

    cache = out.past_key_values
    cache_bytes = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    m = llmviewer.load_model(name)
    assert kv_cache_bytes(m, BATCH, PROMPT + 1, 16) == cache_bytes


def run_prefill_and_decode(model):
    """FlopCounterMode over a prefill of PROMPT tokens and one decode step; returns (prefill, decode, cache)."""
    ids = torch.zeros(BATCH, PROMPT, dtype=torch.long, device="meta")
    # Gemma-4's wrapper needs its cache made up front to run on meta (see research/configs-2026-11/REPORT.md)
    cache = transformers.DynamicCache(config=model.config) if model.config.model_type == "gemma4" else None
    with FlopCounterMode(display=False) as prefill:
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1, past_key_values=cache)
    step = torch.zeros(BATCH, 1, dtype=torch.long, device="meta")
    with FlopCounterMode(display=False) as decode:
        out = model(input_ids=step, past_key_values=out.past_key_values, use_cache=True)
    return prefill, decode, out.past_key_values


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_MOE else n for n in MOE])
def test_moe_matmul_ops_match_flop_counter_with_batched_experts(name):
    """MoE models: transformers' default ``grouped_mm`` experts count 0 FLOPs under FlopCounterMode
    (torch has no formula for ``aten._grouped_mm``), so the experts run as ``batched_mm``, which
    counts exactly the routed top-k, as the engine does. MLA (DeepSeek-V2/V3, Kimi-K2): transformers
    5 caches the latent (kv_lora_rank + rope values per token and layer) and re-expands it with
    ``kv_b_proj`` over every cached token each step: that is the engine's default (unabsorbed)
    convention, tested here exactly; the absorbed kernel (``absorb_mla=True``) is the other convention."""
    model = meta_model(name)
    if not hasattr(model, "set_experts_implementation"):
        pytest.skip(f"{type(model).__name__} has no experts interface")
    model.set_experts_implementation("batched_mm")
    try:
        prefill, decode, cache = run_prefill_and_decode(model)
    finally:
        model.set_experts_implementation("grouped_mm")
    m = llmviewer.load_model(name)
    for new, past, counted in ((PROMPT, 0, prefill), (1, PROMPT, decode)):
        total, bias = engine_matmul_ops(name, new, past)
        assert total - bias == counted.get_total_flops()
    cache_bytes = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert kv_cache_bytes(m, BATCH, PROMPT + 1, 16) == cache_bytes


@pytest.mark.parametrize(
    "name",
    [n for n in SHIPPED if (v := llmviewer.load_model(n).vision) is not None and v.style not in ("qwen3_vl", "gemma4")],
)
def test_vision_encoder_matches_transformers(name):
    """Multimodal wrappers: the vision tower (with its projector) is reported apart from the decoder;
    its parameters and the matmul OPs of encoding images (convolution, addmm, bmm, mm) are exact."""
    from llmviewer.engine.vision import vision_encoder_cost

    cfg = transformers.AutoConfig.from_pretrained(shipped_models()[name].parent)
    with torch.device("meta"):
        model = transformers.AutoModelForImageTextToText.from_config(cfg, dtype=torch.bfloat16)
    v = llmviewer.load_model(name).vision
    images = 1 if v.style == "pixtral" else 2  # pixtral concatenates images into one masked sequence: one
    pixels = torch.zeros(images, v.channels, v.image_size, v.image_size, dtype=torch.bfloat16, device="meta")
    with FlopCounterMode(display=False) as counted:
        if v.style == "pixtral":  # get_image_features calls .tolist() on a meta tensor: its two steps, as it runs them
            sizes = torch.tensor([[v.image_size, v.image_size]])
            hidden = model.model.vision_tower(pixels, image_sizes=sizes, output_hidden_states=True).hidden_states[-1]
            features = model.model.multi_modal_projector(hidden.squeeze(0), sizes)
            assert features.shape[0] == (v.image_size // (v.patch_size * v.merge)) ** 2
        elif v.style == "llama4":  # the projector runs outside get_image_features (as the model's forward does it)
            hidden = model.get_image_features(pixel_values=pixels, return_dict=True).last_hidden_state
            features = model.multi_modal_projector(hidden.reshape(-1, hidden.shape[-1]))
            assert features.shape[0] == images * v.tokens_per_image
        else:
            model.model.get_image_features(pixel_values=pixels)
    cost = vision_encoder_cost(v, images=images)
    assert cost["matmul_OPs"] == counted.get_total_flops()
    theirs = sum(p.numel() for n, p in model.named_parameters() if any(m in n for m in VISION_MODULES))
    assert cost["parameters"] == theirs
    assert llmviewer.analyze(name, "H100").to_dict()["vision_encoder_per_image"]["tokens"] == v.tokens_per_image


# token mixers whose recurrent core transformers runs as its reference torch fallback (chunked scan padded to
# 64/128 tokens in prefill, an element-wise step plus a bmm in decode) and whose causal conv it counts as a
# padded convolution: those FLOPs follow the fallback's algorithm, not the kernel's; the engine counts them
# as the StateUpdate operators (not matmuls), so they are set aside here. Every projection is compared exactly.
RECURRENT_MODULES = ("GatedDeltaNet", "Mamba2Mixer")


def recurrent_core_flops(model, counted) -> int:
    """FLOPs FlopCounterMode attributes to the recurrent mixers' own computation (scan and conv): every
    count of those modules but their projections' ``aten.mm``."""
    root = type(model).__name__
    names = {f"{root}.{n}" for n, mod in model.named_modules() if type(mod).__name__.endswith(RECURRENT_MODULES)}
    assert names, "no recurrent mixer found"
    per_module = counted.get_flop_counts()
    return sum(v for n in names for op, v in per_module.get(n, {}).items() if str(op) not in ("aten.mm", "aten.addmm"))


def cache_bytes_with_state(cache) -> int:
    """Bytes of every tensor the cache holds: keys and values of attention layers, conv and recurrent
    states of linear-attention/SSM layers."""
    total = 0
    for layer in cache.layers:
        for attr in ("keys", "values"):
            t = getattr(layer, attr, None)
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()
        for attr in ("conv_states", "recurrent_states"):
            states = getattr(layer, attr, None) or []
            for t in states.values() if isinstance(states, dict) else states:
                if isinstance(t, torch.Tensor):
                    total += t.numel() * t.element_size()
    return total


# one model of each mixer kind runs by default; the larger ones are behind the slow marker (run with -m slow)
FAST_HYBRID = {"NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "Qwen3.5-35B-A3B"}


@pytest.mark.parametrize("name", [n if n in FAST_HYBRID else pytest.param(n, marks=pytest.mark.slow) for n in HYBRID])
def test_hybrid_matmul_ops_and_state_bytes_match_transformers(name):
    """Qwen3-Next/Qwen3.5 (gated DeltaNet) and Nemotron-H (Mamba2): every projection's matmul OPs, for a
    prefill and for a decode step with a cache, equal FlopCounterMode's (experts as ``batched_mm``); the
    cache transformers holds (KV of the attention layers, conv window and FP32 recurrent state of the
    others) has exactly the engine's bytes, and the state part does not grow with the context."""
    model = meta_model(name)
    moe = hasattr(model, "set_experts_implementation") and llmviewer.load_model(name).is_moe
    if moe:
        model.set_experts_implementation("batched_mm")
    try:
        prefill, decode, cache = run_prefill_and_decode(model)
    finally:
        if moe:
            model.set_experts_implementation("grouped_mm")
    for new, past, counted in ((PROMPT, 0, prefill), (1, PROMPT, decode)):
        total, bias = engine_matmul_ops(name, new, past)
        assert total - bias == counted.get_total_flops() - recurrent_core_flops(model, counted)
    m = llmviewer.load_model(name)
    assert kv_cache_bytes(m, BATCH, PROMPT + 1, 16) == cache_bytes_with_state(cache)
    # the state is constant: a million more tokens add only the attention layers' keys and values
    per_token = BATCH * m.attention_layer_count * m.kv_cache_elements_per_token * 2
    grown = kv_cache_bytes(m, BATCH, PROMPT + 1 + 10**6, 16) - kv_cache_bytes(m, BATCH, PROMPT + 1, 16)
    assert m.state_bytes(16) > 0 and grown == 10**6 * per_token


@pytest.mark.parametrize("name", ALL_EXPERTS)
def test_llama4_both_expert_conventions_match_flop_counter(name):
    """Llama-4 (text model of the multimodal config): transformers' ``Llama4TextMoe`` runs EVERY routed
    expert on every token (a dense ``bmm`` over all experts, scaled by mostly-zero router scores), so
    FlopCounterMode counts E experts where a routed kernel runs top-k. Both conventions are tested: the
    engine with ``experts_per_token = num_experts`` equals FlopCounterMode exactly, and the engine's
    routed top-k count equals FlopCounterMode with the experts' FLOPs scaled by k/E. Chunked attention
    (8192-token blocks) does not change a 24-token pass; the KV cache holds every token so far."""
    model = meta_model(name)
    prefill, decode, cache = run_prefill_and_decode(model)
    m = llmviewer.load_model(name)
    dense_experts = m.map_layers(mlp=lambda k: replace(k, top_k=k.experts) if k.kind == "moe" else k)
    root = type(model).__name__
    experts = {f"{root}.{n}" for n, mod in model.named_modules() if type(mod).__name__ == "Llama4TextExperts"}
    assert len(experts) == m.num_moe_layers
    for new, past, counted in ((PROMPT, 0, prefill), (1, PROMPT, decode)):
        total, bias = engine_matmul_ops(dense_experts, new, past)
        assert total - bias == counted.get_total_flops()
        expert_flops = sum(sum(counted.get_flop_counts().get(n, {}).values()) for n in experts)
        routed, bias = engine_matmul_ops(m, new, past)
        theirs = counted.get_total_flops() - expert_flops + expert_flops * m.experts_per_token // m.num_experts
        assert routed - bias == theirs
    cache_bytes = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert kv_cache_bytes(m, BATCH, PROMPT + 1, 16) == cache_bytes


@pytest.mark.slow
def test_qwen3_vl_vision_tower_matches_transformers():
    """Qwen3-VL's tower cannot run on meta (its position interpolation mixes CPU and meta tensors), so it
    is built on meta, given uninitialised CPU memory and run on a 4 x 4-patch image (eager attention):
    parameters (whole tower, deepstack mergers included) and matmul OPs at that size are exact."""
    from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLVisionModel

    from llmviewer.engine.vision import vision_encoder_cost

    name = "Qwen3-VL-8B-Instruct"
    cfg = transformers.AutoConfig.from_pretrained(shipped_models()[name].parent)
    with torch.device("meta"):
        tower = Qwen3VLVisionModel._from_config(cfg.vision_config, dtype=torch.bfloat16, attn_implementation="eager")
    v = llmviewer.load_model(name).vision
    assert vision_encoder_cost(v)["parameters"] == sum(p.numel() for p in tower.parameters())
    tower = tower.to_empty(device="cpu")
    grid = 4
    pixels = torch.zeros(grid * grid, v.channels * v.temporal_patch * v.patch_size**2, dtype=torch.bfloat16)
    with torch.no_grad(), FlopCounterMode(display=False) as counted:
        out = tower(pixels, grid_thw=torch.tensor([[1, grid, grid]]))
    small = replace(v, image_size=grid * v.patch_size, tokens_per_image=(grid // v.merge) ** 2)
    assert out.pooler_output.shape[0] == small.tokens_per_image and len(out.deepstack_features) == v.deepstack
    assert vision_encoder_cost(small)["matmul_OPs"] == counted.get_total_flops()


def _small_tower(vision_config, cls, **fields):
    """``cls`` built from a copy of ``vision_config`` with ``fields`` replaced (fewer layers), on
    uninitialised CPU memory."""
    small = copy.deepcopy(vision_config)
    for key, value in fields.items():
        setattr(small, key, value)
    with torch.device("meta"):
        tower = cls._from_config(small, dtype=torch.bfloat16, attn_implementation="eager")
    return tower.to_empty(device="cpu")


QWEN3_5_VISION = [n for n in SHIPPED if llmviewer.load_model(n).model_type in ("qwen3_5", "qwen3_5_moe")]


@pytest.mark.parametrize("name", QWEN3_5_VISION)
def test_qwen3_5_vision_tower_matches_transformers(name):
    """Qwen3.5 (dense and MoE wrappers): the Qwen3-VL tower without deepstack mergers. Parameters of the
    whole tower built on meta are exact; matmul OPs are exact for a two-layer copy of it run on uninitialised
    CPU memory for 4 x 4 and 6 x 6-patch images (per-layer OPs do not depend on the depth; two grids pin
    both the patches and the patches² terms)."""
    import importlib

    from llmviewer.engine.vision import vision_encoder_cost

    model_type = llmviewer.load_model(name).model_type
    module = importlib.import_module(f"transformers.models.{model_type}.modeling_{model_type}")
    cls = getattr(module, "Qwen3_5MoeVisionModel" if model_type == "qwen3_5_moe" else "Qwen3_5VisionModel")
    cfg = transformers.AutoConfig.from_pretrained(shipped_models()[name].parent)
    with torch.device("meta"):
        full = cls._from_config(cfg.vision_config, dtype=torch.bfloat16, attn_implementation="eager")
    v = llmviewer.load_model(name).vision
    assert (v.style, v.deepstack, v.image_size, v.tokens_per_image) == ("qwen3_vl", 0, 768, 576)
    assert vision_encoder_cost(v)["parameters"] == sum(p.numel() for p in full.parameters())
    tower = _small_tower(cfg.vision_config, cls, depth=2)
    for grid in (4, 6):
        pixels = torch.zeros(grid * grid, v.channels * v.temporal_patch * v.patch_size**2, dtype=torch.bfloat16)
        with torch.no_grad(), FlopCounterMode(display=False) as counted:
            out = tower(pixels, grid_thw=torch.tensor([[1, grid, grid]]))
        small = replace(v, layers=2, image_size=grid * v.patch_size, tokens_per_image=(grid // v.merge) ** 2)
        assert out.pooler_output.shape[0] == small.tokens_per_image
        assert vision_encoder_cost(small)["matmul_OPs"] == counted.get_total_flops()
    assert llmviewer.analyze(name, "H100").to_dict()["vision_encoder_per_image"]["tokens"] == 576


def test_gemma4_vision_tower_matches_transformers():
    """Gemma-4: the vision tower (``Gemma4VisionModel``) and its embedder into the text model
    (``Gemma4MultimodalEmbedder``, the wrapper's ``embed_vision``), built on meta: parameters exact. Matmul
    OPs are exact for two-layer copies run on uninitialised CPU memory for 3 x 3 and 6 x 6-patch images
    (1 and 4 tokens after 3 x 3 pooling), with the shipped attention shape and with GQA and a head size
    other than hidden / heads, once transformers' pooling, a one-hot matmul of
    2 x tokens x patches x hidden FLOPs where the engine counts an average (element-wise), is set aside."""
    from transformers.models.gemma4.modeling_gemma4 import Gemma4MultimodalEmbedder, Gemma4VisionModel

    from llmviewer.engine.vision import vision_encoder_cost

    name = "gemma-4-26B-A4B"
    cfg = transformers.AutoConfig.from_pretrained(shipped_models()[name].parent)
    with torch.device("meta"):
        full = Gemma4VisionModel._from_config(cfg.vision_config, dtype=torch.bfloat16, attn_implementation="eager")
        embed = Gemma4MultimodalEmbedder(cfg.vision_config, cfg.text_config)
    v = llmviewer.load_model(name).vision
    # 280 tokens at most: a 16 x 16-token square of 3 x 3 patches of 16 px, 768 px a side
    assert (v.style, v.image_size, v.patches, v.tokens_per_image) == ("gemma4", 768, 2304, 256)
    embed_params = sum(p.numel() for p in embed.parameters())
    assert vision_encoder_cost(v)["parameters"] == sum(p.numel() for p in full.parameters()) + embed_params
    embed = embed.to_empty(device="cpu").to(torch.bfloat16)
    # the shipped shape (heads x head size = hidden), then one with a head size and KV heads of its own
    for shape in ({}, {"head_dim": 64, "num_key_value_heads": 4}):
        tower = _small_tower(cfg.vision_config, Gemma4VisionModel, num_hidden_layers=2, **shape)
        ours = replace(
            v,
            layers=2,
            head_dim=shape.get("head_dim", v.head_dim),
            kv_heads=shape.get("num_key_value_heads", v.kv_heads),
        )
        assert vision_encoder_cost(ours)["parameters"] == sum(p.numel() for p in tower.parameters()) + embed_params
        for grid in (3, 6):
            ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
            positions = torch.stack([xs.flatten(), ys.flatten()], dim=-1)[None]
            pixels = torch.zeros(1, grid * grid, v.channels * v.patch_size**2, dtype=torch.bfloat16)
            with torch.no_grad(), FlopCounterMode(display=False) as counted:
                hidden = tower(pixel_values=pixels, pixel_position_ids=positions).last_hidden_state
                features = embed(hidden)
            small = replace(ours, image_size=grid * v.patch_size, tokens_per_image=(grid // v.merge) ** 2)
            n, tokens = small.patches, small.tokens_per_image
            assert features.shape == (tokens, v.text_hidden_size)
            pooling = 2 * tokens * n * v.hidden_size  # transformers' one-hot pooling matmul
            assert vision_encoder_cost(small)["matmul_OPs"] == counted.get_total_flops() - pooling
    assert llmviewer.analyze(name, "H100").to_dict()["vision_encoder_per_image"]["tokens"] == 256
