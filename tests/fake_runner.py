"""A fake `_run.run` replaying recorded outputs by argv prefix (the long snippet argv elided)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Tuple, Union

from mamba_doctor._run import Completed

FIXTURES = Path(__file__).parent / "fixtures" / "probe"
Response = Union[Completed, Callable[[Tuple[str, ...]], Completed]]


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def done(stdout: str = "", *, rc: Optional[int] = 0, stderr: str = "", timed_out: bool = False,
         start_error: Optional[str] = None, argv: tuple[str, ...] = ("x",)) -> Completed:
    return Completed(argv, None if (timed_out or start_error) else rc, stdout, stderr,
                     timed_out=timed_out, start_error=start_error,
                     duration_s=3.0 if timed_out else 0.01)


def key(argv) -> tuple[str, ...]:
    return tuple("<snippet>" if len(str(a)) > 200 else str(a) for a in argv)


class FakeRunner:
    """Answers each call with the first registered response whose argv prefix matches; an
    unregistered program is "not found", like a missing binary."""

    def __init__(self, responses: Optional[dict[tuple[str, ...], Response]] = None) -> None:
        self.responses: dict[tuple[str, ...], Response] = dict(responses or {})
        self.calls: list[tuple[str, ...]] = []
        self.envs: list[Optional[dict]] = []

    def __call__(self, argv, *, timeout=None, env=None, cwd=None, input=None) -> Completed:
        k = key(argv)
        self.calls.append(k)
        self.envs.append(dict(env) if env is not None else None)
        for prefix, response in self.responses.items():
            if k[: len(prefix)] == prefix:
                result = response(k) if callable(response) else response
                return Completed(tuple(argv), result.returncode, result.stdout, result.stderr,
                                 result.timed_out, result.start_error, result.duration_s)
        return Completed(tuple(argv), None, "", "", start_error="No such file or directory")

    def called(self, *prefix: str) -> int:
        return sum(1 for c in self.calls if c[: len(prefix)] == prefix)
