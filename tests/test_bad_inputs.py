"""Issue 15: a table of bad inputs to the command line and the Python API, each answered with one
clear line that names the field or flag and the value: the CLI exits with status 2 and prints
no traceback, Python raises :class:`llmviewer.LLMViewerError`.

The CLI cases run in-process (``llmviewer.cli.app.main``) so that the table stays fast; a few
run as a real subprocess at the end. Files named ``{tmp}/...`` are written by :func:`bad_files`.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import llmviewer
from llmviewer.cli.app import main
from llmviewer.errors import LLMViewerError

M, HW = "Llama-2-7b-hf", "H100"
MOE = "Mixtral-8x7B-v0.1"
DRAFT = "TinyLlama-1.1B-Chat-v1.0"
TOY = {"name": "toy", "memory_bandwidth": 1e12, "peak_ops": {"fp16": 1e14}}


def _device_files() -> dict[str, str]:
    """Name -> text of device (and config) files that must be refused."""
    good = dict(TOY)
    return {
        "truncated.json": '{"name": "x",',
        "nan.json": '{"name": "x", "memory_bandwidth": NaN, "peak_ops": {"fp16": 1e14}}',
        "inf.json": '{"name": "x", "memory_bandwidth": Infinity, "peak_ops": {"fp16": 1e14}}',
        "fp8only.json": json.dumps({**good, "peak_ops": {"fp8": 1e15}}),
        "int8only.json": json.dumps({**good, "peak_ops": {"int8": 1e15, "int4": 2e15}}),
        "negbw.json": json.dumps({**good, "memory_bandwidth": -1}),
        "zerobw.json": json.dumps({**good, "memory_bandwidth": 0}),
        "strbw.json": json.dumps({**good, "memory_bandwidth": "fast"}),
        "tinybw.json": json.dumps({**good, "memory_bandwidth": 1e-320}),
        "hugepeak.json": json.dumps({**good, "peak_ops": {"fp16": 1e300}}),
        "boolpeak.json": json.dumps({**good, "peak_ops": {"fp16": True}}),
        "fp12.json": json.dumps({**good, "peak_ops": {"fp12": 1e14}}),
        "emptypeaks.json": json.dumps({**good, "peak_ops": {}}),
        "listpeaks.json": json.dumps({**good, "peak_ops": [1e14]}),
        "noname.json": json.dumps({"memory_bandwidth": 1e12, "peak_ops": {"fp16": 1e14}}),
        "nobw.json": json.dumps({"name": "x", "peak_ops": {"fp16": 1e14}}),
        "nopeak.json": json.dumps({"name": "x", "memory_bandwidth": 1e12}),
        "emptyname.json": json.dumps({**good, "name": ""}),
        "numname.json": json.dumps({**good, "name": 7}),
        "longname.json": json.dumps({**good, "name": "x" * 5000}),
        "negmem.json": json.dumps({**good, "memory_bytes": -80e9}),
        "strmem.json": json.dumps({**good, "memory_bytes": "80GB"}),
        "neglink.json": json.dumps({**good, "interconnect_bandwidth": -1}),
        "badyear.json": json.dumps({**good, "year": "2024"}),
        "badaliases.json": json.dumps({**good, "aliases": "x"}),
        "emptylist.json": "[]",
        "number.json": "42",
        "stringdoc.json": '"H100"',
        "deep.json": "[" * 100000 + "]" * 100000,
        "bigint.json": '{"name": "x", "memory_bandwidth": ' + "9" * 5000 + ', "peak_ops": {"fp16": 1e14}}',
        "twodevices.json": json.dumps({"devices": [good, {**good, "name": "toy2"}]}),
        "devicesnotlist.json": json.dumps({"devices": good}),
    }


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    for name, text in _device_files().items():
        (root / name).write_text(text)
    (root / "utf16.json").write_text(json.dumps(TOY), encoding="utf-16")
    (root / "binary.json").write_bytes(bytes(range(256)) * 4)
    (root / "big.json").write_bytes(b" " * (16 * 2**20 + 10))
    (root / "folder.json").mkdir()
    (root / "cfgdir").mkdir()
    os.symlink(root / "loop1.json", root / "loop2.json")
    os.symlink(root / "loop2.json", root / "loop1.json")
    (root / "out").mkdir()
    return root


def _run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capsys.readouterr()
    return exited.value.code, out, err


# (argv, regex the one line must match). "{tmp}" is the folder of bad files.
CLI_CASES: list[tuple[list[str], str]] = []


def _cli(argv: str | list[str], regex: str) -> None:
    CLI_CASES.append((argv.split() if isinstance(argv, str) else argv, regex))


# every size flag: zero, negative, beyond 1e12, not an integer
for cmd, flag in [
    ("generate", "--batchsize"),
    ("generate", "--prompt-len"),
    ("generate", "--gen-len"),
    ("generate", "--tp"),
    ("analyze", "--seqlen"),
    ("analyze", "--batch-size"),
    ("serve", "--pp"),
    ("serve", "--micro-batches"),
    ("compress", "--dequant-tile"),
    ("rank", "--max-devices"),
]:
    target = f"{cmd} {M}" if cmd == "rank" else f"{cmd} {M} {HW}"
    pretty = {"--batchsize": "--batch-size", "--tp": "--tensor-parallel", "--pp": "--pipeline-parallel"}.get(flag, flag)
    for value in ("0", "-3", "10000000000000"):
        _cli(f"{target} {flag} {value}", rf"{pretty} must be a positive integer.*got {value}")
    for value in ("1e160", "1.5", "many"):
        _cli(f"{target} {flag} {value}", rf"argument \S*{flag}.*invalid int value: '{re.escape(value)}'")

# bit widths
BITS = [("--w_bit", "0"), ("--w_bit", "17"), ("--w_bit", "33"), ("--w-bit", "-4"), ("--a_bit", "3"),
        ("--a_bit", "6"), ("--a-bit", "64"), ("--kv_bit", "0"), ("--kv_bit", "64"), ("--kv-bit", "-8")]  # fmt: skip
for flag, value in BITS:
    name = flag.strip("-").replace("-", "_")
    _cli(f"analyze {M} {HW} {flag} {value}", rf"unsupported {name} {value}; valid")
_cli(f"analyze {M} {HW} --w_bit four", r"argument --w_bit.*invalid int value: 'four'")
for value in ("0", "65", "-16"):
    _cli(f"analyze {M} {HW} --w_bit 4 --group-bits {value}", rf"--group-bits must be .*got {value}")
for value in ("0", "-128"):
    _cli(f"analyze {M} {HW} --w_bit 4 --group-size {value}", rf"--group-size must be a positive integer.*got {value}")
_cli(f"analyze {M} {HW} --group-size 128", r"--group-size 128 needs quantized weights .*--w_bit 16")
_cli(f"generate {M} {HW} --group-size 64 --w_bit 32", r"--group-size 64 needs quantized weights .*--w_bit 32")

# a custom device: its numbers, and those numbers without it
for flag, what in [
    ("--bandwidth", "memory bandwidth"),
    ("--peak", "dense 16-bit peak"),
    ("--memory", "memory capacity"),
]:
    rest = {"--bandwidth": "--peak 1e14", "--peak": "--bandwidth 1e12", "--memory": "--bandwidth 1e12 --peak 1e14"}
    for value in ("nan", "inf", "-inf", "-1", "0", "1e-320", "1e30"):
        _cli(
            f"generate {M} custom {rest[flag]} {flag}={value}",
            rf"{flag} must be a {what}.*got {re.escape(str(float(value)))}",
        )
    _cli(f"generate {M} {HW} {flag} 1e12", rf"{flag} applies only to HARDWARE 'custom' \(got 'H100'\)")
_cli(f"analyze {M} custom --peak 1e14", r"a custom device needs --bandwidth")
_cli(f"analyze {M} custom --bandwidth 1e12", r"a custom device needs --peak")
_cli(f"analyze {M} custom", r"a custom device needs --bandwidth and --peak")
_cli(f"analyze {M} custom --bandwidth fast --peak 1e14", r"argument --bandwidth: invalid float value: 'fast'")

# compress
for value in ("nan", "inf", "0", "-0.5", "1.5"):
    _cli(
        f"compress {M} {HW} --sparsity csr --density {value}",
        rf"--density must be a fraction of weights kept.*got {value}",
    )
for value in ("-100", "0", "65"):
    _cli(f"compress {M} {HW} --sparsity csr --index-bits {value}", rf"--index-bits must be .*1\.\.64, got {value}")
for value in ("-1", "nan", "inf", "1e9"):
    _cli(f"compress {M} {HW} --dequant-ops={value}", rf"--dequant-ops must be vector OPs.*got {float(value)}")
_cli(f"compress {M} {HW} --sparsity 3:4", r"argument --sparsity: invalid choice: '3:4'")
_cli(
    f"compress {M} {HW} --sparsity 2:4 --density 0.3",
    r"2:4 format keeps exactly half the weights \(density 0\.5\), got 0\.3",
)

# moe, speculative, rank, serve
for value in ("2000", "-1", "nan", "inf", "101"):
    _cli(f"moe {MOE} {HW} --zipf {value}", rf"--zipf must be a Zipf exponent .*got {value}")
for value in ("1", "1.5", "-0.1", "nan", "inf"):
    _cli(f"speculative {M} {DRAFT} {HW} --gamma 4 --alpha {value}", r"alpha must be .*\[0, 1\)|--alpha must be")
for value in ("0", "-2"):
    _cli(
        f"speculative {M} {DRAFT} {HW} --alpha 0.8 --gamma {value}", rf"--gamma must be a positive integer.*got {value}"
    )
_cli(f"speculative {M} {DRAFT} {HW} --alpha 0.8", r"the following arguments are required: --gamma")
_cli(f"rank {M} --by tpot --gen-len 1", r"--by tpot needs --gen-len of at least 2")
_cli(f"rank {M} --by speed", r"argument --by: invalid choice: 'speed'")
_cli(f"serve {M} {HW} --tp 2 --pp 2 --devices 3", r"--devices 3 must equal --tp x --pp = 4")
_cli(f"serve {M} {HW} --seed -1", r"--seed must be a random seed.*got -1")
_cli(f"serve {M} {HW} --rate nan", r"--rate must be a finite number, got nan")
_cli(f"serve {M} {HW} --slo-ttft inf", r"--slo-ttft must be a finite number, got inf")
_cli(f"serve {M} {HW} --trace /dev/zero", r"trace file '/dev/zero' is a folder, a device or a broken link")
_cli(f"serve {M} {HW} --trace {{tmp}}/binary.json", r"binary\.json: not UTF-8 text \(binary or UTF-16\?\)")
_cli(f"serve {M} {HW} --trace {{tmp}}/absent.csv", r"trace file '.*absent\.csv' not found")

# names, arguments, output paths
_cli(f"analyze Llama-2-7b {HW}", r"unknown model 'Llama-2-7b'; did you mean")
_cli(f"analyze {M} H100-SMX", r"unknown hardware 'H100-SMX'; did you mean")
_cli(["analyze", M, "H" * 5000], r"hardware name of 5000 characters; a name has at most 200")
_cli(["analyze", "L" * 5000, HW], r"argument model: a model name or path of 5000 characters is too long")
_cli(f"analyze {M}", r"the following arguments are required: hardware")
_cli(f"analyze {M} {HW} --bogus", r"unrecognized arguments: --bogus")
_cli("frobnicate", r"argument COMMAND: invalid choice: 'frobnicate'")
_cli(f"analyze {M} {HW} --json --csv x.csv", r"argument --csv: not allowed with argument --json")
_cli(f"analyze {M} {HW} --csv {{tmp}}/out", r"--csv .*/out: is a folder; give a file name")
_cli(f"analyze {M} {HW} --csv {{tmp}}/missing/table.csv", r"--csv .*table\.csv: folder .*missing' does not exist")
_cli(f"rank {M} --csv {{tmp}}/out", r"--csv .*/out: is a folder")
_cli(f"analyze {M} {HW} --calibrated nosuch", r"no calibration for engine class 'nosuch'; fitted:")

# device files (as HARDWARE and as --hardware-file)
DEVICE_FILE_CASES = {
    "truncated.json": r"malformed JSON \(Expecting property name",
    "nan.json": r"NaN is not a JSON number",
    "inf.json": r"Infinity is not a JSON number",
    "fp8only.json": r"peak_ops lists only fp8; 16-bit matmuls need an fp16, bf16 or fp32 peak",
    "int8only.json": r"peak_ops lists only int8, int4; 16-bit matmuls need",
    "negbw.json": r"memory_bandwidth must be a number in \[1, 1e21\] of bytes/s.*got -1",
    "zerobw.json": r"memory_bandwidth must be a number in \[1, 1e21\] of bytes/s.*got 0",
    "strbw.json": r"memory_bandwidth must be a number in \[1, 1e21\] of bytes/s.*got 'fast'",
    "tinybw.json": r"memory_bandwidth must be a number in \[1, 1e21\] of bytes/s.*got 1e-320",
    "hugepeak.json": r"peak_ops\.fp16 must be a number in \[1, 1e21\] of dense OPs/s.*got 1e\+300",
    "boolpeak.json": r"peak_ops\.fp16 must be a number in \[1, 1e21\] of dense OPs/s.*got True",
    "fp12.json": r"unknown data types \['fp12'\] in peak_ops; valid: fp32",
    "emptypeaks.json": r"peak_ops must be an object mapping data types .*got \{\}",
    "listpeaks.json": r"peak_ops must be an object mapping data types",
    "noname.json": r"missing the required field 'name'",
    "nobw.json": r"device 'x' is missing the required field 'memory_bandwidth'",
    "nopeak.json": r"device 'x' is missing the required field 'peak_ops'",
    "emptyname.json": r"name must be a non-empty name of at most 200 characters, got ''",
    "numname.json": r"name must be a non-empty name of at most 200 characters, got 7",
    "longname.json": r"name must be a non-empty name of at most 200 characters.*5002 characters",
    "negmem.json": r"memory_bytes must be a number in \[1, 1e21\] of bytes.*got -80000000000",
    "strmem.json": r"memory_bytes must be a number in \[1, 1e21\] of bytes.*got '80GB'",
    "neglink.json": r"interconnect_bandwidth must be a number in \[1, 1e21\] of bytes/s per direction.*got -1",
    "badyear.json": r"year must be a year of launch \(integer\) or null, got '2024'",
    "badaliases.json": r"aliases must be a list of other names.*got 'x'",
    "emptylist.json": r"expected a device object, a list of them",
    "number.json": r"expected a device object, a list of them",
    "stringdoc.json": r"expected a device object, a list of them",
    "deep.json": r"JSON nested too deeply for a device file",
    "bigint.json": r"malformed JSON \(Exceeds the limit \(4300 digits\)",
    "twodevices.json": r"holds 2 devices; name one of them instead",
    "devicesnotlist.json": r"expected a device object, a list of them",
    "utf16.json": r"not UTF-8 text \(binary or UTF-16\?\)",
    "binary.json": r"not UTF-8 text \(binary or UTF-16\?\)",
    "big.json": r"too large for a device file \(at most 16777216\)",
    "folder.json": r"folder\.json: is a folder, not a device file",
    "loop1.json": r"loop1\.json: symlink loop, not a device file",
    "absent.json": r"absent\.json: no such file",
}
for name, regex in DEVICE_FILE_CASES.items():
    _cli(f"analyze {M} {{tmp}}/{name}", regex)
for name in ("fp8only.json", "negbw.json", "truncated.json", "loop1.json", "absent.json"):
    _cli(f"rank {M} --hardware-file {{tmp}}/{name}", DEVICE_FILE_CASES[name])
_cli(f"analyze {M} /dev/zero", r"/dev/zero: is not a regular file, not a device file")

# model config paths that are not configs
for name, regex in [
    ("utf16.json", r"not UTF-8 text"),
    ("binary.json", r"not UTF-8 text"),
    ("deep.json", r"JSON nested too deeply for a model config"),
    ("bigint.json", r"Exceeds the limit \(4300 digits\)"),
    ("loop1.json", r"symlink loop, not a model config"),
    ("big.json", r"too large for a model config"),
    ("truncated.json", r"malformed JSON"),
    ("cfgdir", r"cfgdir/config\.json: no such file"),
]:
    _cli(f"analyze {{tmp}}/{name} {HW}", rf"argument model: .*{regex}")
_cli(f"analyze /dev/zero {HW}", r"argument model: /dev/zero: is not a regular file, not a model config")


@pytest.mark.parametrize("argv,regex", CLI_CASES, ids=[" ".join(a)[:80] for a, _ in CLI_CASES])
def test_cli_bad_input_is_one_line_and_exit_2(argv, regex, tmp, capsys):
    argv = [a.replace("{tmp}", str(tmp)) for a in argv]
    code, out, err = _run_cli(argv, capsys)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(regex, err), err


# ------------------------------------------------------------------------------------- the API


def _label(value: object) -> str:
    """A short test id for ``value`` (an integer of thousands of digits cannot be repr'd)."""
    if isinstance(value, int) and value.bit_length() > 1000:
        return "int-of-5000-digits"
    return repr(value)[:40]


API_CASES: list[tuple[str, object, str]] = []
"""(label, a function that must raise, regex of its message)."""


def _api(label: str, call, regex: str) -> None:
    API_CASES.append((label, call, regex))


def _analyze(**kw):
    return lambda: llmviewer.analyze(kw.pop("model", M), kw.pop("hardware", HW), **kw)


def _generate(**kw):
    return lambda: llmviewer.generate(kw.pop("model", M), kw.pop("hardware", HW), **kw)


for name, fn in (("batch_size", _generate), ("prompt_len", _generate), ("gen_len", _generate), ("seqlen", _analyze)):
    for value, regex in [
        (0, rf"{name} must be an integer >= 1, got 0"),
        (-7, rf"{name} must be an integer >= 1, got -7"),
        (1.5, rf"{name} must be an integer >= 1, got 1\.5"),
        (True, rf"{name} must be an integer >= 1, got True"),
        ("4", rf"{name} must be an integer >= 1, got '4'"),
        (math.nan, rf"{name} must be an integer >= 1, got nan"),
        (1e160, rf"{name} must be an integer in 1\.\.1e\+12, got 1e\+160"),
        (10**13, rf"{name} must be an integer in 1\.\.1e\+12, got 1e\+13"),
        (10**5000, rf"{name} must be an integer in 1\.\.1e\+12, got an integer of over 300 digits"),
        ([], rf"{name} must not be empty"),
        (np.array([1.0, np.nan]), rf"{name} must hold whole numbers"),
        (np.array([1, 10**13]), rf"{name} must be at most 1e\+12"),
    ]:
        _api(f"{name}={_label(value)}", fn(**{name: value}), regex)
for name, value, regex in [
    ("w_bit", 0, r"unsupported w_bit 0; valid: 1-16 or 32"),
    ("w_bit", 64, r"unsupported w_bit 64"),
    ("w_bit", math.nan, r"unsupported w_bit nan"),
    ("w_bit", "4", r"unsupported w_bit '4'"),
    ("a_bit", 6, r"unsupported a_bit 6; valid: 4, 8, 16, 32"),
    ("a_bit", True, r"unsupported a_bit True"),
    ("kv_bit", 0, r"unsupported kv_bit 0"),
    ("w_group_size", 128, r"w_group_size 128 needs quantized weights \(w_bit below 16\), got w_bit 16"),
    ("tensor_parallel", [1, 2], r"tensor_parallel must be a single integer"),
    ("tensor_parallel", 0, r"tensor_parallel must be an integer >= 1, got 0"),
    ("use_flash", True, r"unknown option\(s\) use_flash; valid: w_bit"),
]:
    _api(f"{name}={value!r}", _generate(**{name: value}), regex)
_api(
    "sweep of 1e11 settings",
    _generate(batch_size=np.arange(1, 10**7)[:, None], prompt_len=np.arange(1, 10**4)),
    r"batch_size x prompt_len broadcast to 99,989,990,001 settings .* needs about [\d,]+ GiB of memory",
)
_api(
    "arrays that do not broadcast",
    _generate(batch_size=np.arange(1, 4), prompt_len=np.arange(1, 5)),
    r"array arguments do not broadcast together: shapes batch_size \(3,\), prompt_len \(4,\)",
)
_api("unknown model", _generate(model="Llama-2-7b"), r"unknown model 'Llama-2-7b'; did you mean")
_api("hardware as a list", _generate(hardware=[TOY]), r"hardware must be a name, a path or a dict, got list")
_api("hardware name 5000", _generate(hardware="H" * 5000), r"hardware name of 5000 characters")
for key, value, regex in [
    ("memory_bandwidth", math.inf, r"memory_bandwidth must be .*got inf"),
    ("memory_bandwidth", math.nan, r"memory_bandwidth must be .*got nan"),
    ("memory_bandwidth", 10**5000, r"memory_bandwidth must be .*\[1, 1e21\].*an integer of about 5001 digits"),
    ("memory_bandwidth", None, r"memory_bandwidth must be .*got None"),
    ("peak_ops", {"fp8": 1e15}, r"peak_ops lists only fp8; 16-bit matmuls need"),
    ("peak_ops", {"fp16": -1.0}, r"peak_ops\.fp16 must be a number in \[1, 1e21\] of dense OPs/s, got -1\.0"),
    ("peak_ops", {"fp16": math.inf}, r"peak_ops\.fp16 must be a number in \[1, 1e21\] of dense OPs/s, got inf"),
    ("memory_bytes", math.inf, r"memory_bytes must be a number in \[1, 1e21\] of bytes.*got inf"),
    ("name", "", r"name must be a non-empty name"),
]:
    _api(f"device {key}={_label(value)}", lambda k=key, v=value: llmviewer.load_hardware({**TOY, k: v}), regex)
_api(
    "32-bit activations on a device without an fp32 peak",
    _generate(hardware={**TOY, "peak_ops": {"bf16": 1e14}}, a_bit=32),
    r"toy has no peak for 32-bit operands \(it lists bf16\)",
)


def _compress(**kw):
    from llmviewer.techniques.compression import compare_compression

    return lambda: compare_compression(M, HW, **kw)


for kw, regex in [
    (dict(sparsity="csr", density=math.nan), r"density must be in \(0, 1\], got nan"),
    (dict(sparsity="csr", density=0.0), r"density must be in \(0, 1\], got 0\.0"),
    (dict(sparsity="csr", index_bits=-100), r"index_bits must be bits per column index in 1\.\.64, got -100"),
    (dict(sparsity="csr", index_bits=math.nan), r"index_bits must be bits per column index in 1\.\.64, got nan"),
    (dict(dequant_ops=-1.0), r"dequant_ops must be a finite number >= 0 .*got -1\.0"),
    (dict(dequant_ops=math.nan), r"dequant_ops must be a finite number >= 0 .*got nan"),
    (dict(dequant_tile=0), r"dequant_tile must be a positive integer or None, got 0"),
    (dict(sparsity="3:4"), r"unknown sparse format '3:4'"),
]:
    _api(f"compress {kw}", _compress(**kw), regex)


def _moe(z):
    from llmviewer.techniques.moe import moe_decode

    return lambda: moe_decode(MOE, HW, zipf_s=z)


for z in (2000.0, -1.0, math.nan, math.inf):
    _api(f"moe zipf_s={z}", _moe(z), rf"zipf exponent \(zipf_s\) must be a number in \[0, 100\].*got {z}")


def _gamma(**kw):
    from llmviewer.techniques.speculative import best_gamma

    return lambda: best_gamma(M, DRAFT, HW, **{"alpha": 0.8, **kw})


_api("best_gamma alpha=1", _gamma(alpha=1.0), r"alpha")
_api("best_gamma max_gamma=0", _gamma(max_gamma=0), r"max_gamma")


def _cbb(**kw):
    from llmviewer.studies.compare import compute_bound_batch

    return lambda: compute_bound_batch(M, HW, 1024, **kw)


_api("compute_bound_batch max_batch=0", _cbb(max_batch=0), r"max_batch must be an integer >= 1, got 0")
_api("compute_bound_batch max_batch=1e13", _cbb(max_batch=10**13), r"max_batch must be an integer in 1\.\.1e\+12")
_api("calibration unknown", _generate(calibration="nosuch"), r"no calibration for engine class 'nosuch'")


def _efficiency(**kw):
    from llmviewer.engine.efficiency import Efficiency

    return lambda: Efficiency(**kw)


for kw, regex in [
    (dict(compute=0.0), r"efficiency compute must be a fraction > 0"),
    (dict(bandwidth=math.nan), r"efficiency bandwidth must be a fraction > 0"),
    (dict(kernel_overhead=-1.0), r"efficiency kernel_overhead must be a finite number >= 0"),
    (dict(compute_half_tokens=math.inf), r"efficiency compute_half_tokens must be a finite number >= 0"),
]:
    _api(f"Efficiency {kw}", _efficiency(**kw), regex)


@pytest.mark.parametrize("label,call,regex", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input_raises_llmviewer_error(label, call, regex):
    with pytest.raises(LLMViewerError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and len(message) < 600, message
    assert re.search(regex, message), message


@pytest.mark.parametrize("name", sorted(DEVICE_FILE_CASES))
def test_api_device_files(name, tmp):
    with pytest.raises(LLMViewerError, match=DEVICE_FILE_CASES[name]):
        llmviewer.load_hardware(tmp / name)


def test_table_is_large():
    """Issue 15 asks for at least 150 bad inputs across the CLI and the API."""
    assert len(CLI_CASES) + len(API_CASES) + len(DEVICE_FILE_CASES) >= 150


def test_subprocess_errors_have_no_traceback(tmp):
    """A few cases through a real process: one line on stderr, status 2, nothing on stdout."""
    for argv in (["compress", M, HW, "--index-bits", "-100"], ["analyze", M, str(tmp / "fp8only.json")],
                 ["generate", M, HW, "--gen-len", "1e160"], ["analyze", "/dev/zero", HW]):  # fmt: skip
        res = subprocess.run(
            [sys.executable, "-m", "llmviewer.cli", *argv], capture_output=True, text=True, timeout=120
        )
        assert res.returncode == 2 and res.stdout == "" and res.stderr.count("\n") == 1, res.stderr
        assert "Traceback" not in res.stderr
