"""`install --dry-run` writes nothing anywhere (the cache tree is byte-for-byte unchanged) and
prints exactly the commands the real run executes. Real pip, real temporary venvs holding a fake
torch (tests/installkit.py), the real wheel index and downloader; no network."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Sequence

import pytest
from clirunner import CliRunner

from mamba_doctor.cli import app
from tests.installkit import (
    PLAT_TAG,
    PY_TAG,
    causal_wheel,
    clone_venv,
    create_venv,
    freeze,
    mamba_wheel,
    offline_house,
    pip_home,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (3, 9) <= sys.version_info < (3, 13),
                       reason="mamba_ssm 2.2.4's torch 2.4 wheels are for cp39-cp312 only"),
]

VERSION = "2.2.4"
NAMES = (f"mamba_ssm-2.2.4+cu12torch2.4cxx11abiTRUE-{PY_TAG}-{PY_TAG}-{PLAT_TAG}.whl",
         f"causal_conv1d-1.5.0.post8+cu12torch2.4cxx11abiTRUE-{PY_TAG}-{PY_TAG}-{PLAT_TAG}.whl")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template")
    create_venv(root / "venv", root / "house", pip_dir=pip_home(root / "pip"))
    return root / "venv"


@pytest.fixture
def house(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The only package index pip sees (einops, and a torch an unpinned resolver would take)."""
    return offline_house(tmp_path / "house", monkeypatch)


@pytest.fixture
def python(template: Path, tmp_path: Path) -> Path:
    return clone_venv(template, tmp_path / "venv")


@pytest.fixture
def links(tmp_path: Path) -> Path:
    """The release pair as local files (these releases publish no sha256: RECORD decides)."""
    folder = tmp_path / "links"
    mamba_wheel(folder, VERSION)
    causal_wheel(folder, "1.5.0.post8")
    assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES)
    return folder


@pytest.fixture
def cache() -> Path:
    """The test's cache (conftest points MAMBA_DOCTOR_CACHE_DIR there), with something in it."""
    root = Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"])
    (root / "index").mkdir(parents=True, exist_ok=True)
    (root / "index" / "unrelated.txt").write_text("left by an earlier run\n")
    return root


def snapshot(root: Path) -> dict[str, tuple[str, int, Optional[str]]]:
    """Every path under `root`: its kind, mtime and (files) content hash."""
    out: dict[str, tuple[str, int, Optional[str]]] = {"": ("dir", root.stat().st_mtime_ns, None)}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        out[str(path.relative_to(root))] = ("file" if path.is_file() else "dir",
                                            st.st_mtime_ns, digest)
    return out


def temp_leftovers() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob("mamba-doctor-dry-run-*")}


