"""Regenerate wheels_index/*.json from the research files in shared/reference (see SOURCES.md).

Usage (from the repository root):
    python wheels_index/build_index.py [REFERENCE_WHEELS_DIR] [--cuda-tables FILE]

REFERENCE_WHEELS_DIR defaults to ../shared/reference/wheels (relative to the repository root); it
must hold mamba_ssm.json, causal_conv1d.json and digests.json. The CUDA/torch tables default to
REFERENCE_WHEELS_DIR/../cuda/tables.json. Output: mamba_ssm.json, causal_conv1d.json and
torch.json beside this script, written deterministically (sorted, compact) so that a rebuild from
the same sources gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SCHEMA = 1
HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# glibc of the GitHub runner images the release workflows ran on (Ubuntu release notes).
BUILD_OS_GLIBC = {"ubuntu-20.04": "2.31", "ubuntu-22.04": "2.35", "ubuntu-22.04-arm": "2.35"}

# Column order of one wheel row; the loader (mamba_doctor/index.py) reads the same list.
# Each wheel is one "|"-joined string (empty = null): parsing a few thousand strings is far
# cheaper than tens of thousands of JSON tokens, and the loader splits only the rows it needs.
WHEEL_COLUMNS = [
    "python", "platform", "torch", "cuda", "cxx11abi", "arch", "status", "detail", "source",
    "sha256", "build_os", "torch_build", "filename",
]

# Which causal_conv1d releases each mamba_ssm release can call (failures/REPORT.md, "API
# compatibility"): the causal_conv1d_fwd binding changed arity 4 -> 5 -> 7 -> 8.
# (first mamba version, first causal_conv1d version, first incompatible causal_conv1d version)
COMPANION_RANGES = [
    ("1.0.0", "1.0.0", "1.1.0"),
    ("1.1.0", "1.1.0", "1.2.0"),
    ("1.2.0", "1.2.0", "1.5.1"),
    ("2.2.5", "1.5.1", None),
]

# pyproject [build-system].requires at each tag (wheels/REPORT.md section 2.4): with torch listed,
# pip's isolated build uses the newest PyPI torch; without it the build cannot import torch.
def _build_isolation(package: str, version: str) -> str:
    v = _vkey(version)
    if package == "mamba_ssm":
        if _vkey("2.2.3") <= v < _vkey("2.3.2"):
            return "newest_torch"
        return "no_torch"
    return "newest_torch" if v >= _vkey("1.5.1") else "no_torch"


# causal_conv1d >= 1.5.1 ships cpp_functions.py with PEP 604 annotations evaluated at import:
# it cannot import on Python 3.9 (failures/REPORT.md, code-derived), although cp39 wheels exist.
def _runtime_python(package: str, version: str) -> str | None:
    if package == "causal_conv1d" and _vkey(version) >= _vkey("1.5.1"):
        return "3.10"
    return None


def wheel_filename(package: str, version: str, w: dict[str, Any]) -> str:
    """The asset name CI writes (wheels/REPORT.md section 1); mirrored in mamba_doctor/index.py."""
    py = "cp" + str(w["python"]).replace(".", "")
    return (f"{package}-{version}+cu{w['cuda_label']}torch{w['torch_label']}"
            f"cxx11abi{w['cxx11abi']}-{py}-{py}-{w['platform']}.whl")


def _vkey(version: str) -> tuple[int, ...]:
    # Only plain "X.Y.Z" and "X.Y.Z.postN" occur here, so no dependency on packaging is needed.
    base, _, post = version.partition(".post")
    parts = [int(p) for p in base.split(".")]
    return (*parts, *([0] * (3 - len(parts))), int(post) if post else -1)


def _status(row: dict[str, Any]) -> tuple[str, str | None]:
    raw = str(row["status"])
    head, _, tail = raw.partition(":")
    if row.get("observed") is True:
        return "observed", None
    if head.startswith("likely_failed"):
        return "likely_failed", tail.strip() or None
    if row.get("observed") is False:
        return "missing", "expected from the build matrix but absent from the observed asset list"
    if head.startswith("expected"):
        return "expected", None
    return "unverified", (tail.strip() or raw)


def _source(raw: str) -> str:
    if raw.startswith("ngc"):
        return "ngc"
    if raw.startswith("observed-extra"):
        return "extra"
    return "matrix"


def _arch_numbers(arch: list[str] | None) -> list[int] | None:
    if not arch:
        return None
    return sorted(int(a.removeprefix("sm_")) for a in arch)


def _torch_build(row: dict[str, Any]) -> str | None:
    torch = str(row.get("torch") or "")
    # Only pre-release builds are worth recording: they are the "nightly-built label" trap.
    return torch if "dev" in torch or "a0" in torch else None


def _release(package: str, rel: dict[str, Any], digests: dict[str, Any],
             pypi: set[str]) -> dict[str, Any]:
    tag, version = rel["tag"], rel["version"]
    url_base = rel["url_template"].rsplit("/", 2)[0]  # .../releases/download
    arch_sets: list[list[int]] = []
    details: list[str] = []
    rows: list[list[Any]] = []  # columns as in WHEEL_COLUMNS
    # Manual extras carry no arch/OS: they come from the same runners and toolkit as the
    # release's matrix wheels of that CUDA label and platform, so borrow those (marked inferred).
    sibling: dict[tuple[str, str], dict[str, Any]] = {}
    for w in rel["wheels"]:
        if w["source"] == "matrix" and w.get("arch"):
            sibling.setdefault((w["cuda_label"], w["platform"]), w)
    for w in rel["wheels"]:
        if w["url"] != f"{url_base}/{tag}/{w['filename']}":
            raise SystemExit(f"unexpected URL layout: {w['url']}")
        status, detail = _status(w)
        src = _source(w["source"])
        arch, build_os = w.get("arch"), w.get("os")
        if src == "extra":
            twin = sibling.get((w["cuda_label"], w["platform"]))
            if twin is not None:
                arch = arch or twin["arch"]
                build_os = build_os or twin["os"]
        numbers = _arch_numbers(arch)
        arch_idx = None
        if numbers is not None:
            if numbers not in arch_sets:
                arch_sets.append(numbers)
            arch_idx = arch_sets.index(numbers)
        detail_idx = None
        if detail:
            if detail not in details:
                details.append(detail)
            detail_idx = details.index(detail)
        digest = digests.get(w["filename"])
        sha = digest["sha256"] if digest and digest.get("tag") == tag else None
        # The filename is rebuilt by the loader from the columns (it halves the file and so the
        # load time); store it only if the rule does not reproduce it.
        name = None if w["filename"] == wheel_filename(package, version, w) else w["filename"]
        rows.append([
            w["python"], w["platform"], w["torch_label"], w["cuda_label"],
            "1" if w["cxx11abi"] == "TRUE" else "0", arch_idx, status, detail_idx, src, sha,
            build_os, _torch_build(w), name,
        ])
    rows.sort(key=lambda r: (r[1], r[3], r[2], r[4], _vkey(r[0])))
    encoded = ["|".join("" if v is None else str(v) for v in row) for row in rows]
    if any(e.count("|") != len(WHEEL_COLUMNS) - 1 for e in encoded):
        raise SystemExit(f"{tag}: a value contains the column separator")
    companion = None
    if package == "mamba_ssm":
        for first_mamba, low, high in COMPANION_RANGES:
            if _vkey(version) >= _vkey(first_mamba):
                companion = {"min": low, "below": high}
    setup = rel["setup_py"]
    return {
        "tag": tag,
        "version": version,
        "pypi": [version] if version in pypi else [],
        "date": rel.get("tag_commit_date"),
        "url_base": url_base,
        "guess": {
            "rule": setup["guess_rule"],
            "tag_exists_for_version": bool(setup.get("guess_points_at_this_release")),
        },
        "build_isolation": _build_isolation(package, version),
        "runtime_python_min": _runtime_python(package, version),
        "companion": companion,
        "arch_scheme": rel.get("arch_scheme"),
        "arch_sets": arch_sets,
        "details": details,
        "notes": list(rel.get("notes") or []),
        "wheels": encoded,
    }


def build_package(package: str, ref: Path) -> dict[str, Any]:
    src = json.loads((ref / f"{package}.json").read_text())
    digests = json.loads((ref / "digests.json").read_text())[package]
    pypi = {r["version"] for r in src["releases"] if r.get("pypi_sdist")}
    releases = [_release(package, r, digests, pypi) for r in src["releases"]]
    return {
        "schema": SCHEMA,
        "package": package,
        "repository": src["repository"],
        "columns": WHEEL_COLUMNS,
        "build_os_glibc": BUILD_OS_GLIBC,
        "guess_rules": src["setup_py_guess_rules"],
        "releases": releases,
    }


def build_torch(tables: dict[str, Any]) -> dict[str, Any]:
    """torch.json: every torch/CUDA/driver/GPU-architecture table the package reads (one source:
    mamba_doctor/knowledge/cuda_tables.py loads nothing else)."""
    details = {
        k: {kk: vv for kk, vv in v.items() if kk in ("arch", "examples")}
        for k, v in tables["arch_details"].items()
    }
    drivers = tables["cuda_min_driver_linux"]
    dropped = {sm: cuda for cuda, v in tables["arch_notes"]["dropped"].items()
               for sm in v["archs"]}
    return {
        "schema": SCHEMA,
        "cuda_variants": tables["torch_cuda_variants"],
        "pypi_default_variant": {k: v["cuda"] for k, v in tables["torch_pypi_default_cuda"].items()},
        "python": {k: {"min": v["min"], "max": v["max"]}
                   for k, v in tables["torch_python"].items()},
        "cxx11abi_default": tables["torch_cxx11abi_default"],
        "arch_details": details,
        # the first CUDA that can target each architecture, and the one that dropped it
        "arch_first_cuda": tables["arch_first_cuda"],
        "arch_dropped_cuda": dropped,
        "torch_arch_support": _torch_arch_support(tables["torch_arch_support"]),
        # Linux driver shipped with each CUDA toolkit, and the driver floor of CUDA minor-version
        # compatibility for each major
        "toolkit_driver": {k: v["toolkit_driver"] for k, v in drivers.items()},
        "minor_compat_min_driver": {k.split(".")[0]: v["minor_compat_min"]
                                    for k, v in sorted(drivers.items()) if k.endswith(".0")},
    }


def _torch_arch_support(raw: dict[str, Any]) -> dict[str, Any]:
    """"2.12-2.14/cu126": [...] -> one entry per torch minor: {"sm": [...], "ptx": [...]} for
    a measured arch list, {"min_sm": 70} for a measured floor (Linux x86_64 only)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        parts = key.split("/")
        if len(parts) != 2 or not parts[1].startswith("cu"):
            continue  # notes, and the aarch64 builds
        first, _, last = parts[0].replace(".x", "").partition("-")
        major, low = first.split(".")
        high = last.split(".")[1] if last else low
        if isinstance(value, list):
            entry: dict[str, Any] = {
                "sm": sorted(int(a.split()[0][3:]) for a in value if a.startswith("sm_")),
                "ptx": sorted(int(a.split()[0][8:]) for a in value if a.startswith("compute_"))}
        else:
            entry = {"min_sm": int(value["min"][3:])}
        for minor in range(int(low), int(high) + 1):
            out[f"{major}.{minor}/{parts[1]}"] = entry
    return out


def _default_reference() -> Path:
    # ../shared relative to the repository root; a git worktree one level deeper also works.
    for candidate in (REPO.parent / "shared", REPO.parent.parent / "shared"):
        if (candidate / "reference/wheels/mamba_ssm.json").is_file():
            return (candidate / "reference/wheels").resolve()
    raise SystemExit("reference data not found: pass REFERENCE_WHEELS_DIR")


def _write(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", nargs="?", default=None)
    parser.add_argument("--cuda-tables", default=None)
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args(argv)
    ref = Path(args.reference).resolve() if args.reference else _default_reference()
    out = Path(args.out)
    tables_path = Path(args.cuda_tables) if args.cuda_tables else ref.parent / "cuda/tables.json"
    for package in ("mamba_ssm", "causal_conv1d"):
        doc = build_package(package, ref)
        _write(out / f"{package}.json", doc)
        n = sum(len(r["wheels"]) for r in doc["releases"])
        sys.stderr.write(f"{package}: {len(doc['releases'])} releases, {n} wheels\n")
    _write(out / "torch.json", build_torch(json.loads(tables_path.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
