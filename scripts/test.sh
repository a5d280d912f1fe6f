#!/usr/bin/env bash
# Set up, lint, type-check and run the test suite. Extra arguments go to pytest
# (e.g. `scripts/test.sh -m slow` for the long fault-injection runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy shared/"; .venv/bin/mypy shared
echo "== pytest"
.venv/bin/python -m pytest -q -ra "$@"
