#!/usr/bin/env bash
# Lint: ruff over the repository (settings in pyproject.toml, with per-file ignores for the code
# copied into the target interpreter) and mypy over the package. Run by .ci/run.
#   bash scripts/lint.sh          # VENV (default .venv-test) must hold the test extra
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-test}
"$VENV/bin/ruff" check .
"$VENV/bin/mypy"
python3 scripts/importgraph.py
