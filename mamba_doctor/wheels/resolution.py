"""The resolver's result types: Resolution (one per package), Alternative, SetupPyGuess."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from mamba_doctor.wheels.fit import REASON_ORDER, Rejection
from mamba_doctor.wheels.index import WheelCandidate


@dataclass(frozen=True)
class Alternative:
    """A way out when nothing fits, as data (mamba_doctor/advice phrases it as commands for a
    target); lower rank is better."""

    kind: str  # "version" | "torch" | "python" | "source" | "platform"
    summary: str
    rank: int = 0
    package: str = "mamba_ssm"
    release: Optional[str] = None  # a release of `package` with a wheel for it
    torch: Optional[str] = None  # the torch minor to move to ("2.10")
    variant: Optional[str] = None  # its CUDA variant ("cu128")
    python: Optional[str] = None  # the Python minor of a new environment
    arches: tuple[int, ...] = ()  # a source build's architectures (empty: --arch needed)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "rank": self.rank,
                "package": self.package, "release": self.release, "torch": self.torch,
                "variant": self.variant, "python": self.python, "arches": list(self.arches)}


@dataclass(frozen=True)
class SetupPyGuess:
    """What `pip install <pkg>==V` (the sdist's setup.py) would download here; does it exist?"""

    pypi_version: str
    url: Optional[str]
    exists: Optional[bool]  # None: unknown
    # "prebuilt" | "wrong_prebuilt" | "source_build" | "aborts" | "unknown", or pip never runs
    # setup.py: "no_sdist" | "requires_python"; or it dies first: "no_cuda_home"
    outcome: str
    explanation: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"pypi_version": self.pypi_version, "url": self.url, "exists": self.exists,
                "outcome": self.outcome, "explanation": self.explanation,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class Resolution:
    """The outcome for one package. `wheel` is None when nothing fits (see `alternatives`)."""

    package: str
    version: Optional[str]
    wheel: Optional[WheelCandidate]
    exact: bool
    rejected: tuple[Rejection, ...]
    alternatives: tuple[Alternative, ...]
    unchecked: tuple[str, ...]
    requested: Optional[str] = None
    notes: tuple[str, ...] = ()
    guess: Optional[SetupPyGuess] = None
    considered: int = 0  # wheels examined in the release(s) the rejections are about
    tags: tuple[str, ...] = field(default=())

    @property
    def filename(self) -> Optional[str]:
        return self.wheel.filename if self.wheel else None

    @property
    def url(self) -> Optional[str]:
        return self.wheel.url if self.wheel else None

    @property
    def sha256(self) -> Optional[str]:
        return self.wheel.sha256 if self.wheel else None

    def reason_counts(self) -> dict[str, int]:
        counts = Counter(r.code for r in self.rejected)
        return {code: counts[code] for code in REASON_ORDER if counts[code]}

    def why_none(self) -> str:
        """Why no wheel fits, in one phrase: the resolver's note, else the commonest rejection."""
        if self.notes:
            return self.notes[0]
        counts = self.reason_counts()
        if not counts:
            return "no wheel was published"
        code = max(counts, key=lambda c: counts[c])
        return next(r.message for r in self.rejected if r.code == code)

    def to_dict(self) -> dict[str, Any]:
        w = self.wheel
        return {
            "package": self.package, "version": self.version, "requested": self.requested,
            "tag": w.tag if w else None, "filename": self.filename, "url": self.url,
            "sha256": self.sha256, "exact": self.exact,
            "wheel": w.to_dict() if w else None,
            "considered": self.considered, "release_tags": list(self.tags),
            "rejected_summary": self.reason_counts(),
            "rejected": [r.to_dict() for r in self.rejected],
            "alternatives": [a.to_dict() for a in self.alternatives],
            "unchecked": list(self.unchecked), "notes": list(self.notes),
            "setup_py_guess": self.guess.to_dict() if self.guess else None,
        }