def dry_run(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["install", *args, "--dry-run", "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc["errors"]
    return doc["data"]


def steps(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in data["steps"]}


def fill_cache(cache: Path, links: Path) -> None:
    """Put the pair in the cache the way a real run's download step does (the real downloader,
    here from a local folder)."""
    from mamba_doctor.download.fetch import FetchRequest, fetch_files

    fetch_files([FetchRequest(n.split("-")[0], n, "https://example.invalid/" + n) for n in NAMES],
                cache_dir=cache, find_links=(links,), announce=lambda _line: None)


@pytest.mark.parametrize("case", ["not-cached", "cached", "find-links", "wheel"])
def test_dry_run_leaves_the_cache_tree_unchanged(case: str, python: Path, house: Path,
                                                 links: Path, cache: Path) -> None:
    args = ["--python", str(python)]
    if case == "cached":
        fill_cache(cache, links)
    if case == "wheel":
        args += ["--wheel", str(links / NAMES[0]), "--no-causal-conv1d"]
    else:
        args += ["--version", VERSION]
    if case == "find-links":
        args += ["--find-links", str(links)]
    before, venv_before, temp_before = snapshot(cache), freeze(python), temp_leftovers()
    data = dry_run(*args)
    assert snapshot(cache) == before
    assert freeze(python) == venv_before
    assert temp_leftovers() == temp_before  # the plan check's temporary folder is gone too
    check = steps(data)["check-dependencies"]
    if case == "not-cached":  # no file to read yet: the plan is said, not guessed
        assert check["status"] == "planned" and check["command"] is None
        assert "after the download" in check["detail"]
    else:  # the files are here: the dependency plan is computed for real
        assert check["status"] == "ok", data
        assert "temporary folder since removed" in check["detail"]
        assert [p["name"] for p in data["plan"] if not p["requested"]] == ["einops"]
        assert steps(data)["install-dependencies"]["command"].endswith("einops==0.8.0")


def test_dry_run_says_how_each_file_is_verified(python: Path, house: Path, links: Path,
                                                cache: Path) -> None:
    data = dry_run("--python", str(python), "--version", VERSION)
    detail = steps(data)["download"]["detail"]
    # 2.2.4 publishes no sha256: the plan must not claim one
    assert "sha256-checked" not in detail and "sha256 from the wheel index" not in detail
    assert detail.count("no sha256 is published for it: checked against its own RECORD") == 2
    assert "downloaded from github.com (release v2.2.4)" in detail
    assert [w["verification"] for w in data["wheels"]] == [
        "no sha256 is published for it: checked against its own RECORD (each member's hash "
        "and size), METADATA and WHEEL tags"] * 2
    wheel = dry_run("--python", str(python), "--wheel", str(links / NAMES[0]),
                    "--no-causal-conv1d")
    assert wheel["wheels"][0]["verification"].startswith("no sha256 is published")


class Recorder:
    """The target's runner, recording every argv before running it for real."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.argvs: list[list[str]] = []

    def __call__(self, argv: Sequence[str], **kw: Any) -> Any:
        self.argvs.append([str(a) for a in argv])
        return self.run(argv, **kw)

    def installs(self) -> list[list[str]]:
        """The calls that change the target: `pip install` without --dry-run."""
        return [a for a in self.argvs if a[1:4] == ["-m", "pip", "install"]
                and "--dry-run" not in a]


def run_install(python: Path, *, dry_run: bool, find_links: Sequence[Path] = ()
                ) -> tuple[dict[str, Any], Recorder]:
    from mamba_doctor.commands.install import install_outcome
    from mamba_doctor.install.pipeline import InstallOptions
    from mamba_doctor.probe import load_target
    from tests.outcomes import envelope_of

    probed = load_target(str(python))
    recorder = Recorder(probed.run)
    target = replace(probed, run=recorder)
    options = InstallOptions(version=VERSION, find_links=tuple(find_links), dry_run=dry_run)
    code, doc = envelope_of("install", lambda: install_outcome(options, target, json_mode=True))
    assert code == 0, doc["errors"]
    return doc["data"], recorder


def printed(data: dict[str, Any]) -> list[list[str]]:
    return [shlex.split(s["command"]) for s in data["steps"]
            if s["name"] in ("install-dependencies", "install-wheels")
            and s["status"] == "planned" and s["command"]]


def test_printed_commands_are_the_argv_the_real_run_executes(python: Path, house: Path,
                                                             links: Path, cache: Path) -> None:
    plan, dry = run_install(python, dry_run=True, find_links=(links,))
    assert dry.installs() == []  # the dry run ran no install
    shown = printed(plan)
    assert len(shown) == 2 and shown[0][-1] == "einops==0.8.0"
    data, real = run_install(python, dry_run=False, find_links=(links,))
    assert data["installed"]["mamba-ssm"] == "2.2.4+cu12torch2.4cxx11abiTRUE"
    assert real.installs() == shown
    # the wheels come from where the real run put them: the cache
    assert shown[1][-2:] == [str(cache / "wheels" / n) for n in NAMES]


def test_without_the_files_the_printed_wheel_install_is_the_real_one(
        python: Path, house: Path, links: Path, cache: Path) -> None:
    plan, _dry = run_install(python, dry_run=True)
    shown = printed(plan)
    assert len(shown) == 1  # the dependencies are decided after the download
    assert shown[0][-2:] == [str(cache / "wheels" / n) for n in NAMES]
    fill_cache(cache, links)  # what the real run's download step leaves
    _data, real = run_install(python, dry_run=False)
    assert real.installs()[-1] == shown[0]
