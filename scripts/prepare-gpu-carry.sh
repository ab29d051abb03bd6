#!/usr/bin/env bash
# Collect, on a machine WITH network, everything scripts/gpu-verify.sh needs on a GPU machine
# WITHOUT network: this project's wheel, the mamba_ssm / causal_conv1d sdists from PyPI, and the
# few Python packages the GPU image may lack. Everything lands in one git-ignored folder.
#   bash scripts/prepare-gpu-carry.sh [DIR]      (default DIR: .carry)
# Environment: MAMBA_SSM_VERSION (default 2.3.1), CAUSAL_CONV1D_VERSION (default 1.7.0),
#              GPU_PYTHON_VERSION (default 3.12, the GPU machine's Python).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-.carry}
# 2.3.1, not the newest 2.3.2.post1: the latter requires tilelang==0.1.8 and quack-kernels, which a
# GPU image without network lacks and which are too big to carry; `install` would (rightly) stop
# at its dependency plan. 2.3.1 needs only triton, ninja, einops, transformers, packaging.
MAMBA_SSM_VERSION=${MAMBA_SSM_VERSION:-2.3.1}
CAUSAL_CONV1D_VERSION=${CAUSAL_CONV1D_VERSION:-1.7.0}
PYV=${GPU_PYTHON_VERSION:-3.12}
mkdir -p "$DIR"
grep -qxF "/$DIR/" .git/info/exclude 2>/dev/null || echo "/$DIR/" >> .git/info/exclude

# The project itself, as a wheel (the GPU image has typer, rich, requests and packaging).
python3 -m pip wheel -q --no-deps -w "$DIR" .
# The sdists: mamba-doctor builds them there for the local GPU architecture only. `pip download`
# cannot fetch them without torch (it runs their setup.py for metadata), so take them from PyPI's
# index directly, checked against the sha256 PyPI publishes (the same code `install` uses).
python3 - "$DIR" "mamba-ssm==$MAMBA_SSM_VERSION" "causal-conv1d==$CAUSAL_CONV1D_VERSION" <<'PY'
import sys
from pathlib import Path

sys.path.insert(0, ".")
from mamba_doctor.install.sdist import download_sdist, fetch_index_page, pick_sdist

dest = Path(sys.argv[1])
for spec in sys.argv[2:]:
    name, _, version = spec.partition("==")
    path = download_sdist(pick_sdist(name, fetch_index_page(name), version), dest)
    print("sdist:", path)
PY
# Test-only extra missing from the GPU image (pure Python).
python3 -m pip download -q --no-deps --only-binary :all: --python-version "$PYV" -d "$DIR" mambapy
ls -l "$DIR"
du -sh "$DIR"
