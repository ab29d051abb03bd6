"""The recorded steps of `install`: choose pip or uv, check the plan, back up, install, verify."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from mamba_doctor import _run
from mamba_doctor.advice import commands as cmd
from mamba_doctor.errors import InstallFailed
from mamba_doctor.install.dry_run import dry_run_failed
from mamba_doctor.install.import_check import VerifyResult, parse_verify_output, verify_argv
from mamba_doctor.install.plan import (
    Installer,
    PlannedInstall,
    constraints_text,
    dry_run_argv,
    parse_pip_report,
    parse_uv_dry_run,
    pip_supports_report,
    protected_changes,
    render_argv,
)
from mamba_doctor.probe.interpreter import Target

# Runs in the target (Python 3.8+): re-packs each named installed distribution into a wheel from
# the files its RECORD lists, so the way back does not depend on finding the old wheel again (a
# GitHub release asset, a hand-copied file, a local build). Bytecode caches are left out.
BACKUP_SNIPPET = r'''
import json, os, re, sys, zipfile
from importlib import metadata
dest, out = sys.argv[1], {}
if not os.path.isdir(dest):
    os.makedirs(dest)
def safe(text):
    # PEP 427 escaping of wheel file name parts; also what keeps a METADATA Name such as
    # "../../x" from choosing where the zip is written
    return re.sub(r"[^A-Za-z0-9.+]+", "_", str(text or "")).strip("._") or "unknown"
for name in sys.argv[2:]:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    try:
        files = dist.files
        if not files:
            raise RuntimeError("no RECORD: cannot tell its files")
        tags = [l.split(":", 1)[1].strip() for l in (dist.read_text("WHEEL") or "").splitlines()
                if l.startswith("Tag:")] or ["py3-none-any"]
        parts = [sorted(set(t.split("-")[i] for t in tags if t.count("-") == 2))
                 for i in range(3)]
        tag = "-".join(".".join(safe(x) for x in p) or "any" for p in parts)
        base = "%s-%s-%s.whl" % (safe(dist.metadata["Name"]).replace("-", "_"),
                                  safe(dist.version), tag)
        path = os.path.join(dest, base)
        if os.path.dirname(os.path.realpath(path)) != os.path.realpath(dest):
            raise RuntimeError("refusing to write outside %s" % dest)
        partial = path + ".partial"  # renamed when complete: an interrupted backup is no backup
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                rel = str(f)
                if rel.startswith("..") or os.path.isabs(rel) or "__pycache__" in rel:
                    continue
                full = str(f.locate())
                if os.path.isfile(full):
                    zf.write(full, rel)
        os.replace(partial, path)
        out[name] = {"wheel": path}
    except Exception as exc:
        out[name] = {"error": "%s: %s" % (type(exc).__name__, exc)}
print(json.dumps(out))
'''


@dataclass
class Step:
    """One recorded step: what ran, how long, how it ended."""

    name: str
    status: str  # ok | failed | skipped | planned | cached
    duration_s: float = 0.0
    command: Optional[str] = None
    detail: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "duration": round(self.duration_s, 3),
                "command": self.command, "detail": self.detail}


@dataclass
class StepLog:
    """The steps so far; `on_step` lets the CLI show each one as it finishes."""

    steps: list[Step] = field(default_factory=list)
    on_step: Callable[[Step], None] = lambda _s: None

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        self.on_step(step)
        return step

    def run(self, name: str, argv: Sequence[str], *, run: _run.Runner, timeout: float = 900,
            env: Optional[Mapping[str, str]] = None, shield: bool = False,
            note: Optional[str] = None) -> _run.Completed:
        """Run and record one step; `shield`: an interrupt lets the child finish (see _run);
        `note`: the detail of a step that went well."""
        done = run(argv, timeout=timeout, env=env, shield=True) if shield else \
            run(argv, timeout=timeout, env=env)
        status = "ok" if done.ok else "failed"
        detail = note if done.ok else done.describe_failure()
        if getattr(done, "interrupted", None):
            detail = (f"{detail}; " if detail else "") + \
                f"interrupted ({done.interrupted}): let finish, not killed"
        self.add(Step(name, status, done.duration_s, render_argv(argv), detail))
        return done

    def to_list(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.steps]


def choose_installer(target: Target, *,
                     which: Callable[[str], Optional[str]] = shutil.which) -> Installer:
    """The target's pip when it has one (>= 22.2), else `uv pip --python`. Raises InstallFailed.

    The pip version is the probe's (read from pip's files: no pip start-up).
    """
    version, python = target.pip_version, target.python
    if version and pip_supports_report(version):
        return Installer("pip", target)
    uv = which("uv")
    if uv:
        return Installer("uv", target, uv=uv)
    if version:
        raise InstallFailed(
            f"the target's pip {version} is too old to show an install plan before acting",
            hint="Upgrade it first (this does not touch torch): "
                 + cmd.pip_install(python, "pip", flags=("-U",)))
    raise InstallFailed("the target environment has no pip, and uv is not on PATH",
                        hint=f"Add pip with `{cmd.interpreter(python)} -m ensurepip`, or "
                             "install uv.")


def check_plan(
    installer: Installer, targets: Sequence[str], pins: Mapping[str, str], *,
    workdir: Path, index: Sequence[str], log: StepLog, local_names: Sequence[str],
    step: str = "check-dependencies", bundle: bool = False, note: Optional[str] = None,
) -> tuple[tuple[PlannedInstall, ...], str]:
    """Dry-run the install with dependencies under the pins; return (plan, constraints file).

    Raises InstallFailed, before anything is changed, when the plan cannot be resolved with the
    pinned torch or would change a pinned package.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    constraint = workdir / "constraints.txt"
    constraint.write_text(constraints_text(pins))
    report = workdir / "pip-report.json"
    argv = dry_run_argv(installer, targets, constraint=str(constraint), report=str(report),
                        index=index)
    done = log.run(step, argv, run=installer.target.run, note=note)
    if not done.ok:
        failure = dry_run_failed(installer, done, pins)
        if failure.data.get("dry_run_failure") in ("unavailable", "conflict"):
            # a missing distribution named as such ("einops is not in the bundle and there is
            # no index"), a conflict in pip's own words: neither is a torch problem
            from mamba_doctor.install.pip_failure import explain_plan_failure

            output = (done.stderr + "\n" + done.stdout).strip()
            message, hint = explain_plan_failure(output, pins, offline="--no-index" in index,
                                                 bundle=bundle)
            failure = InstallFailed(message, hint=hint, data={
                **failure.data, "resolver_output": output[-6000:]})
        raise failure
    if installer.kind == "uv":
        plan = parse_uv_dry_run(done.stderr + done.stdout, local_names=local_names)
    else:
        try:
            plan = parse_pip_report(report.read_text())
        except (OSError, ValueError) as exc:
            raise InstallFailed(f"pip gave no usable install plan: {exc}") from exc
    changes = protected_changes(plan, pins)
    if changes:
        raise InstallFailed(
            "installing would change a protected package (" + "; ".join(changes) + "); "
            "nothing was changed",
            hint="Pick wheels built for the installed torch, or drop that --keep.",
            data={"plan": [p.to_dict() for p in plan], "pins": dict(pins)},
        )
    return plan, str(constraint)


