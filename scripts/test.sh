#!/usr/bin/env bash
# Every test: lint, the engine's pytest suite (counts against torch included), nbval on every
# notebook, then a build of the book and the headless-browser test of the built pages.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" LLMVIEWER_REQUIRE_ALL=1 HF_HUB_OFFLINE=1
ruff check .
ruff format --check .
bash scripts/build_book.sh
python -m pytest -q tests chapters --nbval --nbval-current-env --nbval-sanitize-with tests/book/nbval_sanitize.cfg -p no:cacheprovider
