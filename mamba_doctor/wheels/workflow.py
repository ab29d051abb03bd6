"""The release workflow's rules as data: which wheels a tag's build matrix and NGC job produce.

Used twice, so that both agree: by wheels_index/build_index.py (which checks the rule against the
research rows of every tag) and by the index overlay for a new tag whose asset list is not
published yet. Standard library only: the build script imports this module without the
package's dependencies.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Mapping, Optional, Sequence, Tuple

# The matrix keys of .github/workflows/publish.yaml (both repositories, every tag) -> ours.
MATRIX_KEYS = {"os": "os", "python-version": "python", "torch-version": "torch",
               "cuda-version": "cuda", "cxx11_abi": "cxx11abi"}
AXES = ("os", "python", "torch", "cuda", "cxx11abi")

# NGC images of the last 7 months (the run month and the 6 before) that exist on the day the
# workflow runs: .github/scripts/check_for_ngc_images.sh in both repositories.
NGC_MONTHS = 7

Combo = Tuple[str, str, str, str, bool]  # python, platform, torch label, cuda label, cxx11abi


def runner_platform(runner: str) -> str:
    """`ubuntu-22.04-arm` -> linux_aarch64; every other Linux runner builds linux_x86_64."""
    return "linux_aarch64" if runner.endswith("-arm") else "linux_x86_64"


def torch_label(version: str) -> str:
    """"2.4.0.dev20240407" -> "2.4": the filename carries torch's major.minor only."""
    return ".".join(version.split(".")[:2])


def cuda_label(version: str, scheme: str) -> str:
    """"12.9.1" -> "12" (scheme "major", WHEEL_CUDA_VERSION) or "129" ("majmin", old releases)."""
    major, minor = version.split(".")[:2]
    return major if scheme == "major" else major + minor


def expand(rule: Mapping[str, Any]) -> list[tuple[Combo, str, str]]:
    """Every (combo, runner, torch version) the matrix builds, GitHub's exclude rule applied.

    An exclude entry drops each combination that matches all of its keys
    (https://docs.github.com/en/actions/how-tos/write-workflows/choose-what-workflows-do/run-job-variations).
    """
    excludes = [dict(e) for e in rule.get("exclude") or ()]
    out = []
    for runner in rule["os"]:
        for py in rule["python"]:
            for torch in rule["torch"]:
                for cuda in rule["cuda"]:
                    for abi in rule["cxx11abi"]:
                        point = {"os": runner, "python": py, "torch": torch, "cuda": cuda,
                                 "cxx11abi": abi}
                        if any(all(point.get(k) == v for k, v in e.items()) for e in excludes):
                            continue
                        combo = (py, runner_platform(runner), torch_label(torch),
                                 cuda_label(cuda, rule.get("label", "major")), abi == "TRUE")
                        out.append((combo, runner, torch))
    return out


def parse_publish_matrix(text: str) -> Optional[dict[str, Any]]:
    """The `build_wheels` job's matrix from a publish.yaml, or None when it is not there or uses
    something this reader does not model (`include`, expressions)."""
    job = _block(text.splitlines(), "build_wheels")
    if job is None:
        return None
    matrix = _block(job, "matrix")
    return _matrix([line for line in matrix if line.strip()]) if matrix is not None else None


def _block(lines: Sequence[str], key: str) -> Optional[list[str]]:
    """The lines nested under the first `key:` line (comments stripped), or None."""
    lines = [_strip_comment(line) for line in lines]
    start = next((i for i, line in enumerate(lines)
                  if re.fullmatch(rf"\s*{re.escape(key)}:\s*", line)), None)
    if start is None:
        return None
    body = []
    for line in lines[start + 1:]:
        if line.strip() and _indent(line) <= _indent(lines[start]):
            break
        body.append(line)
    return body


