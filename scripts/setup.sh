#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with llmviewer (editable) and the
# pinned book stack. With --test, also the test tools: torch (CPU) and transformers for
# checking counts against a real framework, and Debian's chromium for the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" -r requirements-book.txt -e .
if [ "${1:-}" = "--test" ]; then
  # torch==2.13.0 installs a CPU build from local disk; a plain `torch` would pull CUDA.
  "${PIP[@]}" -e ".[test,verify]"
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
  fi
fi
echo "setup done: .venv"
