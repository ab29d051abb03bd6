#!/usr/bin/env bash
# Install what the tests need into a virtual environment, build the zipapp, and run the suite
# (CPU only is fine).
#   bash scripts/test.sh            # whole suite (gpu-marked tests skip without an NVIDIA GPU)
#   bash scripts/test.sh -k resolve # extra arguments go to pytest
# Environment: VENV (default .venv-test), PYTHON (default python3),
#              TORCH_SPEC (default torch==2.13.0; a CPU build is enough for the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-test}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip
# torch first and on its own, so that nothing else decides which torch build arrives.
"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q "$TORCH_SPEC"
"$PY" -m pip install -q -e ".[test]"
# The zipapp (dist/mamba-doctor.pyz) that the zipapp, bundle and journey tests run; its pinned
# dependency wheels are fetched once into build/zipapp-wheels.
"$PY" scripts/build-zipapp.py >/dev/null
exec "$PY" -m pytest "$@"
