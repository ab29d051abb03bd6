"""What to say when pip refuses the install plan: the real cause, in pip's own words.

A missing distribution is named as such ("einops is not in the bundle and there is no
index"), a conflict is shown with pip's explanation ("The conflict is caused by: ..."), and a
pinned package (torch) is blamed only when pip's explanation names it.
"""

from __future__ import annotations

from typing import Mapping

from mamba_doctor.bundle.pip_resolve import explain_pip_failure, pip_explanation


def explain_plan_failure(text: str, pins: Mapping[str, str], *, offline: bool,
                         bundle: bool = False) -> tuple[str, str]:
    """(message, hint) for a failed dry run; nothing was changed when this is raised."""
    explanation = pip_explanation(text)
    if "No matching distribution found for" in text and "conflict is caused by" not in text:
        message, hint = explain_pip_failure(text, offline=offline)
        if offline and not bundle:
            message = message.replace("is not in the bundle and there is no index",
                                      "is not in the --find-links folders and there is no index")
        if not offline:
            message = message.replace("has no wheel for the server's platform and Python on the "
                                      "index", "is not available from the index")
            hint = "pip said:\n" + explanation
        return f"{message}; nothing was changed", hint
    named = [name for name in pins if _mentions(explanation, name)]
    if named:
        pinned = ", ".join(f"{k}=={pins[k]}" for k in named)
        return (f"the requirements of these wheels cannot be met without changing {pinned}; "
                "nothing was changed",
                "Choose a version whose requirements fit it (--version), or keep other packages "
                "from moving with --keep. pip said:\n" + explanation)
    return ("pip cannot find versions that fit together; nothing was changed",
            "pip said:\n" + explanation)


def _mentions(explanation: str, name: str) -> bool:
    """Whether pip's conflict lines are about `name` (`depends on torch`, `torch==2.0.0`)."""
    lowered = explanation.lower()
    return any(f"{sep}{name}{end}" in lowered for sep in (" ", "(") for end in (" ", "=", "<",
                                                                             ">", "!", "~", ")",
                                                                             "\n"))
