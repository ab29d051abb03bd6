"""Regenerate wheels_index/*.json from the research files in shared/reference (see SOURCES.md).

Usage (from the repository root):
    python wheels_index/build_index.py [REFERENCE_WHEELS_DIR] [--cuda-tables FILE] [--pypi FILE]
    python wheels_index/build_index.py --refresh-pypi   # re-record pypi.json from PyPI (network)

REFERENCE_WHEELS_DIR defaults to ../shared/reference/wheels (relative to the repository root); it
must hold mamba_ssm.json, causal_conv1d.json and digests.json. The CUDA/torch tables default to
REFERENCE_WHEELS_DIR/../cuda/tables.json; the PyPI facts to pypi.json beside this script (a trimmed
record of PyPI's JSON API, see SOURCES.md). Output: mamba_ssm.json, causal_conv1d.json and
torch.json beside this script, written deterministically (sorted, compact) so that a rebuild from
the same sources gives byte-identical files. Only the standard library is needed; the workflow
rules come from mamba_doctor/wheels/workflow.py (itself standard library only), so that the
generator and the live index overlay derive wheels the same way.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

SCHEMA = 1
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from mamba_doctor.wheels.workflow import MATRIX_KEYS, expand, ngc_images  # noqa: E402

PYPI_PROJECTS = {"torch": "torch", "mamba_ssm": "mamba-ssm", "causal_conv1d": "causal-conv1d"}
PYPI_JSON = "https://pypi.org/pypi/{}/json"  # https://docs.pypi.org/api/json/

# publish.yaml at these tags has a build_ngc_wheels job that cannot run (an undefined
# `runs-on: ${{ matrix.runs-on }}`, or _build.yml instead of _build_in_container.yml): read at
# each tag, rule in mamba_doctor/wheels/workflow.py ngc_job_works(). No NGC asset came of them.
BROKEN_NGC_JOB = {("mamba_ssm", "v2.2.6"), ("mamba_ssm", "v2.2.6.post1"),
                  ("causal_conv1d", "v1.5.3"), ("causal_conv1d", "v1.5.3.post1")}

# A tag whose commit date the research could not read (it is not in the stored git snapshot):
# its workflow ran some day between its neighbours' tags.
RUN_DATE_BOUNDS = {("causal_conv1d", "v1.6.2"): ("2026-03-10", "2026-05-09")}

# The asset-list generator behind the observed lists (sirati/nix-torch-bin-pascal) drops a
# cxx11abiFALSE wheel that has no cxx11abiTRUE twin, so a FALSE wheel whose TRUE twin is also
# absent is not shown absent by that list.
FALSE_WITHOUT_TWIN = ("not in the observed list, but that list's generator drops FALSE-ABI "
                      "wheels without a TRUE twin (absent too), so its absence proves nothing")

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


def _status(row: dict[str, Any], rel: dict[str, Any]) -> tuple[str, str | None]:
    raw = str(row["status"])
    head, _, tail = raw.partition(":")
    reported = _reported_absent(rel, row["filename"])
    if row.get("observed") is True:
        return "observed", None
    if head.startswith("likely_failed"):
        return "likely_failed", tail.strip() or None
    if reported:  # the release's tracker says so: an asset a user's setup.py got a 404 for
        return "missing", f"reported absent from {rel['tag']}: {reported}"
    if row.get("observed") is False:
        if row["cxx11abi"] == "FALSE" and _twin_absent(rel, row):
            return "unverified", FALSE_WITHOUT_TWIN
        return "missing", "expected from the build matrix but absent from the observed asset list"
    if head.startswith("expected"):
        return "expected", None
    return "unverified", (tail.strip() or raw)


def _reported_absent(rel: dict[str, Any], filename: str) -> str | None:
    """The source of a "missing" evidence entry naming this file under this tag."""
    for e in rel.get("evidence") or ():
        names = [a.split(" (under ")[0] for a in e.get("assets") or ()]
        if e.get("kind") == "missing" and filename in names:
            return str(e["source"])
    return None


def _twin_absent(rel: dict[str, Any], row: dict[str, Any]) -> bool:
    twin = row["filename"].replace("cxx11abiFALSE", "cxx11abiTRUE")
    return any(w["filename"] == twin and w.get("observed") is False for w in rel["wheels"])


def _source(raw: str) -> str:
    if raw.startswith("ngc"):
        return "ngc"
    if raw.startswith("observed-extra"):
        return "extra"
    return "matrix"


def _arch_numbers(arch: list[str] | None) -> list[int] | None:
    if not arch:
        return None
    return sorted(int(a[3:] if a.startswith("sm_") else a) for a in arch)  # 3.8: no removeprefix


def _torch_build(row: dict[str, Any]) -> str | None:
    torch = str(row.get("torch") or "")
    # Only pre-release builds are worth recording: they are the "nightly-built label" trap.
    return torch if "dev" in torch or "a0" in torch else None


def workflow_rule(package: str, rel: dict[str, Any]) -> dict[str, Any]:
    """The tag's publish.yaml matrix (and whether its NGC job works) as workflow.expand() takes
    it; checked against the research rows, which were derived from the same file."""
    label = "majmin" if rel["cuda_label_source"].startswith("MATRIX") else "major"
    rule = {axis: list(rel[axis]) for axis in ("os", "python", "torch", "cuda", "cxx11abi")}
    rule["exclude"] = [{MATRIX_KEYS[k]: v for k, v in e.items()} for e in rel["exclude"]]
    rule["label"] = label
    rule["ngc"] = bool(rel.get("ngc_job")) and (package, rel["tag"]) not in BROKEN_NGC_JOB
    if rel.get("include"):
        raise SystemExit(f"{rel['tag']}: matrix `include` is not modelled")
    derived = {c for c, _, _ in expand(rule)}
    rows = {(w["python"], w["platform"], w["torch_label"], w["cuda_label"], w["cxx11abi"] == "TRUE")
            for w in rel["wheels"] if w["source"] == "matrix"}
    if derived != rows:
        raise SystemExit(f"{package} {rel['tag']}: the workflow rule does not reproduce the "
                         f"matrix rows ({len(derived ^ rows)} differ)")
    return rule


def known_ngc_images(refs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """NGC image tag -> the container's CUDA label, Python and GPU architectures per platform and
    arch scheme, from every observed NGC asset of both packages."""
    images: dict[str, dict[str, Any]] = {}
    for src in refs.values():
        for rel in src["releases"]:
            for w in rel["wheels"]:
                if not (w["source"].startswith("ngc") and w.get("observed")):
                    continue
                img = images.setdefault(w["torch_label"], {"cuda": w["cuda_label"],
                                                           "python": w["python"], "arch": {}})
                if w.get("arch"):
                    img["arch"].setdefault((rel["arch_scheme"], w["platform"]), w["arch"])
    return images


def _ngc_rows(package: str, rel: dict[str, Any], rule: dict[str, Any],
              images: dict[str, dict[str, Any]], newest_image: str) -> list[dict[str, Any]]:
    """Expected NGC wheels of a release whose NGC job works but whose asset list was never seen:
    the images of its 7-month window (mamba_doctor/wheels/workflow.py ngc_images)."""
    if not rule["ngc"] or rel.get("observed_assets_source") or any(
            w["source"].startswith("ngc") for w in rel["wheels"]):
        return []
    bounds = RUN_DATE_BOUNDS.get((package, rel["tag"]))
    if bounds is None and not rel.get("tag_commit_date"):
        raise SystemExit(f"{package} {rel['tag']}: no run date for its NGC job")
    lo, hi = bounds or (rel["tag_commit_date"], rel["tag_commit_date"])
    platforms = sorted({w["platform"] for w in rel["wheels"]})
    uncertain = next((w for w in rel["wheels"] if str(w["status"]).startswith("uncertain")), None)
    rows = []
    for label, status in ngc_images(date.fromisoformat(lo), date.fromisoformat(hi), images,
                                    newest_image):
        img = images.get(label) or images[newest_image]  # a month newer than any image seen
        detail = (f"NGC image {label} was in the 7-month window of the run"
                  + ("" if status == "expected" else ", but whether it existed then is not known"))
        if uncertain is not None:  # the release's own assets are in doubt (causal-conv1d v1.6.1)
            status, detail = "unverified", str(uncertain["status"]).partition(":")[2].strip()
        for plat in platforms:
            rows.append({
                "python": img["python"], "platform": plat, "torch_label": label, "torch": None,
                "cuda_label": img["cuda"], "cxx11abi": "TRUE", "os": None, "source": "ngc",
                "arch": img["arch"].get((rel["arch_scheme"], plat)),
                "_status": (status, detail),
            })
    return rows


def _release(package: str, rel: dict[str, Any], digests: dict[str, Any],
             pypi: dict[str, Any], images: dict[str, dict[str, Any]],
             newest_image: str) -> dict[str, Any]:
    tag, version = rel["tag"], rel["version"]
    url_base = rel["url_template"].rsplit("/", 2)[0]  # .../releases/download
    rule = workflow_rule(package, rel)
    arch_sets: list[list[int]] = []
    details: list[str] = []
    rows: list[list[Any]] = []  # columns as in WHEEL_COLUMNS
    # Manual extras carry no arch/OS: they come from the same runners and toolkit as the
    # release's matrix wheels of that CUDA label and platform, so borrow those (marked inferred).
    sibling: dict[tuple[str, str], dict[str, Any]] = {}
    for w in rel["wheels"]:
        if w["source"] == "matrix" and w.get("arch"):
            sibling.setdefault((w["cuda_label"], w["platform"]), w)
    wheels = list(rel["wheels"]) + _ngc_rows(package, rel, rule, images, newest_image)
    for w in wheels:
        if "_status" in w:
            w = {**w, "filename": wheel_filename(package, version, w)}
            status, detail = w["_status"]
        else:
            if w["url"] != f"{url_base}/{tag}/{w['filename']}":
                raise SystemExit(f"unexpected URL layout: {w['url']}")
            status, detail = _status(w, rel)
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
    sdist = pypi.get(version)
    return {
        "tag": tag,
        "version": version,
        "pypi": [version] if sdist else [],
        "requires_python": sdist["requires_python"] if sdist else None,
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
        "workflow": rule,
        "wheels": encoded,
    }


def build_package(package: str, ref: Path, pypi: dict[str, Any],
                  refs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    src = refs[package]
    digests = json.loads((ref / "digests.json").read_text())[package]
    sdists = pypi[package]
    # The research recorded which versions have an sdist from PyPI's simple index; the JSON API
    # record must agree (a difference means one of the two is stale).
    researched = {r["version"] for r in src["releases"] if r.get("pypi_sdist")}
    recorded = {v for v, f in sdists.items() if f.get("sdist")}
    if researched - recorded:
        raise SystemExit(f"{package}: PyPI record lacks sdists {sorted(researched - recorded)}")
    images = known_ngc_images(refs)
    newest_image = max(images)
    releases = [_release(package, r, digests, sdists, images, newest_image)
                for r in src["releases"]]
    dates = [r["date"] for r in releases if r["date"]]
    dates += [f["uploaded"] for f in sdists.values() if f.get("uploaded")]
    return {
        "schema": SCHEMA,
        "package": package,
        "repository": src["repository"],
        "columns": WHEEL_COLUMNS,
        "build_os_glibc": BUILD_OS_GLIBC,
        "guess_rules": src["setup_py_guess_rules"],
        "releases": releases,
        # what PyPI serves for `pip install <package>==V` (sdists only: wheels are on GitHub)
        "pypi": {v: {k: f.get(k) for k in ("requires_python", "uploaded", "yanked")}
                 for v, f in sorted(sdists.items()) if f.get("sdist")},
        "as_of": {"releases": max(dates), "pypi": pypi["fetched"]},
    }


def build_torch(tables: dict[str, Any], pypi: dict[str, Any]) -> dict[str, Any]:
    """torch.json: every torch/CUDA/driver/GPU-architecture table the package reads (one source:
    mamba_doctor/knowledge/cuda_tables.py loads nothing else); torch's Python ranges come from
    PyPI's file lists (pypi.json)."""
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
        "pypi_default_variant": {k: v["cuda"]
                                 for k, v in tables["torch_pypi_default_cuda"].items()},
        "python": torch_python_ranges(pypi["torch"]),
        "python_source": f"{PYPI_JSON.format('torch')} (file lists, {pypi['fetched']})",
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


