"""With no facts known, every knowledge-base fix is still something to act on: a command is
complete or not shown as a command, never one holding a `<cuXYZ>` or a guillemet stand-in
to fill in."""

from __future__ import annotations

import re
from typing import Optional

import pytest

from mamba_doctor.diagnose.facts import PLACEHOLDERS
from mamba_doctor.diagnose.fixes import fix_texts, values_for
from mamba_doctor.knowledge.failures import load_knowledge

MODES = load_knowledge().modes

# `<word ...>` or `<X.Y>` style stand-ins, guillemets, and unfilled `{placeholder}`s. A shell
# redirection such as `> constraints.txt` or `2>/dev/null` is not one (no closing bracket).
OPEN, CLOSE = "\u2039", "\u203a"  # single guillemets, a stand-in style of some fixes
_LEFT_OVER = re.compile(f"{OPEN}[^{CLOSE}]*{CLOSE}" + r"|<[A-Za-z][^<>`]*>|\{(?:"
                        + "|".join(PLACEHOLDERS) + r")\}")


@pytest.mark.parametrize("python", [None, "/opt/env/bin/python"])
@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_no_fix_shows_a_placeholder_when_no_facts_are_known(mode: object,
                                                            python: Optional[str]) -> None:
    values = values_for(None, python, [mode])  # what `explain` has without --env or a probe
    for text in fix_texts(mode, values):  # type: ignore[arg-type]
        assert not _LEFT_OVER.findall(text), text
        for stand_in in ("<cu", "<target", "<your", "<X", "cuXYZ"):
            assert stand_in not in text, text


def test_the_check_catches_what_it_is_for() -> None:
    assert _LEFT_OVER.findall("`pip install torch --index-url https://x/whl/<cuXYZ>`")
    assert _LEFT_OVER.findall(f"`pip install ./{OPEN}file{CLOSE}.whl`")
    assert not _LEFT_OVER.findall("`python -c 'print(1)' > constraints.txt 2>/dev/null`")
