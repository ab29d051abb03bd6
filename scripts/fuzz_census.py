"""Count, rather than stop at, the unexpected exceptions the fuzz suite's checks find.

    python scripts/fuzz_census.py [EXAMPLES_PER_TARGET]   (default 300)

Runs every check of tests/test_fuzz.py on that many generated inputs and prints, per target,
how many inputs ended in an unexpected exception and in how many distinct kinds (exception type
and the innermost mamba_doctor function that raised it). Used to measure the suite against an
older checkout: run it with that checkout first on PYTHONPATH.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings

from tests.test_fuzz import FUZZ_TARGETS


def _kind(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        arg = exc.args[0] if exc.args else None
        if isinstance(arg, tuple) and len(arg) == 2 and isinstance(arg[0], int):
            m = re.search(r'"message": "unexpected error: (\w+)', str(arg[1]))
            return f"exit {arg[0]}: {m.group(1) if m else 'unexpected output'}"
        if isinstance(arg, tuple) and len(arg) == 3:
            return f"unvalidated value kept: {arg[0]}.{arg[1]}"
        if isinstance(arg, str) and arg.startswith(("'", '"')):
            return "control character kept"
        checks = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename.endswith("test_fuzz.py")]
        return f"wrong result in {checks[-1].name if checks else 'check'}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "mamba_doctor" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].name}" if frames else "test"
    return f"{type(exc).__name__} in {where}"


def census(examples: int) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, strategy, check in FUZZ_TARGETS:
        kinds: Counter[str] = Counter()
        runs = [0]
        cap = examples if not name.endswith("--env") or name == "--env loader" \
            else max(20, examples // 5)  # whole CLI runs: slower
        _run(strategy, check, kinds, runs, cap)
        out[name] = {"examples": runs[0], "failures": sum(kinds.values()),
                     "kinds": len(kinds), **{f"  {k}": v for k, v in kinds.most_common()}}
    return out


def _run(strategy: object, check: object, kinds: Counter[str], runs: list[int],
         cap: int) -> None:
    @settings(max_examples=cap, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(args: tuple) -> None:
        runs[0] += 1
        try:
            check(*args)  # type: ignore[operator]
        except Exception as exc:  # counted, not raised: the census wants them all
            kinds[_kind(exc)] += 1

    run()


if __name__ == "__main__":
    result = census(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    print(json.dumps(result, indent=1))  # noqa: T201 (a script)
    total = sum(r["failures"] for r in result.values())
    print(f"examples {sum(r['examples'] for r in result.values())}, unexpected {total}, "  # noqa: T201
          f"kinds {sum(r['kinds'] for r in result.values())}")
