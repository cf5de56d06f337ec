#!/usr/bin/env bash
# Every test: lint; the package as a user installs it (wheel into a clean venv, run from outside
# the repository); a build of the book; the engine's pytest suite (counts against torch
# included), nbval on every notebook and the headless-browser test of the built pages; then the
# numerics again (nbval and the calibration refit) with numpy's AVX2/FMA3 and AVX-512 code paths
# switched off, as on another CPU: stored outputs must not depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" LLMVIEWER_REQUIRE_ALL=1 HF_HUB_OFFLINE=1
start=$(date +%s)
step() { echo "test [$(($(date +%s) - start)) s]: $*"; }
NBVAL=(--nbval --nbval-current-env --nbval-sanitize-with tests/book/nbval_sanitize.cfg -p no:cacheprovider)
step "lint"
ruff check .
ruff format --check .
step "wheel smoke test"
PYTHON=.venv/bin/python bash scripts/smoke_wheel.sh
step "book build"
bash scripts/build_book.sh
step "pytest (slow tests included; the calibration's below), nbval, browser"
python -m pytest -q -m "slow or not slow" tests chapters "${NBVAL[@]}" --ignore tests/test_calibration.py
# the calibration tests (the refit among them, behind -m slow) run once, on the restricted code paths:
# the stored fit must be reproduced there, on another CPU's arithmetic
step "nbval and the calibration tests with the refit, numpy's SIMD dispatch restricted to SSE4.2 (X86_V2)"
NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR" \
  python -m pytest -q -m "slow or not slow" chapters tests/test_calibration.py "${NBVAL[@]}"
step "all passed"
