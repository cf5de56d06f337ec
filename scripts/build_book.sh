#!/usr/bin/env bash
# Build the book to _build/html; any Sphinx warning fails the build.
# Always rebuilds every page (--all): incremental Sphinx builds can keep stale
# figure numbers in pages that did not change. Extra arguments go to jupyter-book.
# Uses the jupyter-book on PATH, else .venv-book's, else .venv's.
set -euo pipefail
cd "$(dirname "$0")/.."
JB=$(command -v jupyter-book || true)
for venv in .venv-book .venv; do
  if [ -z "$JB" ] && [ -x "$venv/bin/jupyter-book" ]; then JB=$venv/bin/jupyter-book; fi
done
if [ -z "$JB" ]; then echo "jupyter-book not found: pip install -r requirements-book.txt" >&2; exit 1; fi
start=$(date +%s)
"$JB" build . --warningiserror --nitpick --keep-going --all "$@"
echo "book built in $(( $(date +%s) - start )) s: _build/html/index.html"
