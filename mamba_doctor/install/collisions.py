"""Files a wheel would overwrite in the target: another distribution's (torch's first) or the
interpreter's own scripts (python, pip). Checked before pip runs, so "torch kept" is true file by
file, not only by version."""

from __future__ import annotations

import configparser
import json
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from mamba_doctor.errors import InstallFailed
from mamba_doctor.install.steps import Step, StepLog
from mamba_doctor.probe.interpreter import Target as Interpreter

# pip's install schemes for `<name>-<ver>.data/<scheme>/...` members (PEP 427).
_SCHEMES = ("purelib", "platlib", "scripts", "data", "headers")
# Scripts that belong to the interpreter or its installer, whoever else claims them.
_RESERVED_SCRIPT = re.compile(r"(python|pip|pydoc|idle|activate)[0-9.]*(-config)?(\.exe)?$|"
                              r"activate(\.\w+)?|Activate\.ps1", re.IGNORECASE)


@dataclass(frozen=True)
class Landing:
    """Where one wheel member lands: an install scheme and a path relative to it."""

    scheme: str  # purelib | platlib | scripts | data | headers
    path: str
    member: str  # the zip member (or "entry point NAME") it comes from


def wheel_targets(wheel: Path) -> tuple[Landing, ...]:
    """Every file `wheel` would install, as scheme-relative paths (pure: reads the zip only).

    Raises InstallFailed for a wheel whose WHEEL file cannot be read.
    """
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        dist_info = next((n.split("/", 1)[0] for n in names
                          if n.split("/", 1)[0].endswith(".dist-info")), None)
        if dist_info is None:
            raise InstallFailed(f"{wheel.name}: no .dist-info folder")
        wheel_text = _read(zf, f"{dist_info}/WHEEL")
        entry_points = _read(zf, f"{dist_info}/entry_points.txt")
    purelib = re.search(r"(?im)^Root-Is-Purelib:\s*true\s*$", wheel_text) is not None
    data_dir = dist_info[: -len(".dist-info")] + ".data"
    out: list[Landing] = []
    for name in names:
        top, _, rest = name.partition("/")
        if top == data_dir:
            scheme, _, path = rest.partition("/")
            if scheme in _SCHEMES and path:
                out.append(Landing(scheme, path, name))
        else:  # .dist-info too: another distribution's dist-info must not be written over
            out.append(Landing("purelib" if purelib else "platlib", name, name))
    for script in _scripts(entry_points):
        out.append(Landing("scripts", script, f"entry point {script}"))
    return tuple(out)


def _read(zf: zipfile.ZipFile, member: str) -> str:
    try:
        return zf.read(member).decode("utf-8", "replace")
    except KeyError:
        return ""


def _scripts(text: str) -> list[str]:
    if not text.strip():
        return []
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    return [name for section in ("console_scripts", "gui_scripts")
            if parser.has_section(section) for name in parser.options(section)]


# Runs in the target (stdlib only, Python 3.8+): for each (scheme, path), whether it exists and
# which installed distribution's RECORD lists it.
OWNERS_SNIPPET = r'''
import json, os, re, sys, sysconfig
from importlib import metadata
req = json.loads(sys.argv[1])
paths = sysconfig.get_paths()
schemes = {"purelib": paths["purelib"], "platlib": paths["platlib"],
           "scripts": paths["scripts"], "data": paths["data"],
           "headers": paths.get("include", "")}
def norm(p):
    return os.path.normcase(os.path.realpath(p))
wanted = {}
for scheme, rel in req["targets"]:
    full = os.path.join(schemes.get(scheme, ""), rel)
    if os.path.lexists(full):
        wanted[norm(full)] = [scheme, rel, full, None]
if wanted:
    for dist in metadata.distributions():
        name = re.sub(r"[-_.]+", "-", (dist.metadata["Name"] or "")).lower()
        for f in dist.files or ():
            key = norm(str(f.locate()))
            if key in wanted and wanted[key][3] is None:
                wanted[key][3] = name
print(json.dumps({"existing": list(wanted.values()), "scripts": schemes["scripts"]}))
'''


@dataclass(frozen=True)
class Collision:
    target: Landing
    full_path: str
    owner: str | None  # the distribution that owns the file, None: the interpreter / nobody

    def describe(self) -> str:
        who = f"owned by {self.owner}" if self.owner else "the interpreter's own"
        return f"{self.target.member} -> {self.full_path} ({who})"


def find_collisions(target: Interpreter, wheels: Sequence[Path],
                    replacing: Sequence[str]) -> tuple[Collision, ...]:
    """Members of `wheels` that would overwrite a file of a distribution other than those being
    replaced (`replacing`, canonical names), or one of the interpreter's scripts."""
    mine = {re.sub(r"[-_.]+", "-", n).lower() for n in replacing}
    targets: dict[tuple[str, str], Landing] = {}
    for wheel in wheels:
        for t in wheel_targets(wheel):
            targets.setdefault((t.scheme, t.path), t)
    reserved = [t for t in targets.values()
                if t.scheme == "scripts" and _RESERVED_SCRIPT.fullmatch(t.path.rsplit("/")[-1])]
    done = target.run([target.python, "-c", OWNERS_SNIPPET,
                       json.dumps({"targets": [list(k) for k in targets]})], timeout=300)
    try:
        doc = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise InstallFailed(f"cannot list the installed files in {target.python}: "
                            f"{done.describe_failure() or 'no output'}") from None
    out: list[Collision] = []
    for scheme, rel, full, owner in doc.get("existing", []):
        landing = targets.get((scheme, rel))
        if landing is None or (owner is not None and owner in mine):
            continue
        if owner is not None or scheme == "scripts":
            out.append(Collision(landing, str(full), owner))
    seen = {c.target for c in out}
    scripts = str(doc.get("scripts", ""))
    out += [Collision(t, f"{scripts}/{t.path}", None) for t in reserved if t not in seen]
    # torch's files first: the reason this check exists
    return tuple(sorted(out, key=lambda c: (c.owner != "torch", c.owner or "", c.full_path)))


def check_collisions(target: Interpreter, wheels: Sequence[Path], names: Sequence[str], *,
                     log: StepLog) -> None:
    """Refuse, before pip runs, wheels that would overwrite another distribution's files or the
    interpreter's scripts (pip would do it silently: a member `torch/version.py` replaces
    torch's own, a console script `python3` the venv's interpreter)."""
    if not wheels:
        return
    start = time.monotonic()
    found = find_collisions(target, wheels, names)
    detail = "; ".join(c.describe() for c in found[:5]) + (
        f"; and {len(found) - 5} more" if len(found) > 5 else "")
    log.add(Step("check-file-collisions", "failed" if found else "ok",
                 time.monotonic() - start, None, detail or None))
    if found:
        owners = sorted({c.owner or "the interpreter" for c in found})
        raise InstallFailed(
            f"the wheels would overwrite files of {', '.join(owners)}: {detail}; nothing was "
            "changed",
            hint="A mamba-ssm or causal-conv1d wheel never needs to: this one is broken or "
                 "malicious. Get the release asset again (`mamba-doctor fetch-wheel`).",
            data={"collisions": [{"member": c.target.member, "path": c.full_path,
                                  "owner": c.owner} for c in found]})
