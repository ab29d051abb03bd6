#!/usr/bin/env bash
# Run the suite (everything that does not need torch) on the oldest and the newest Python the
# tool supports, each in its own venv without torch:
#   Python 3.8 with the LOWEST dependency versions pyproject.toml allows (proves the lower bounds),
#   the newest Python found with the newest dependencies (proves nothing newer broke us).
#   bash scripts/test-pythons.sh              # 3.8 (lowest) and the newest found
#   bash scripts/test-pythons.sh 3.10 3.12    # these versions, newest dependencies
#   bash scripts/test-pythons.sh -- -k envs   # arguments after -- go to pytest
# Interpreters are looked up as python3.X on PATH, then $PYENV_ROOT/versions/3.X*/bin/python.
# A requested version that is not found is an error; the newest is whatever exists (>= 3.9).
# Venvs are kept in .venv-py3X (reused when present). About 1.5 minutes per Python on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}

versions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do versions+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
pytest_args=("$@")

find_python() {  # find_python 3.8 -> path of an interpreter of that minor version, or nothing
  local v=$1 cand
  for cand in "$(command -v "python$v" 2>/dev/null || true)" "$PYENV_ROOT"/versions/"$v".*/bin/python; do
    if [ -n "$cand" ] && [ -x "$cand" ] && \
       [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$v" ]; then
      echo "$cand"; return 0
    fi
  done
  return 1
}

newest_version() {
  local minor
  for minor in 20 19 18 17 16 15 14 13 12 11 10 9; do
    if find_python "3.$minor" >/dev/null; then echo "3.$minor"; return 0; fi
  done
  return 1
}

# "typer>=0.18" -> "typer==0.18": the lower bounds, read from pyproject.toml itself
lowest_pins() {
  "$1" - <<'EOF'
import re
text = open("pyproject.toml", encoding="utf-8").read()
deps = re.search(r"^dependencies = \[(.*?)\]", text, re.S | re.M).group(1)
for name, low in re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9][^",;]*)"', deps):
    print("%s==%s" % (name, low))
EOF
}

# The test extra without what needs torch (mambapy pulls it in) or only serves the lint step.
test_requirements() {
  "$1" - <<'EOF'
import re
text = open("pyproject.toml", encoding="utf-8").read()
extra = re.search(r"^test = \[(.*?)^\]", text, re.S | re.M).group(1)
skip = {"mambapy", "ruff", "mypy", "types-requests"}
seen = set()
for spec in re.findall(r'^\s*"([^"]+)"', extra, re.M):
    name = re.split(r"[<>=!~ \[;]", spec, maxsplit=1)[0].lower()
    if name not in skip and spec not in seen:
        seen.add(spec)
        print(spec)
EOF
}

lowest=()
if [ ${#versions[@]} -eq 0 ]; then
  versions=(3.8)
  lowest=(3.8)
  newest=$(newest_version) || { echo "test-pythons: no Python 3.9+ found" >&2; exit 2; }
  versions+=("$newest")
fi

status=0
for v in "${versions[@]}"; do
  py=$(find_python "$v") || { echo "test-pythons: Python $v not found (PATH, $PYENV_ROOT)" >&2; exit 2; }
  venv=".venv-py${v/./}"
  mode=newest
  for l in "${lowest[@]:-}"; do [ "$l" = "$v" ] && mode=lowest; done
  echo "== Python $v ($py), $mode dependency versions, venv $venv"
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
  fi
  pins=(--upgrade --upgrade-strategy eager)
  if [ "$mode" = lowest ]; then
    mapfile -t pins < <(lowest_pins "$venv/bin/python")
  fi
  # No torch here (none is published for 3.8 that fits CI), so `torch`-marked tests skip.
  # A current pip: `bundle` needs 23.3+ (3.8.18's ensurepip brings 23.0.1).
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  mapfile -t tests < <(test_requirements "$venv/bin/python")
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e . "${pins[@]}" \
    "${tests[@]}"
  "$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -iE '^(typer|click|rich|packaging|requests|urllib3) ' | tr -s ' ' | paste -sd ' ' -
  if ! "$venv/bin/python" -m pytest -q -p no:cacheprovider "${pytest_args[@]}"; then
    status=1
  fi
done
exit $status
