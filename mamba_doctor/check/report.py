"""What `check` reports: the environment, the verdicts, the overall verdict and the next command."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from mamba_doctor.advice import Advice, next_step_advice, resolution_dict
from mamba_doctor.check.packages import IMPORT_ORDER
from mamba_doctor.check.verdicts import Advisor, blocking_failures, evaluate, with_advice
from mamba_doctor.models import CheckResult, CheckStatus, Environment
from mamba_doctor.probe.interpreter import Target

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckReport:
    environment: Environment
    checks: tuple[CheckResult, ...]
    import_errors: Mapping[str, str] = field(default_factory=dict)
    # import name -> Diagnosis.to_dict() list (mamba_doctor.diagnose.engine)
    diagnoses: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    # {"resolutions": [...]} from the wheel resolver; None when resolving failed
    resolution: Optional[Mapping[str, Any]] = None
    # how old the wheel index is, and why it may be stale (wheels/freshness.py)
    index: Optional[Mapping[str, Any]] = None
    advice: tuple[Advice, ...] = ()  # every recommendation the rows make, each once
    next_advice: Optional[Advice] = None  # what to run when nothing blocks

    @property
    def blocking(self) -> tuple[CheckResult, ...]:
        return blocking_failures(self.checks)

    @property
    def verdict(self) -> str:
        """"fail" when a blocking check fails, "warn" when anything else needs a look, else "ok"."""
        if self.blocking:
            return "fail"
        if any(c.status in (CheckStatus.WARN, CheckStatus.FAIL) for c in self.checks):
            return "warn"
        return "ok"

    @property
    def next_steps(self) -> tuple[str, ...]:
        """What to do next, most important first: the blocking failures' hints, else the next
        mamba-doctor command."""
        steps = tuple(dict.fromkeys(c.hint for c in self.blocking if c.hint))
        if steps:
            return steps
        return (self.next_advice.text(),) if self.next_advice else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            "verdict": self.verdict,
            "blocking": [c.id for c in self.blocking],
            "next_steps": list(self.next_steps),
            "advice": [a.to_dict() for a in self.advice],
            "import_errors": dict(self.import_errors),
            "diagnoses": {k: [dict(d) for d in v] for k, v in self.diagnoses.items()},
            "resolution": self.resolution,
            "index": self.index,
        }


def build_report(target: Target) -> CheckReport:
    """Evaluate the target's environment and attach what the other stages know about it."""
    env = target.env
    advisor = Advisor(target)
    errors = collect_import_errors(env)
    resolution, wheel_row = wheel_resolution(target)
    checks = with_compiler_row(evaluate(target, advisor=advisor), env)
    if wheel_row is not None:
        checks = (*checks, with_advice(wheel_row, advisor))
    mamba = env.packages.get("mamba_ssm")
    following = next_step_advice(target) if mamba and mamba.version else advisor("mamba")
    return CheckReport(environment=env, checks=checks, import_errors=errors,
                       diagnoses=diagnose_import_errors(errors, target), resolution=resolution,
                       index=index_freshness(env), advice=advisor.asked, next_advice=following)


def index_freshness(env: Environment) -> Optional[Mapping[str, Any]]:
    """How old the wheel index is, as data with its one line; None if it cannot be read."""
    try:
        from mamba_doctor.wheels.freshness import for_environment
        from mamba_doctor.wheels.index import load_index

        return for_environment(load_index(), env).to_dict()
    except Exception:
        logger.warning("reading the wheel index's age failed", exc_info=True)
        return None


def with_compiler_row(checks: tuple[CheckResult, ...], env: Environment
                      ) -> tuple[CheckResult, ...]:
    """The host-compiler row, right after the nvcc row (both only matter for source builds)."""
    from mamba_doctor.check.compiler import host_compiler_check

    row = host_compiler_check(env)
    at = next((i + 1 for i, c in enumerate(checks) if c.id == "nvcc"), len(checks))
    return (*checks[:at], row, *checks[at:])


def collect_import_errors(env: Environment) -> dict[str, str]:
    """Captured error text of every import that failed (torch first), by module name."""
    errors: dict[str, str] = {}
    if env.torch.error:
        errors["torch"] = env.torch.error
    for name in IMPORT_ORDER:
        info = env.packages.get(name)
        if info is not None and info.import_ok is False and info.error:
            errors[name] = info.error
    return errors


def diagnose_import_errors(
    errors: Mapping[str, str], target: Target
) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """Known-failure diagnoses for each captured import error (what `explain` would say)."""
    if not errors:
        return {}
    from mamba_doctor.diagnose.engine import diagnose

    out: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for name, text in errors.items():
        try:
            found = diagnose(text, target.env, limit=3, python=target.python)
        except Exception:  # a diagnosis bug must not hide the check itself
            logger.warning("diagnosing the %s import error failed", name, exc_info=True)
            continue
        if found:
            out[name] = tuple(d.to_dict() for d in found)
    return out


def wheel_resolution(target: Target,
                     ) -> tuple[Optional[Mapping[str, Any]], Optional[CheckResult]]:
    """Which prebuilt wheels fit this machine: the resolutions as JSON-ready dicts (their ways
    out as commands for the target) and a non-blocking "wheels" verdict row. A resolver failure
    must not hide the check itself."""
    try:
        from mamba_doctor.wheels.view import summarize_for_check

        resolutions, row = summarize_for_check(target.env)
        found = [resolution_dict(r, target) for r in resolutions]
    except Exception:
        logger.warning("resolving the prebuilt wheels failed", exc_info=True)
        return None, None
    return {"resolutions": found}, row
