"""Fix texts for diagnoses: the one place that turns a mode's fix templates into commands.

Values come from the machine the log belongs to (probed, an `--env` file, or the log's own facts)
through `facts.fix_values`; a fix that names an advice action is the advice engine's
recommendation for those facts (mamba_doctor/advice: what `check` and `install` say).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Optional, Sequence

from mamba_doctor.diagnose.facts import fix_values, render_template
from mamba_doctor.knowledge.failures import Mode
from mamba_doctor.models import Environment

__all__ = ["advice_target", "fix_texts", "values_for"]

logger = logging.getLogger(__name__)


def values_for(env: Optional[Environment], python: Optional[str], modes: Sequence[Mode]
               ) -> dict[str, str]:
    """Placeholder values for the fixes of `modes`; {} when nothing is known."""
    if env is None:
        if not python:
            return {}
        from mamba_doctor.advice.commands import interpreter

        word = interpreter(python)  # quoted: a path may hold spaces or come from a log
        return {"python": word, "python_opt": f" --python {word}", "pip": f"{word} -m pip"}
    return fix_values(env, python=python)


def advice_target(env: Optional[Environment], python: Optional[str]) -> Optional[Any]:
    """The facts as the advice engine's target (None: the fixes stay generic)."""
    if env is None:
        return None
    from mamba_doctor.probe.interpreter import ENV_FILE, Target

    return Target(python or env.python.executable or "python", ENV_FILE, env)


# What an advice action concludes from: with facts read from a log (a partial picture), an
# action runs only when these are known, since the advice engine reads an unknown torch CUDA
# as a CPU-only torch and an unknown torch as none ("unknown facts are skipped", as the confirm
# rules do); otherwise the fix stays the generic text.
_NEEDS: dict[str, tuple[str, ...]] = {
    "torch": ("torch.version", "torch.cuda"),
    "mamba": ("torch.version", "torch.cuda", "python.version"),
    "mamba_pair": ("torch.version", "torch.cuda", "python.version"),
    "source_build": ("torch.version", "torch.cuda"),
    "toolkit": ("torch.cuda",),
    "driver": ("nvidia.driver_version",),
    "platform": ("os.system",),
    "python": ("python.version",),
}


def fix_texts(mode: Mode, values: Mapping[str, str], target: Optional[Any] = None, *,
              partial: bool = False) -> tuple[str, ...]:
    """The mode's fixes: the advice engine's for an advice fix when facts are known, else
    tailored where every placeholder is known, else the generic form. `partial`: the facts
    were read from a log, so an advice action runs only on the facts it needs."""
    out = []
    for fix in mode.fixes:
        if fix.advice is not None:
            known = target is not None and (not partial or _knows(target.env, fix.advice))
            out.append(_advice_fix(fix.advice, target if known else None, fix.generic, values))
            continue
        text, complete = render_template(fix.tailored, values)
        out.append(text if complete else render_template(fix.generic, values)[0])
    return tuple(out)


def _knows(env: Environment, action: str) -> bool:
    from mamba_doctor.diagnose.facts import fact_values

    needs = _NEEDS.get(action)
    return needs is not None and all(fact_values(env, fact) for fact in needs)


def _advice_fix(action: str, target: Optional[Any], generic: str,
                values: Mapping[str, str]) -> str:
    if target is not None:
        from mamba_doctor.advice import advise

        try:
            advice = advise(action, target)
        except Exception:  # a bug there costs the tailoring, never the diagnosis
            logger.warning("advice %r failed", action, exc_info=True)
            advice = None
        if advice is not None:
            return advice.text()
    return render_template(generic, values)[0]