def _matrix(block: Sequence[str]) -> Optional[dict[str, Any]]:
    rule: dict[str, Any] = {"exclude": []}
    if not block:
        return None
    key_indent = _indent(block[0])
    i = 0
    while i < len(block):
        line = block[i]
        m = re.fullmatch(r"\s*([\w-]+):\s*(.*)", line)
        if _indent(line) != key_indent or m is None:
            return None
        key, value = m.group(1), m.group(2).strip()
        body = []
        i += 1
        while i < len(block) and _indent(block[i]) > key_indent:
            body.append(block[i])
            i += 1
        if key == "exclude":
            entries = _mapping_list(body)
            if entries is None:
                return None
            rule["exclude"] = entries
        elif key in MATRIX_KEYS:
            values = _flow_list(value) if value else _block_list(body)
            if not values:
                return None
            rule[MATRIX_KEYS[key]] = values
        else:  # include, or an axis the wheel names do not depend on
            return None
    return rule if all(axis in rule for axis in AXES) else None


def _mapping_list(body: Sequence[str]) -> Optional[list[dict[str, str]]]:
    entries: list[dict[str, str]] = []
    for line in body:
        m = re.fullmatch(r"\s*(-\s+)?([\w-]+):\s*(\S.*)", line)
        if m is None or m.group(2) not in MATRIX_KEYS or (not entries and not m.group(1)):
            return None
        if m.group(1):
            entries.append({})
        entries[-1][MATRIX_KEYS[m.group(2)]] = _scalar(m.group(3))
    return entries


def _flow_list(value: str) -> Optional[list[str]]:
    if not (value.startswith("[") and value.endswith("]")):
        return None
    items = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
    return None if any("${{" in v for v in items) else items


def _block_list(body: Sequence[str]) -> Optional[list[str]]:
    items = []
    for line in body:
        m = re.fullmatch(r"\s*-\s+(\S.*)", line)
        if m is None:
            return None
        items.append(_scalar(m.group(1)))
    return items


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _strip_comment(line: str) -> str:
    # Matrix values are plain tokens (no "#" inside quotes in either repository's workflows).
    return re.sub(r"(^|\s)#.*$", "", line).rstrip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


# --- NGC container wheels -------------------------------------------------------------------

def month_label(d: date, back: int = 0) -> str:
    """The NGC tag ("YY.MM") of the month `back` months before `d`'s."""
    index = d.year * 12 + d.month - 1 - back
    return f"{index // 12 % 100:02d}.{index % 12 + 1:02d}"


def ngc_images(run_from: date, run_to: date, known: Mapping[str, Any],
               newest_known: Optional[str] = None) -> list[tuple[str, str]]:
    """(NGC tag, status) for a release whose NGC job ran some day in [run_from, run_to].

    `known` holds the images seen in some observed asset list. An image is "expected" when it
    was in the 7-month window and already a month old on every possible run day. The run
    month's own image, or a window month newer than every known image, may or may not have
    existed then: "unverified". A month older than the newest known image with no image seen
    (25.07) had none.
    """
    newest = newest_known or max(known, default="00.00")
    always: Optional[set] = None
    anywhere: set = set()
    day = run_from
    while day <= run_to:
        window = {month_label(day, back) for back in range(NGC_MONTHS)}
        settled = window - {month_label(day)}
        always = settled if always is None else always & settled
        anywhere |= window
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    out = []
    for label in sorted(anywhere):
        if label in known and label in (always or set()):
            out.append((label, "expected"))
        elif label in known or label > newest:
            out.append((label, "unverified"))
    return out


def ngc_job_works(text: str) -> Optional[bool]:
    """Whether a publish.yaml's `build_ngc_wheels` job can run: it must call
    _build_in_container.yml on `runs-on: ${{ matrix.os }}` with the images the
    check_for_ngc_images job lists. Earlier tags pass an undefined `matrix.runs-on` or call
    _build.yml, and no NGC wheel came of them. None: the workflow has no NGC job."""
    job = _block(text.splitlines(), "build_ngc_wheels")
    if job is None:
        return None
    body = [line.strip() for line in job]
    return ("uses: ./.github/workflows/_build_in_container.yml" in body
            and "runs-on: ${{ matrix.os }}" in body
            and any(b.startswith("container-image: ${{ fromJson(needs.check_for_ngc_images")
                    for b in body))
