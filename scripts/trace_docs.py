"""Regenerate the block's op-by-op notes in README.md and docs/smoke.md from a real trace.

The notes are `mamba-doctor smoke --trace-format markdown` at the default sizes (the reference
block on the CPU, eval mode), written between the `<!-- trace-notes -->` markers. With --check,
change nothing and exit 1 when a file is out of date (tests/test_trace_formats.py runs that).

    python scripts/trace_docs.py [--check]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- trace-notes:begin -->", "<!-- trace-notes:end -->"
FILES = {ROOT / "README.md": 3, ROOT / "docs" / "smoke.md": 2}  # file -> heading level


def notes(level: int) -> str:
    import torch

    from mamba_doctor.smoke.child.reference import trace
    from mamba_doctor.smoke.runner import SmokeOptions
    from mamba_doctor.smoke.trace_text import Sizes, trace_markdown

    opts = SmokeOptions(device="cpu", trace=True).to_child()
    ops = trace(torch, opts, "cpu")
    return trace_markdown(ops, Sizes.of(ops, opts), level=level)


def replaced(text: str, body: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"no {BEGIN} ... {END} region")
    return pattern.sub(lambda _m: f"{BEGIN}\n{body.rstrip()}\n{END}", text, count=1)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, level in FILES.items():
        old = path.read_text(encoding="utf-8")
        new = replaced(old, notes(level))
        if new != old:
            stale.append(path.relative_to(ROOT))
            if not check:
                path.write_text(new, encoding="utf-8")
    if stale:
        sys.stdout.write(("out of date: " if check else "rewrote: ")
                         + ", ".join(map(str, stale)) + "\n")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