def torch_python_ranges(versions: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """Per torch minor, the oldest and newest CPython with a Linux wheel of some release of that
    minor on PyPI (`pip install 'torch==2.2.*'` takes the newest release that has one)."""
    by_minor: dict[str, set[str]] = {}
    for version, pythons in versions.items():
        minor = ".".join(version.split(".")[:2])
        if _vkey(minor) >= _vkey("1.12"):
            by_minor.setdefault(minor, set()).update(pythons)
    out = {}
    for minor, pythons in by_minor.items():
        ordered = sorted(pythons, key=_vkey)
        out[minor] = {"min": ordered[0], "max": ordered[-1]}
    return out


# --- recording PyPI's facts (network; only with --refresh-pypi) -------------------------------

_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<ver>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-"
                    r"(?P<plat>[^-]+)\.whl$")


def trim_pypi(docs: dict[str, dict[str, Any]], fetched: str) -> dict[str, Any]:
    """The facts the index needs from PyPI's JSON API documents (one per project)."""
    out: dict[str, Any] = {"fetched": fetched,
                           "sources": sorted(PYPI_JSON.format(p) for p in PYPI_PROJECTS.values())}
    torch: dict[str, list[str]] = {}
    for version, files in docs["torch"]["releases"].items():
        if not re.fullmatch(r"\d+\.\d+\.\d+", version):
            continue  # pre-releases are not what `torch==X.*` installs
        pythons = set()
        for f in files:
            m = _WHEEL.match(f["filename"])
            # CPython with the regular ABI (cp37m before 3.8; cp313t is the free-threaded
            # build), Linux wheels
            if m and "linux" in m.group("plat") and re.fullmatch(r"cp3\d+", m.group("py")) \
                    and m.group("abi") in (m.group("py"), m.group("py") + "m"):
                pythons.add(f"3.{m.group('py')[3:]}")
        if pythons:
            torch[version] = sorted(pythons, key=_vkey)
    out["torch"] = dict(sorted(torch.items(), key=lambda kv: _vkey(kv[0])))
    for package in ("mamba_ssm", "causal_conv1d"):
        versions = {}
        for version, files in docs[package]["releases"].items():
            sdist = next((f for f in files if f["packagetype"] == "sdist"), None)
            versions[version] = {
                "sdist": sdist["filename"] if sdist else None,
                "sha256": sdist["digests"]["sha256"] if sdist else None,
                "requires_python": sdist.get("requires_python") if sdist else None,
                "uploaded": sdist["upload_time_iso_8601"][:10] if sdist else None,
                "yanked": bool(sdist and sdist.get("yanked")),
                "wheels": sorted(f["filename"] for f in files if f["packagetype"] == "bdist_wheel"),
            }
        out[package] = dict(sorted(versions.items(), key=lambda kv: _vkey(kv[0])))
    return out


