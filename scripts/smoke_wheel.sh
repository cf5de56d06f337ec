#!/usr/bin/env bash
# The package as a user installs it: build a wheel, install it into a clean virtual environment
# (no editable install, no repository on the path) and run the CLI and the API from outside the
# repository. Fails if the wheel lacks its data or reads anything from the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
unset PYTHONPATH  # the clean venv must see only the wheel, never a checkout on the path
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m pip wheel --quiet --no-deps --no-build-isolation -w "$work/dist" . \
  2> >(grep -v "^WARNING: Location 'file:.*' is ignored" >&2)
rm -rf build  # setuptools leaves its staging folder in the checkout
wheel=$(ls "$work"/dist/llmviewer-*.whl)
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" \
  2> >(grep -v "^WARNING: Location 'file:.*' is ignored" >&2)
echo "smoke: $(basename "$wheel") installed into a clean venv; running from $work"
cd "$work"
unset LLMVIEWER_DATA
models=$("$work/venv/bin/llmviewer" models)
echo "smoke: llmviewer models lists $(echo "$models" | wc -l) lines"
"$work/venv/bin/llmviewer" generate Llama-2-7b-hf A100 --calibrated
"$work/venv/bin/python" - <<'PY'
import pathlib, llmviewer
from llmviewer.paths import data_dir
root = data_dir()
assert "site-packages" in str(root), root
assert len(llmviewer.shipped_models()) >= 20, llmviewer.shipped_models()
for need in ("hardware.json", "calibration.json", "prices.csv", "measurements/measurements.csv"):
    assert (root / need).is_file(), need
r = llmviewer.generate("Llama-2-7b-hf", "A100", calibration="serving")
assert r.total_time > 0
from llmviewer.techniques.loadsim import Workload, simulate
trace = root / "traces" / "sample_bursty.csv"
assert simulate("Llama-2-7b-hf", "A100", Workload(trace=str(trace), requests=50)).summary.requests == 50
print(f"smoke: data read from {root}; {len(llmviewer.shipped_models())} models; OK")
PY
