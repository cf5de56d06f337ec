#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with llmviewer (editable) and the
# pinned book stack. With --test, also the test tools: torch (CPU) and transformers for
# checking counts against a real framework, and Debian's chromium for the browser test.
# Prints one line per step; a step's own errors are shown, pip's notes about absent local
# package folders are not.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
start=$(date +%s)
step() { echo "setup [$(($(date +%s) - start)) s]: $*"; }
quiet_pip() {
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" \
    2> >(grep -v "^WARNING: Location 'file:.*' is ignored" >&2)
}
if [ -x .venv/bin/python ]; then
  step "reusing .venv ($(.venv/bin/python --version))"
else
  step "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
step "installing the book stack (requirements-book.txt) and llmviewer (editable); first run takes a few minutes"
quiet_pip -r requirements-book.txt -e .
if [ "${1:-}" = "--test" ]; then
  # torch==2.13.0 installs a CPU build from local disk; a plain `torch` would pull CUDA.
  step "installing the test tools: torch 2.13.0 (CPU), transformers, pytest, ruff, scipy"
  quiet_pip -e ".[test,verify]"
  if command -v chromium >/dev/null 2>&1; then
    step "chromium found: $(chromium --version 2>/dev/null | head -1)"
  else
    step "installing Debian's chromium for the browser test"
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
  fi
fi
step "done: .venv is ready"
