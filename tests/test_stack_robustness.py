"""Issue 13 item 4, "nothing silent", on the typed layer stack: mutated copies of shipped configs
(per-layer pattern fields, expert counts, windows, soft caps, huge integers) and hand-built
:class:`ModelSpec` stacks give either a correct result or ONE clear line naming the field, its
value and what is valid (:class:`LLMViewerError`; exit status 2 from the CLI). Where transformers
derives a per-layer pattern (Qwen's sliding-window layers), its own config class is the oracle.
"""

from __future__ import annotations

import json

import pytest

import llmviewer
from llmviewer.errors import LLMViewerError
from llmviewer.specs.models import (
    Attention,
    DenseMLP,
    GatedDeltaNet,
    LatentAttention,
    Layer,
    Mamba2,
    ModelSpec,
    MoEMLP,
    layer,
)
from tests.test_bad_inputs import _run_cli
from tests.test_properties import _config, _finite_nonnegative


def _mutated(model: str, change: dict, where: str = "top") -> dict:
    cfg = _config(model)
    target = cfg if where == "top" else cfg[where]
    target.update(change)
    return cfg


def _n(model: str) -> int:
    cfg = _config(model)
    return cfg.get("text_config", cfg)["num_hidden_layers"]


# (model, where, change, regex of the one line). Each was accepted silently, or refused with a
# traceback or a line that did not name the field, before the checks of issue 13 item 4.
REFUSED = [
    ("gpt-oss-20b", "top", {"layer_types": ["bogus"] * 24}, r"'layer_types' has 'bogus'; valid: sliding_att"),
    ("gpt-oss-20b", "top", {"layer_types": ["linear_attention"] * 24}, r"'layer_types' has 'linear_attention'; valid"),
    ("gpt-oss-20b", "top", {"layer_types": [None] * 24}, r"'layer_types' has None; valid"),
    ("gemma-3-1b-it", "top", {"layer_types": ["chunked_attention"] * 26}, r"'layer_types' has 'chunked_attention'"),
    ("gemma-3-1b-it", "top", {"layer_types": "sliding"}, r"'layer_types' has 'sliding' entries for 26 layers"),
    ("Mistral-7B-v0.1", "top", {"layer_types": ["weird"] * 32}, r"'layer_types' has 'weird'; valid"),
    ("Qwen2.5-7B", "top", {"use_sliding_window": "yes"}, r"'use_sliding_window' must be true or false, got 'yes'"),
    ("Qwen3-Next-80B-A3B-Thinking", "top", {"num_experts": False}, r"'num_experts' must be an integer in 0\.\."),
    ("Qwen3-Next-80B-A3B-Thinking", "top", {"num_experts": []}, r"'num_experts' must be an integer in 0\.\."),
    ("Qwen3.5-35B-A3B", "text_config", {"mlp_only_layers": "x"}, r"'mlp_only_layers' must be a list of layer indices"),
    ("Qwen3.5-35B-A3B", "text_config", {"rope_parameters": "x"}, r"'rope_parameters' is 'x'; valid: an object or null"),
    ("gemma-4-26B-A4B", "text_config", {"rope_parameters": [1]}, r"'rope_parameters' is \[1\]; valid: an object"),
    ("DeepSeek-V3", "top", {"n_routed_experts": 3},
     r"'num_experts_per_tok' is 8; valid: 1\.\.3 \(the number of experts, 'n_routed_experts'\)"),
    ("gemma-4-26B-A4B", "text_config", {"top_k_experts": 129}, r"'top_k_experts' is 129; valid: 1\.\.128"),
    ("gpt-oss-20b", "top", {"num_local_experts": 2}, r"'num_experts_per_tok' is 4; valid: 1\.\.2 .*'num_local_"),
    ("Llama-2-7b-hf", "top", {"hidden_size": 10**400}, r"'hidden_size' is 1000\.\.\. \(401 digits\); valid: 1\.\."),
    ("Mixtral-8x7B-v0.1", "top", {"num_local_experts": 10**40}, r"'num_local_experts' is 1000\.\.\. \(41 digits\)"),
    ("DeepSeek-V3", "top", {"kv_lora_rank": 10**300}, r"'kv_lora_rank' is 1000\.\.\. \(301 digits\)"),
    ("gemma-2-9b", "top", {"final_logit_softcapping": 10**400},
     r"'final_logit_softcapping' must be a positive number or null .*got 1000\.\.\."),
    ("falcon-7b", "top", {"hidden_size": 3}, r"hidden_size \(3\) is smaller than num_attention_heads \(71\)"),
    ("gpt-j-6b", "top", {"n_embd": 3}, r"hidden_size \(3\) is smaller than num_attention_heads \(16\)"),
]  # fmt: skip


