#!/usr/bin/env bash
# Build the book to _build/html; any Sphinx warning fails the build.
# Always rebuilds every page (--all): incremental Sphinx builds can keep stale
# figure numbers in pages that did not change. Extra arguments go to jupyter-book.
# Uses .venv's jupyter-book (made by scripts/setup.sh), else the one on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
JB=.venv/bin/jupyter-book
[ -x "$JB" ] || JB=$(command -v jupyter-book || true)
if [ -z "$JB" ]; then echo "jupyter-book not found: run scripts/setup.sh first" >&2; exit 1; fi
start=$(date +%s)
"$JB" build . --warningiserror --nitpick --keep-going --all "$@"
echo "book built in $(( $(date +%s) - start )) s: _build/html/index.html"
