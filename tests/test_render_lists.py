"""Numbered steps and fixes wrap under their text (hanging indent), in check and explain."""

from __future__ import annotations

import io

from rich.console import Console

from mamba_doctor.ui import hanging_list


def _lines(renderable: object, width: int = 40) -> list[str]:
    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True).print(renderable)
    return [line.rstrip() for line in buf.getvalue().splitlines()]


def test_wrapped_lines_stay_under_the_text() -> None:
    long = "install the driver and reboot the machine before running anything else"
    lines = _lines(hanging_list([long, "short"]))
    assert lines[0].startswith("  1. install")
    assert len(lines) > 3  # the first item wrapped
    for cont in lines[1:-1]:
        assert cont.startswith("     ") and cont.strip(), cont
    assert lines[-1] == "  2. short"


def test_bullets_replace_numbers() -> None:
    assert _lines(hanging_list(["a", "b"], bullet="•")) == ["  • a", "  • b"]