@pytest.mark.parametrize(
    "model,where,change,regex", [pytest.param(*c, id=f"{c[0]}-{next(iter(c[2]))}") for c in REFUSED]
)
def test_mutated_configs_are_refused_in_one_line(model, where, change, regex):
    with pytest.raises(LLMViewerError, match=regex) as raised:
        llmviewer.analyze(llmviewer.load_model(_mutated(model, change, where)), "H100", batch_size=1, seqlen=128)
    assert "\n" not in str(raised.value)


def test_a_named_arch_says_so_when_a_field_is_missing():
    with pytest.raises(LLMViewerError, match=r"'intermediate_size' for model_type 'llama' \(named with arch=/--arch\)"):
        llmviewer.load_model(_config("opt-6.7b"), arch="llama")


# ----------------------------------------------- Qwen sliding-window layers, as transformers derives them

QWEN_SLIDING = [  # (model, change): use_sliding_window switched on
    ("Qwen2.5-7B", {"use_sliding_window": True}),  # max_window_layers 28 of 28 layers: no sliding layer
    ("Qwen2.5-7B", {"use_sliding_window": True, "max_window_layers": 20}),  # layers 20..27 slide
    ("Qwen3-8B", {"use_sliding_window": True, "sliding_window": 4096, "max_window_layers": 30}),
    ("Qwen3-8B", {"use_sliding_window": True}),  # sliding_window null: no window
    ("Qwen1.5-MoE-A2.7B", {"use_sliding_window": True}),  # Qwen2-MoE: even layers below max_window_layers
]


@pytest.mark.parametrize("model,change", QWEN_SLIDING, ids=lambda x: x if isinstance(x, str) else "-".join(x))
def test_qwen_sliding_layers_follow_transformers(model, change):
    transformers = pytest.importorskip("transformers")
    cfg = _mutated(model, change)
    ref = transformers.AutoConfig.for_model(**cfg)
    m = llmviewer.load_model(cfg)
    got = [x.mixer.kind for x in m.layers]
    want = [t if ref.sliding_window else "full_attention" for t in ref.layer_types]
    assert got == want
    assert m.sliding_layers == want.count("sliding_attention")
    if m.sliding_layers:
        assert m.sliding_window == cfg["sliding_window"]


def test_qwen3_moe_slides_on_every_layer_when_enabled():
    """transformers' Qwen3-MoE attention uses ``config.sliding_window`` in every layer (no layer_types)."""
    m = llmviewer.load_model(_mutated("Qwen3-30B-A3B", {"use_sliding_window": True, "sliding_window": 4096}))
    assert (m.sliding_layers, m.sliding_window) == (48, 4096)


# ----------------------------------------------------------------------------------- hand-built specs

BASE = dict(name="toy", model_type="llama", hidden_size=256, num_layers=2, num_heads=4, num_kv_heads=2,
            head_dim=64, intermediate_size=512, vocab_size=1000)  # fmt: skip
A, D = Attention(4, 2, 64), DenseMLP(512)