def refresh_pypi(path: Path) -> None:
    import urllib.request

    docs = {}
    for key, project in PYPI_PROJECTS.items():
        with urllib.request.urlopen(PYPI_JSON.format(project), timeout=120) as resp:
            docs[key] = json.load(resp)
    _write(path, trim_pypi(docs, date.today().isoformat()), pretty=True)


def _default_reference() -> Path:
    # ../shared relative to the repository root; a git worktree one level deeper also works.
    for candidate in (REPO.parent / "shared", REPO.parent.parent / "shared"):
        if (candidate / "reference/wheels/mamba_ssm.json").is_file():
            return (candidate / "reference/wheels").resolve()
    raise SystemExit("reference data not found: pass REFERENCE_WHEELS_DIR")


def _write(path: Path, doc: dict[str, Any], *, pretty: bool = False) -> None:
    text = json.dumps(doc, indent=1, sort_keys=True) if pretty else json.dumps(
        doc, separators=(",", ":"), sort_keys=True)
    path.write_text(text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", nargs="?", default=None)
    parser.add_argument("--cuda-tables", default=None)
    parser.add_argument("--pypi", default=str(HERE / "pypi.json"))
    parser.add_argument("--refresh-pypi", action="store_true",
                        help="re-record --pypi from PyPI's JSON API first (needs the network)")
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args(argv)
    if args.refresh_pypi:
        refresh_pypi(Path(args.pypi))
    ref = Path(args.reference).resolve() if args.reference else _default_reference()
    out = Path(args.out)
    tables_path = Path(args.cuda_tables) if args.cuda_tables else ref.parent / "cuda/tables.json"
    pypi = json.loads(Path(args.pypi).read_text())
    refs = {p: json.loads((ref / f"{p}.json").read_text()) for p in ("mamba_ssm", "causal_conv1d")}
    docs = {p: build_package(p, ref, pypi, refs) for p in refs}
    as_of = max(d["as_of"]["releases"] for d in docs.values())  # one date for the whole index
    for package, doc in docs.items():
        doc["as_of"]["releases"] = as_of
        _write(out / f"{package}.json", doc)
        n = sum(len(r["wheels"]) for r in doc["releases"])
        sys.stderr.write(f"{package}: {len(doc['releases'])} releases, {n} wheels\n")
    _write(out / "torch.json", build_torch(json.loads(tables_path.read_text()), pypi))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