def backup(target: Target, names: Sequence[str], dest: Path, *, log: StepLog) -> dict[str, str]:
    """Re-pack the installed `names` as wheels under `dest`; returns name -> wheel path.

    Packages that cannot be re-packed are left out (their way back is `pip install name==ver`).
    """
    dest.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        done = target.run([target.python, "-c", BACKUP_SNIPPET, str(dest), *names], timeout=600)
    except KeyboardInterrupt:  # nothing was installed yet; a half-written zip is no backup
        for leftover in dest.glob("*.partial"):
            leftover.unlink()
        raise
    try:
        doc = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        doc = {}
    saved = {k: v["wheel"] for k, v in doc.items() if isinstance(v, dict) and "wheel" in v}
    errors = [f"{k}: {v['error']}" for k, v in doc.items() if isinstance(v, dict) and "error" in v]
    if saved or errors or not done.ok:
        log.add(Step("backup-previous", "ok" if done.ok and not errors else "failed",
                     time.monotonic() - start, None,
                     "; ".join([*(f"{k} -> {v}" for k, v in saved.items()), *errors,
                                done.describe_failure()]).strip("; ") or None))
    return saved


def verify(target: Target, modules: Sequence[str], *, log: StepLog, timeout: float = 300
           ) -> VerifyResult:
    """Import the kernels in a child of the target (a crash there is a finding, not ours)."""
    start = time.monotonic()
    done = target.run(verify_argv(target.python, modules), timeout=timeout)
    crashed = None
    if done.timed_out or done.signal_name or done.start_error:
        crashed = done.describe_failure()
    result = parse_verify_output(done.stdout, done.stderr, crashed=crashed)
    log.add(Step("verify", "ok" if result.ok else "failed", time.monotonic() - start,
                 f"{target.python} -c <verification snippet> {' '.join(modules)}",
                 _verify_detail(result)))
    return result


def _verify_detail(result: VerifyResult) -> Optional[str]:
    if not result.ok:
        return "; ".join(result.failures)[:500]
    if result.gpu.get("ran"):
        return f"imports and a selective_scan_fn call on {result.gpu.get('device', 'the GPU')} ok"
    # Say what was not proven: importing is not running (run `mamba-doctor smoke` on the GPU).
    return "imports ok; no CUDA device visible, so no kernel was run"