HAND_BUILT = {
    "wrong length": (dict(layers=(layer(A, D),) * 3), r"toy: 3 layers given for num_layers 2"),
    "a list": (dict(layers=[layer(A, D)] * 2), r"toy: ModelSpec\.layers is a list; valid: a tuple of Layer"),
    "a str in the stack": (dict(layers=(layer(A, D), "x")), r"toy: ModelSpec\.layers holds str; valid: a tuple"),
    "top-k above experts": (dict(layers=(layer(A, MoEMLP(4, 8, 128)),) * 2), r"MoEMLP\.top_k is 8; valid: 1\.\.4"),
    "no experts": (dict(layers=(layer(A, MoEMLP(0, 0, 128)),) * 2), r"MoEMLP\.experts is 0; valid: an integer in 1"),
    "float top-k": (dict(layers=(layer(A, MoEMLP(8, 2.5, 128)),) * 2), r"MoEMLP\.top_k is 2\.5; valid"),
    "KV heads not dividing": (dict(layers=(layer(Attention(4, 3, 64), D),) * 2),
                              r"Attention\.kv_heads is 3; valid: a divisor of heads \(4\)"),
    "global KV heads not dividing": (dict(num_kv_heads=3), r"Attention\.kv_heads is 3; valid: a divisor of heads"),
    "zero heads": (dict(layers=(layer(Attention(0, 0, 64), D),) * 2), r"Attention\.heads is 0; valid"),
    "bool heads": (dict(layers=(layer(Attention(True, True, 64), D),) * 2), r"Attention\.heads is True; valid"),
    "negative window": (dict(layers=(layer(Attention(4, 2, 64, window=-5), D),) * 2),
                        r"Attention\.window is -5; valid: an integer in 1\.\.\d+ or None"),
    "zero window": (dict(layers=(layer(Attention(4, 2, 64, window=0), D),) * 2), r"Attention\.window is 0; valid"),
    "float window": (dict(layers=(layer(Attention(4, 2, 64, window=1.5), D),) * 2), r"Attention\.window is 1\.5"),
    "zero chunk": (dict(layers=(layer(Attention(4, 2, 64, chunk=0), D),) * 2), r"Attention\.chunk is 0; valid"),
    "negative MLP": (dict(layers=(layer(A, DenseMLP(-5)),) * 2), r"DenseMLP\.intermediate_size is -5; valid"),
    "no MLA latent": (dict(layers=(layer(LatentAttention(4, 0, 0, 64, 32, 64), D),) * 2),
                      r"LatentAttention\.kv_lora_rank is 0; valid"),
    "Mamba2 groups": (dict(layers=(layer(Mamba2(6, 64, 128, 4, 4), D),) * 2),
                      r"Mamba2\.groups is 4; valid: a divisor of heads \(6\)"),
    "DeltaNet heads": (dict(layers=(layer(GatedDeltaNet(4, 6, 64, 64, 4), D),) * 2),
                       r"GatedDeltaNet\.key_heads is 4; valid: a divisor of value_heads \(6\)"),
    "no layers": (dict(num_layers=0), r"toy: ModelSpec\.num_layers is 0; valid: an integer in 1\.\."),
    "negative layers": (dict(num_layers=-2), r"toy: ModelSpec\.num_layers is -2; valid"),
    "zero hidden": (dict(hidden_size=0), r"toy: ModelSpec\.hidden_size is 0; valid"),
    "NaN soft cap": (dict(final_logit_softcap=float("nan")),
                     r"ModelSpec\.final_logit_softcap is nan; valid: a positive finite number or None"),
    "negative soft cap": (dict(attn_logit_softcap=-3.0), r"ModelSpec\.attn_logit_softcap is -3\.0; valid"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HAND_BUILT))
def test_inconsistent_hand_built_specs_are_one_clear_line(case):
    changes, regex = HAND_BUILT[case]
    with pytest.raises(LLMViewerError, match=regex) as raised:
        llmviewer.analyze(ModelSpec(**{**BASE, **changes}), "H100", batch_size=2, seqlen=256)
    assert "\n" not in str(raised.value)


def test_an_mlp_in_the_mixer_slot_is_one_clear_line():
    with pytest.raises(LLMViewerError, match=r"Layer\(DenseMLP, Attention\): valid: a token mixer"):
        Layer(D, A)


