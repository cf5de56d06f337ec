#!/usr/bin/env bash
# Build the book to _build/html; any Sphinx warning fails the build.
# Always rebuilds every page (--all): incremental Sphinx builds can keep stale
# figure numbers in pages that did not change. Extra arguments go to jupyter-book.
# Uses .venv-book if present, else whatever jupyter-book is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
JB=jupyter-book
if [ -x .venv-book/bin/jupyter-book ]; then JB=.venv-book/bin/jupyter-book; fi
start=$(date +%s)
"$JB" build . --warningiserror --nitpick --keep-going --all "$@"
echo "book built in $(( $(date +%s) - start )) s: _build/html/index.html"
