"""What the advice engine returns: one recommendation for one problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Advice:
    """What to do about one problem: a sentence and the complete commands to run, in order.

    `key` names the problem ("torch", "mamba", "source_build", ...; see mamba_doctor/advice):
    every command that meets the same problem on the same facts gets the same Advice.
    """

    key: str
    summary: str
    commands: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        """One line for a hint: the sentence, its caveats, then the commands joined by &&."""
        out = self.summary
        if self.notes:
            out += " (" + "; ".join(self.notes) + ")"
        if self.commands:
            out += ": " + " && ".join(self.commands)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "summary": self.summary, "commands": list(self.commands),
                "notes": list(self.notes)}
