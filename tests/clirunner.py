"""typer's CliRunner with stderr kept apart from stdout on every typer/click the suite runs with.

click 8.2 and typer 0.2x (which vendors click) always capture stderr separately, and
`result.output` is both streams; click 8.1, the newest release for Python 3.8 and 3.9, separates
them only with `mix_stderr=False`, and then `output` is stdout alone. This runner behaves like
the newer ones on both (on 8.1 `output` is stdout then stderr, not interleaved: tests only
search it).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from typer.testing import CliRunner as _TyperRunner

_HAS_MIX = "mix_stderr" in inspect.signature(_TyperRunner.__init__).parameters


@functools.lru_cache(maxsize=None)
def _both_streams(result_class: type) -> type:
    class BothStreams(result_class):  # type: ignore[misc, valid-type]
        @property
        def output(self) -> str:
            return self.stdout + self.stderr

    return BothStreams


class CliRunner(_TyperRunner):
    def __init__(self, **kwargs: Any) -> None:
        if _HAS_MIX:
            kwargs.setdefault("mix_stderr", False)
        super().__init__(**kwargs)

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        result = super().invoke(*args, **kwargs)
        if _HAS_MIX:
            result.__class__ = _both_streams(type(result))
        return result
