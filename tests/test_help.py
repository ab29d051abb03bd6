"""--help text: reflowed paragraphs, the environment variables, every option's default."""

from __future__ import annotations

import pytest
from clirunner import CliRunner

from mamba_doctor.cli import app


def _help(*args: str, width: int = 200) -> str:
    r = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(width)})
    assert r.exit_code == 0, r.output
    return r.stdout


def test_root_help_names_the_environment_variables_and_exit_codes() -> None:
    text = " ".join(_help().split())
    assert "MAMBA_DOCTOR_CACHE_DIR" in text and "MAMBA_DOCTOR_MIRROR" in text
    assert "130 interrupted" in text


@pytest.mark.parametrize(("command", "sentence"), [
    ("check", "so a torch that crashes or hangs on import is reported, not fatal."),
    ("fetch-wheel", "single facts can be overridden with --torch-version"),
    ("explain", "when run on the affected machine, fills the fixes in with"),
])
def test_docstring_paragraphs_are_reflowed_not_cut_at_source_line_breaks(
        command: str, sentence: str) -> None:
    # typer's "rich" markup mode kept the docstrings' hard line breaks: at 200 columns a
    # sentence spanning two source lines came out on two screen lines.
    assert sentence in _help(command)


def test_fetch_wheel_help_states_defaults_and_environment() -> None:
    text = " ".join(_help("fetch-wheel").split())
    for needle in ("MAMBA_DOCTOR_CACHE_DIR", "MAMBA_DOCTOR_MIRROR", "[default: all]",
                   "[default: 5]", "[default: 30.0]", "[default: keep them in the cache only]",
                   "[default: the newest with a wheel that fits]"):
        assert needle in text, needle
    assert "<str>" not in text and "list[str]" not in text  # every value option has a metavar


@pytest.mark.parametrize("command", ["check", "fetch-wheel", "explain"])
def test_python_option_reads_the_same_everywhere(command: str) -> None:
    text = " ".join(_help(command).split())
    assert "[default: the active venv/conda env, else this Python]" in text


def test_smoke_help_lists_choices_defaults_and_exit_codes() -> None:
    from clirunner import CliRunner

    from mamba_doctor.cli import app

    text = CliRunner().invoke(app, ["smoke", "--help"], env={"COLUMNS": "200"}).stdout
    for needle in ("[auto|cuda|cpu]", "[auto|cuda|ref]", "[mamba|attention]",
                   "[default: the active venv/conda env, else this Python]", "7 smoke test failed",
                   "[default: 600.0]"):
        assert needle in text, needle
