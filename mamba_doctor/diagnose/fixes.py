"""Fix texts for diagnoses: the one place that turns a mode's fix templates into commands.

Values come from the machine the log belongs to (probed, an `--env` file, or the log's own facts)
through `facts.fix_values`, and the exact wheel name from the wheel resolver.
"""

from __future__ import annotations

import logging
from typing import Mapping, Optional, Sequence

from mamba_doctor.diagnose.facts import fix_values, placeholders_in, render_template
from mamba_doctor.knowledge.failures import Mode
from mamba_doctor.models import Environment

__all__ = ["fix_texts", "values_for"]

logger = logging.getLogger(__name__)


def values_for(env: Optional[Environment], python: Optional[str], modes: Sequence[Mode], *,
               wheel_env: Optional[Environment] = None) -> dict[str, str]:
    """Placeholder values for the fixes of `modes`; {} when nothing is known.

    `wheel_env` is the probed or saved environment the exact wheel is resolved for; None for
    facts read from a log, which are too partial for the resolver.
    """
    if env is None:
        if not python:
            return {}
        return {"python": python, "python_opt": f" --python {python}", "pip": f"{python} -m pip"}
    wants_wheel = wheel_env is not None and any(
        "mamba_wheel" in placeholders_in(f.tailored) for m in modes for f in m.fixes)
    wheels = _resolve_wheels(wheel_env) if wheel_env is not None and wants_wheel else None
    return fix_values(env, python=python, wheels=wheels)


def fix_texts(mode: Mode, values: Mapping[str, str]) -> tuple[str, ...]:
    """The mode's fixes: tailored where every placeholder is known, else the generic form."""
    out = []
    for fix in mode.fixes:
        text, complete = render_template(fix.tailored, values)
        out.append(text if complete else render_template(fix.generic, values)[0])
    return tuple(out)


def _resolve_wheels(env: Environment) -> Optional[dict[str, str]]:
    """Exact wheel file names from the wheel resolver; None when it fails."""
    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import resolve_pair

    try:
        found = {}
        for res in resolve_pair(env, load_index()):
            if res.wheel is not None:
                found[res.package] = res.wheel.filename
        return found
    except Exception:  # a resolver bug costs only the exact name: a generic hint is shown
        logger.debug("wheel resolution unavailable for diagnosis", exc_info=True)
        return None
