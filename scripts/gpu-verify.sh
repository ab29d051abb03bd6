#!/usr/bin/env bash
# The whole GPU verification of issue #7, unattended, on a machine with an NVIDIA GPU, a CUDA
# driver, torch with CUDA, nvcc and pip but NO network. Everything it needs beyond that image
# comes from a folder prepared beforehand by scripts/prepare-gpu-carry.sh (default .carry/):
# this project's wheel, the mamba_ssm and causal_conv1d sdists, and mambapy (tests only).
#
#   OUT=/tmp/gpu-out bash scripts/gpu-verify.sh          # run from the repository root
#
# Steps: install mamba-doctor; `check --json`; `install --from-source` (sdists built for the
# local GPU's architecture only); `check --json` again; `smoke --json` at float32, float16 and
# bfloat16, once with --stress (trained-like weights) and once with --trace; `pytest -m gpu`.
# Each step has its own time limit so that a hang still leaves the other results. Everything
# lands in $OUT: summary.txt, gpu-verify.log and results.tar.gz (every JSON document, the build
# log, the pytest output).
set -u
OUT=${OUT:?set OUT to the folder that receives the results}
CARRY=${CARRY:-.carry}
PY=${PYTHON:-python3}
INSTALL_TIMEOUT=${INSTALL_TIMEOUT:-420}
mkdir -p "$OUT"
WORK=$(mktemp -d)
export MAMBA_DOCTOR_CACHE_DIR="$WORK/cache"
export PYTHONUNBUFFERED=1 COLUMNS=120
# tests/test_install_source.py's GPU end-to-end build takes the sdists from here
export MAMBA_DOCTOR_TEST_SDISTS="$(cd "$CARRY" && pwd)"
exec > >(tee "$OUT/gpu-verify.log") 2>&1

step() { echo; echo "=== $(date -u +%H:%M:%S) $*"; }
status=()
record() { status+=("$1: $2"); echo "--- $1: $2"; }
timed() {  # timed NAME LIMIT CMD... ; stdout to $WORK/NAME.out, exit code recorded
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
  local rc=$?
  record "$name" "exit $rc in $((SECONDS - t0)) s"
  tail -n 25 "$WORK/$name.err"
  return $rc
}

step "machine"
{ nvidia-smi; nvcc --version; "$PY" -c 'import sys, torch; print(sys.version); print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0), torch.cuda.get_device_capability(0))'; nproc; free -g; } > "$WORK/machine.txt" 2>&1
cat "$WORK/machine.txt"

step "install mamba-doctor (no deps: the image has typer, rich, requests, packaging)"
"$PY" -m pip install -q --no-index --no-deps "$CARRY"/mamba_doctor-*.whl "$CARRY"/mambapy-*.whl
record "install-tool" "exit $?"
MD=("$PY" -m mamba_doctor)
"${MD[@]}" --version

step "check (before)"
timed check-before 120 "${MD[@]}" check --json

step "install --from-source for this GPU only"
timed install "$INSTALL_TIMEOUT" "${MD[@]}" install --from-source \
  --sdist "$(ls "$CARRY"/mamba_ssm-*.tar.gz | head -1)" \
  --sdist "$(ls "$CARRY"/causal_conv1d-*.tar.gz | head -1)" --json
cp -r "$MAMBA_DOCTOR_CACHE_DIR"/build* "$WORK/" 2>/dev/null
find "$MAMBA_DOCTOR_CACHE_DIR" -name '*.log' -exec cp {} "$WORK/" \; 2>/dev/null

step "check (after)"
timed check-after 120 "${MD[@]}" check --json

for dt in float32 float16 bfloat16; do
  step "smoke $dt"
  timed "smoke-$dt" 180 "${MD[@]}" smoke --device cuda --dtype "$dt" --json
done
step "smoke --stress"
timed smoke-stress 240 "${MD[@]}" smoke --device cuda --stress --json
step "smoke --trace"
timed smoke-trace 180 "${MD[@]}" smoke --device cuda --trace --json

step "pytest -m gpu"
timed pytest-gpu 300 "$PY" -m pytest -m gpu -p no:cacheprovider -q -rs tests
tail -n 30 "$WORK/pytest-gpu.out"

step "summary"
{
  echo "mamba-doctor GPU verification, $(date -u +%Y-%m-%dT%H:%MZ)"
  head -n 30 "$WORK/machine.txt"
  printf '%s\n' "${status[@]}"
  for f in "$WORK"/smoke-*.out; do
    "$PY" - "$f" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as exc:  # the child printed nothing parsable: say so, keep going
    print(sys.argv[1], "unparsable:", exc); sys.exit()
d = doc.get("data", {})
print(sys.argv[1].rsplit("/", 1)[-1], "passed=%s backend=%s device=%s max_abs_err=%s timings_ms=%s" % (
    d.get("passed"), d.get("backend"), d.get("device"), d.get("max_abs_err"), d.get("timings_ms")))
PY
  done
} > "$OUT/summary.txt"
cat "$OUT/summary.txt"
tar -czf "$OUT/results.tar.gz" -C "$WORK" .
