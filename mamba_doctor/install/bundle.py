"""`install --bundle DIR`: check a bundle made by `mamba-doctor bundle`, then hand its pair to
the install pipeline, which installs from the folder alone (`--no-index --find-links DIR`)."""

from __future__ import annotations

import time
from pathlib import Path

from mamba_doctor.errors import InstallFailed
from mamba_doctor.install.manifest import read_manifest, verify_files
from mamba_doctor.install.sources import WheelSource, user_wheels
from mamba_doctor.install.steps import Step, StepLog
from mamba_doctor.models import Environment


def bundle_wheels(folder: Path, env: Environment, *, force: bool, log: StepLog
                  ) -> list[WheelSource]:
    """Every file checked against manifest.json, the bundle's target against this one; the
    pair's wheels. Raises UsageError (no manifest), InstallFailed, NoCompatibleWheel."""
    start = time.monotonic()
    manifest = read_manifest(folder)
    problems = verify_files(folder, manifest.entries)
    made_for = manifest.target
    mismatch = []
    here = env.python.version or ""
    if made_for.get("python") and here and made_for["python"].split(".")[:2] != \
            here.split(".")[:2]:
        mismatch.append(f"Python {made_for['python']} (this is {here})")
    if made_for.get("torch") and env.torch.version and made_for["torch"] != env.torch.version:
        mismatch.append(f"torch {made_for['torch']} (this has {env.torch.version})")
    detail = "; ".join(problems + [f"made for {m}" for m in mismatch]) or \
        f"{len(manifest.entries)} files match manifest.json"
    log.add(Step("verify-bundle", "failed" if problems or mismatch else "ok",
                 time.monotonic() - start, None, detail))
    if problems:
        raise InstallFailed(f"the bundle in {folder} is incomplete or changed: "
                            + "; ".join(problems[:5]) + "; nothing was installed",
                            hint="Copy the folder again (or run the same `mamba-doctor bundle` "
                            "on the connected machine: it finishes a bundle in place).",
                            data={"bundle_problems": problems})
    if mismatch and not force:
        raise InstallFailed("the bundle was made for another environment: "
                            + "; ".join(mismatch) + "; nothing was installed",
                            hint="Make it for this one: save `mamba-doctor check --json` here "
                            "and run `mamba-doctor bundle --env` with it on the connected "
                            "machine (or --force).")
    pair = manifest.by_role("mamba_ssm", "causal_conv1d")
    if not pair:
        raise InstallFailed(f"the bundle in {folder} holds no mamba_ssm wheel")
    return user_wheels([folder / e.file for e in pair], env, force=force, log=log)
