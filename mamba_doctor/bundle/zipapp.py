"""Build mamba-doctor.pyz: the package, its wheel index and knowledge base, and pure-Python copies
of its dependencies in one file that runs on Python 3.8 and newer with nothing installed.

Built with the standard `zipapp` module (https://docs.python.org/3/library/zipapp.html); the
package reads its data through `mamba_doctor._resources`, which also works inside the archive.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import zipapp
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.errors import DoctorError

NAME = "mamba-doctor.pyz"
# The newest releases that still install on Python 3.8, all with a py3-none-any wheel: one
# archive then serves every Python from 3.8 on (charset-normalizer's compiled wheels would tie
# it to one). typer 0.21 / click 8.2 / rich 15 / urllib3 2.3 need 3.9+.
PINS = (
    "typer==0.20.1", "click==8.1.8", "rich==14.3.4", "markdown-it-py==3.0.0", "mdurl==0.1.2",
    "pygments==2.19.2", "shellingham==1.5.4", "typing-extensions==4.13.2", "packaging==26.2",
    "requests==2.32.4", "urllib3==2.2.3", "idna==3.15", "charset-normalizer==3.5.3",
    "certifi==2026.10.19.post1",
)
# The archive's first run unpacks it into the cache and compiles it (as shiv and PEX do), so
# that later runs import plain files with byte code: inside a zip every module is compiled
# again at each start, since zipimport never writes .pyc, and PYTHONDONTWRITEBYTECODE (common
# in containers) would stop Python from writing it next to the unpacked files. The unpacked
# copy is named by a hash of the archive's table of contents (which holds every member's
# CRC), read from its end without importing zipfile. When the cache is not writable the
# archive runs in place. Stdlib only, Python 3.8 syntax: this runs before anything is found.
MAIN = '''\
import hashlib, os, sys
if sys.version_info < (3, 8):
    sys.exit("mamba-doctor needs Python 3.8 or newer, this is " + sys.version.split()[0])
ARCHIVE = os.path.abspath(sys.argv[0] if os.path.isfile(sys.argv[0]) else sys.path[0])
def unpacked():
    base = os.environ.get("MAMBA_DOCTOR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "mamba-doctor")
    with open(ARCHIVE, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - (1 << 18)))
        key = hashlib.sha256(fh.read() + str(size).encode()).hexdigest()[:16]
    target = os.path.join(base, "zipapp", key)
    compiled = os.path.join(target, ".compiled-" + str(sys.implementation.cache_tag))
    if os.path.isfile(compiled):
        return target
    if os.environ.get("MAMBA_DOCTOR_ZIPAPP_IN_PLACE"):
        return None
    import compileall, re, shutil, zipfile
    if not os.path.isfile(os.path.join(target, ".complete")):
        tmp = "%s.%d.tmp" % (target, os.getpid())
        try:
            with zipfile.ZipFile(ARCHIVE) as zf:
                zf.extractall(tmp)
            open(os.path.join(tmp, ".complete"), "w").close()
            os.rename(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # not writable, or another run was first
        if not os.path.isfile(os.path.join(target, ".complete")):
            return None
    try:
        # pygments' 250 lexers (half the source) load only to colour a traceback: left out
        lexers = re.compile(r"pygments[/\\\\]lexers[/\\\\](?!(__init__|_mapping|python)\\.py)")
        compileall.compile_dir(target, quiet=2, rx=lexers)
        open(compiled, "w").close()
    except OSError:
        pass  # read-only: still plain files
    return target
os.environ["MAMBA_DOCTOR_ZIPAPP"] = ARCHIVE
where = unpacked()
if where is not None:
    sys.path[0] = where
from mamba_doctor.cli import main
main()
'''


class ZipappError(DoctorError):
    """The dependencies could not be fetched or the archive could not be written."""

    code = "zipapp_failed"


@dataclass(frozen=True)
class Zipapp:
    path: Path
    size: int
    sha256: str


def pip_download_argv(python: str, dest: Path, *, index_url: Optional[str] = None,
                      find_links: Sequence[str] = (), offline: bool = False) -> list[str]:
    """`pip download` of exactly PINS, pure-Python wheels for Python 3.8 (so: for every 3.8+)."""
    argv = [python, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
            "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--abi", "none", "--python-version", "3.8", "--dest", str(dest)]
    if index_url:
        argv += ["--index-url", index_url]
    if offline:
        argv += ["--no-index"]
    for link in find_links:
        argv += ["--find-links", link]
    return [*argv, *PINS]


def download_dependencies(dest: Path, *, python: str = sys.executable,
                          index_url: Optional[str] = None, find_links: Sequence[str] = (),
                          offline: bool = False, run: Runner = _run.run) -> list[Path]:
    """The PINS wheels in `dest` (pip skips those already there). Raises ZipappError."""
    dest.mkdir(parents=True, exist_ok=True)
    done = run(pip_download_argv(python, dest, index_url=index_url, find_links=find_links,
                                 offline=offline), timeout=600)
    if not done.ok:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise ZipappError(f"pip could not fetch the zipapp's dependencies: "
                          f"{done.describe_failure()}\n{tail}",
                          hint="Give a PyPI mirror with --index-url, or a folder holding these "
                          "wheels with --find-links: " + " ".join(PINS))
    return wheels_for_pins(dest)


def wheels_for_pins(folder: Path) -> list[Path]:
    """One wheel per pin from `folder`; raises ZipappError naming the ones that are missing."""
    found, missing = [], []
    for pin in PINS:
        name, version = pin.split("==")
        stem = name.lower().replace("-", "_")
        hits = [p for p in folder.glob("*.whl")
                if p.name.lower().startswith(f"{stem}-{version}-")]
        (found.append(hits[0]) if hits else missing.append(pin))
    if missing:
        raise ZipappError(f"{folder}: no wheel for {', '.join(missing)}",
                          hint="Fetch them first (scripts/build-zipapp.py without --offline).")
    return found


def build_zipapp(out: Path, wheels: Iterable[Path], *, package_dir: Optional[Path] = None,
                 index_dir: Optional[Path] = None) -> Zipapp:
    """Write the archive: the wheels' contents, mamba_doctor/ (no byte code) with the wheel
    index as mamba_doctor/_wheels_index/, and a __main__ that starts the CLI."""
    from mamba_doctor.config import index_dir as default_index_dir

    package_dir = package_dir or Path(__file__).resolve().parent.parent
    index_dir = index_dir or default_index_dir()
    with tempfile.TemporaryDirectory(prefix="mamba-doctor-zipapp-") as tmp:
        stage = Path(tmp) / "app"
        stage.mkdir()
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                zf.extractall(stage)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_wheels_index")
        shutil.copytree(package_dir, stage / "mamba_doctor", ignore=ignore)
        (stage / "mamba_doctor" / "_wheels_index").mkdir()
        for table in sorted(index_dir.glob("*.json")):
            shutil.copyfile(table, stage / "mamba_doctor" / "_wheels_index" / table.name)
        (stage / "__main__.py").write_text(MAIN, encoding="utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".part")
        zipapp.create_archive(stage, partial, interpreter="/usr/bin/env python3",
                              compressed=True)
        partial.replace(out)
    data = out.read_bytes()
    return Zipapp(path=out, size=len(data), sha256=hashlib.sha256(data).hexdigest())
