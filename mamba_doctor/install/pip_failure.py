"""What to say when pip refuses the install plan: the real cause, in pip's own words.

A missing distribution is named as such ("einops is not in the bundle and there is no
index"), a conflict is shown with pip's explanation ("The conflict is caused by: ..."), and a
pinned package (torch) is blamed only when pip's explanation names it.
"""

from __future__ import annotations

import re
from typing import Mapping


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


_MISSING = re.compile(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._\-\[\]]*"
                      r"(?:[<>=!~]=?[^\s;]*)?)")


def explain_pip_failure(text: str, *, offline: bool) -> tuple[str, str]:
    """(message, hint) for pip's refusal: a missing distribution named as such, a conflict with
    pip's own explanation, else pip's last lines. `offline`: there was no index (--no-index)."""
    missing = _MISSING.findall(text)
    explanation = pip_explanation(text)
    if missing and "conflict is caused by" not in text:
        names = ", ".join(dict.fromkeys(missing))
        where = ("is not in the bundle and there is no index" if offline else
                 "has no wheel for the server's platform and Python on the index")
        return (f"{names} {where}",
                ("Make the bundle again on a connected machine (mamba-doctor bundle) so that it "
                 "includes it." if offline else "pip said:\n" + explanation))
    if "conflict is caused by" in text or "ResolutionImpossible" in text:
        return ("pip cannot find versions that fit together (its explanation follows)",
                explanation)
    return ("pip could not resolve the install", explanation)


def pip_explanation(text: str) -> str:
    """pip's own error text: from its first ERROR line on (its conflict explanation included)."""
    lines = text.strip().splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("ERROR:")), None)
    chosen = lines[first:] if first is not None else lines[-15:]
    return "\n".join(chosen)[-4000:]
