"""One command-line grammar: shared flags with the same names, types, help and defaults everywhere."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

import llmviewer
from llmviewer.cli import build_parser, run
from llmviewer.cli.commands import COMMANDS
from llmviewer.techniques.compression import SPARSE_FORMATS

M, HW = "Llama-3.1-8B", "H100"


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmviewer", *args], capture_output=True, text=True)


def test_registry_and_help_text_on_every_flag():
    subs = _subparsers()
    assert list(subs) == list(COMMANDS)
    for name, parser in subs.items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name}: {action.option_strings or action.dest} has no help text"


def test_shared_flags_mean_the_same_everywhere():
    """A flag's destination, type and default are the same in every subcommand that has it."""
    seen: dict[str, tuple] = {}
    for name, parser in _subparsers().items():
        for action in parser._actions:
            for flag in action.option_strings:
                key = (action.dest, action.type, action.default, action.nargs, action.const)
                assert seen.setdefault(flag, key) == key, f"{name}: {flag} differs from another subcommand"


@pytest.mark.parametrize("command", ["analyze", "generate", "rank", "speculative", "moe", "compress", "serve"])
def test_every_workload_command_takes_the_precision_flags(command):
    flags = {f for a in _subparsers()[command]._actions for f in a.option_strings}
    assert {"--calibrated", "--decode-graphs", "--w_bit", "--a_bit", "--kv_bit", "--group-size", "--hardware-file",
            "--json"} <= flags  # fmt: skip
    assert command in ("rank", "moe") or "--tp" in flags  # moe models one device; rank grows the group itself


def test_integers_are_integers():
    for name, parser in _subparsers().items():
        for action in parser._actions:
            if action.dest in ("batchsize", "gamma", "seqlen", "prompt_len", "gen_len", "tensor_parallel", "w_bit"):
                assert action.type is int, (name, action.dest)


def test_version_and_one_line_argparse_errors():
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"llmviewer {llmviewer.__version__}"
    bad = cli("speculative", M, "Llama-3.2-1B", HW, "--alpha", "0.8", "--gamma", "2.5")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "invalid int value: '2.5'" in bad.stderr and "--help" in bad.stderr


def test_models_and_hardware_json(capsys):
    assert run(["models", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in models] == list(llmviewer.shipped_models())
    assert all(m["parameters"] > 0 for m in models)
    assert run(["hardware", "--json"]) == 0
    devices = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in devices] == list(llmviewer.hardware_library())


def test_serve_takes_calibration_and_activation_bits(capsys):
    assert run(["serve", M, "A100", "--batchsize", "4", "--calibrated", "--a_bit", "8", "--w_bit", "8", "--json"]) == 0
    calibrated = json.loads(capsys.readouterr().out)
    assert run(["serve", M, "A100", "--batchsize", "4", "--a_bit", "8", "--w_bit", "8", "--json"]) == 0
    pure = json.loads(capsys.readouterr().out)
    assert calibrated["tpot"] > pure["tpot"]
    g = llmviewer.generate(M, "A100", 4, 1024, 256, w_bit=8, a_bit=8)
    assert pure["tpot"] == pytest.approx(float(g.tpot_mean))