def test_contextual_sparsity_still_keeps_an_expected_number_of_kv_heads():
    """Only ``resized`` (expected kept heads) may leave KV heads that do not divide the heads."""
    from llmviewer.techniques.sparsity import sparse_model

    m = sparse_model("Llama-3.1-8B", 0.2, 0.2, 1)
    assert (m.num_heads, m.num_kv_heads) == (6, 5)
    a = llmviewer.analyze(m, "H100", batch_size=1, seqlen=128)
    assert _finite_nonnegative(a.prefill.time, a.decode.time, *a.memory.values())


# ----------------------------------------------------------------------------------------------- CLI


def test_cli_bad_layer_types_exit_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_mutated("gpt-oss-20b", {"layer_types": ["bogus"] * 24})))
    code, out, err = _run_cli(["analyze", str(path), "H100", "--json"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "'layer_types' has 'bogus'; valid: sliding_attention, full_attention" in err


def test_cli_foreign_config_read_as_llama_lists_what_it_ignored(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_config("gpt-oss-20b")))
    code, out, err = _run_cli(["analyze", str(path), "H100", "--arch", "llama", "--json"], capsys)
    assert code == 0, err
    ignored = json.loads(out)["ignored_fields"]
    assert {"layer_types", "num_local_experts", "sliding_window", "num_experts_per_tok"} <= set(ignored)


# ------------------------------------------------------------------------------ property: any pattern field

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PATTERNED = {  # model -> (where, pattern fields it reads)
    "gpt-oss-20b": ("top", ("layer_types", "sliding_window", "num_experts_per_tok", "num_local_experts")),
    "gemma-3-1b-it": ("top", ("layer_types", "sliding_window", "sliding_window_pattern", "final_logit_softcapping")),
    "DeepSeek-V2-Lite": ("top", ("first_k_dense_replace", "moe_layer_freq", "n_shared_experts", "q_lora_rank")),
    "Qwen3-30B-A3B": ("top", ("mlp_only_layers", "decoder_sparse_step", "use_sliding_window")),
    "Nemotron-H-56B-Base-8K": ("top", ("hybrid_override_pattern", "n_groups", "mamba_num_heads")),
    "Llama-4-Scout-17B-16E-Instruct": ("text_config", ("no_rope_layers", "interleave_moe_layer_step",
                                                       "attention_chunk_size", "moe_layers", "layer_types")),
    "gemma-4-26B-A4B": ("text_config", ("layer_types", "top_k_experts", "global_head_dim", "rope_parameters")),
    "Qwen3.5-27B": ("text_config", ("layer_types", "full_attention_interval", "linear_num_key_heads")),
}  # fmt: skip
scalar = st.one_of(
    st.integers(-3, 70), st.sampled_from([10**13, 10**400, 1.5, float("nan"), float("inf"), True, None, "4", ""]),
    st.sampled_from(["sliding_attention", "full_attention", "linear_attention", "chunked_attention", "M*-E", "x"]),
)  # fmt: skip
value = st.one_of(scalar, st.lists(scalar, max_size=70), st.dictionaries(st.just("partial_rotary_factor"), scalar))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), model=st.sampled_from(sorted(PATTERNED)))
def test_any_pattern_field_gives_a_result_or_one_line_naming_it(data, model):
    where, keys = PATTERNED[model]
    key = data.draw(st.sampled_from(keys))
    cfg = _mutated(model, {key: data.draw(value)}, where)
    try:
        a = llmviewer.analyze(llmviewer.load_model(cfg), "H100", batch_size=2, seqlen=256)
        text = json.dumps(a.to_dict(), allow_nan=False)  # strict JSON: no NaN or inf
    except LLMViewerError as e:
        msg = str(e)
        assert "\n" not in msg
        assert key in msg or "ModelSpec." in msg or "MoEMLP." in msg, msg
        return
    assert text and _finite_nonnegative(a.prefill.time, a.decode.time, *a.memory.values())