def test_rank_takes_group_size_and_device_files(tmp_path, capsys):
    mine = {"name": "my-npu", "memory_bandwidth": 9e12, "peak_ops": {"fp16": 5e15}, "memory_bytes": 200e9}
    (tmp_path / "dev.json").write_text(json.dumps(mine))
    argv = ["rank", M, "--w_bit", "4", "--group-size", "128", "--hardware-file", str(tmp_path / "dev.json"), "--json"]
    assert run(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["device"] == "my-npu" and len(rows) == len(llmviewer.hardware_library()) + 1


def test_moe_takes_device_files_and_context_alias(tmp_path, capsys):
    mine = {"name": "my-npu", "memory_bandwidth": 1e12, "peak_ops": {"fp16": 1e15}}
    (tmp_path / "dev.json").write_text(json.dumps({"devices": [mine]}))
    argv = ["moe", "Mixtral-8x7B-v0.1", "my-npu", "--hardware-file", str(tmp_path / "dev.json"), "--context", "512"]
    assert run([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    from llmviewer.techniques.moe import moe_decode

    assert out["step_time"] == pytest.approx(float(moe_decode("Mixtral-8x7B-v0.1", mine, context=512).step_time))


def test_cached_tokens_are_seqlen_or_context_in_every_single_pass_command(capsys):
    base = ["speculative", M, "Llama-3.2-1B", HW, "--alpha", "0.8", "--gamma", "4", "--json"]
    assert run([*base, "--seqlen", "2048"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert run([*base, "--context", "2048"]) == 0
    assert json.loads(capsys.readouterr().out) == a and a["settings"]["context"] == 2048
    for command in ("analyze", "compress", "moe", "speculative"):
        flags = {f for a in _subparsers()[command]._actions for f in a.option_strings}
        assert {"--seqlen", "--context"} <= flags and "--prompt-len" not in flags, command


def test_compress_formats_are_the_engines():
    from llmviewer.cli.commands.compress import SPARSE_FORMATS as CLI_FORMATS

    assert CLI_FORMATS == SPARSE_FORMATS


def test_listing_models_does_not_load_numpy_or_pandas():
    code = "import sys; from llmviewer.cli import run; run(['models', '--no-params']); "
    code += "print(sorted({'numpy', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_help_names_each_default_once():
    """No '(default: None)' or '(default: False)' noise, and no flag with two defaults."""
    import contextlib
    import io
    import re

    from llmviewer.cli.app import build_parser

    parser = build_parser()
    commands = [a for a in parser._actions if a.choices and isinstance(a.choices, dict)][0].choices
    for name, sub in commands.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            sub.print_help()
        text = re.sub(r"\s+", " ", out.getvalue())
        assert "(default: None)" not in text and "(default: False)" not in text, name
        for chunk in re.split(r" (?=--?\w)", text):  # one flag's help at a time
            assert chunk.count("(default") <= 1, (name, chunk)
    # a value default the help does not mention is still shown
    assert "(default: 1024)" in re.sub(r"\s+", " ", commands["analyze"].format_help())


def test_listing_models_shows_total_and_active_parameters_without_pandas():
    code = "import sys; from llmviewer.cli import run; run(['models']); print(sorted({'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == "[]"
    assert out[0].split()[:4] == ["name", "family", "total", "active"]
    # Llama-2-7B: 6.74 G parameters, all active; Mixtral-8x7B: 46.7 G total, 12.9 G active (top-2 of 8)
    llama = next(r for r in out if r.startswith("Llama-2-7b-hf "))
    mixtral = next(r for r in out if r.startswith("Mixtral-8x7B-v0.1 "))
    assert llama.split()[2:6] == ["6.74", "G", "6.74", "G"]
    assert mixtral.split()[2:6] == ["46.7", "G", "12.9", "G"]


def test_decode_graphs_choose_how_calibrated_decode_steps_are_launched(capsys):
    """--decode-graphs: one fitted per-step cost replaces the per-kernel launch cost of decode
    steps (the class's efficiencies otherwise); the output says which was used; the same numbers
    as the Python API with the class's efficiencies and ``graphs`` set."""
    from dataclasses import replace

    from llmviewer.engine.efficiency import load_calibration

    base = ["generate", M, HW, "--prompt-len", "128", "--gen-len", "64", "--calibrated", "serving", "--json"]
    tpot = {}
    for flag in ("--decode-graphs", "--no-decode-graphs"):
        assert run([*base, flag]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["calibration"]["class"] == "serving"
        assert doc["calibration"]["decode_graphs"] is (flag == "--decode-graphs")
        tpot[flag] = doc["tpot_mean"]
        eff = replace(load_calibration("serving"), graphs=flag == "--decode-graphs")
        api = llmviewer.generate(M, HW, prompt_len=128, gen_len=64, calibration=eff)
        assert doc["tpot_mean"] == pytest.approx(float(api.tpot_mean), rel=1e-9)
    # a 32-layer model launches hundreds of kernels per step: one replayed graph costs less
    assert tpot["--decode-graphs"] < tpot["--no-decode-graphs"]
    assert run(base[:-1] + ["--decode-graphs"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("decode steps replayed as graphs")


def test_decode_graphs_need_a_calibration():
    out = cli("generate", M, HW, "--decode-graphs")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "llmviewer: error: --decode-graphs applies only with --calibrated [ENGINE_CLASS] (the pure roofline has no "
        "launch cost)"
    ]
