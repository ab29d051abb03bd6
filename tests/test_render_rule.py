"""The rendering rule (mamba_doctor/ui.py): every command, URL and path a view prints appears
whole on one line, at 60, 120 and 200 columns, with boxes and without (--plain)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from clirunner import CliRunner
from rich.console import Console
from wheel_envs import make_env

from mamba_doctor import ui
from mamba_doctor.cli import app
from mamba_doctor.models import Environment, PythonInfo

WIDTHS = (60, 120, 200)
LONG_PYTHON = "/home/someone/miniconda3/envs/mamba-experiments-2025/bin/python3.11"
URL = re.compile(r"https?://[^\s'\"`)]+")


@pytest.fixture(params=[True, False], ids=["plain", "boxes"])
def plain(request: pytest.FixtureRequest) -> Iterator[bool]:
    ui.set_plain(request.param)
    yield request.param
    ui.set_plain(None)


def _lines(draw: Callable[[Console], None], width: int) -> list[str]:
    buf = io.StringIO()
    draw(Console(file=buf, width=width, color_system=None, legacy_windows=False))
    return buf.getvalue().splitlines()


def _assert_whole(lines: list[str], wanted: list[str]) -> None:
    assert wanted, "nothing to look for: the test would pass vacuously"
    for text in wanted:
        assert any(text in line for line in lines), (text, "\n".join(lines))


def _with_python(env: Environment, exe: str = LONG_PYTHON) -> Environment:
    py = env.python
    return Environment(os=env.os, nvidia=env.nvidia, cuda_toolkit=env.cuda_toolkit,
                       python=PythonInfo(**{**py.__dict__, "executable": exe}),
                       torch=env.torch, packages=env.packages)


@pytest.mark.parametrize("width", WIDTHS)
def test_check_prints_every_next_command_and_url_whole(width: int, plain: bool) -> None:
    from mamba_doctor.check.report import build_report
    from mamba_doctor.check.view import render_check
    from mamba_doctor.probe.interpreter import Target

    # CPU-only torch: the advice is a pip command with the interpreter's long path and an
    # index URL, the case the issue found broken by the verdict box at 120 columns.
    env = _with_python(make_env(torch="2.5.1+cpu", cuda=None, abi=False))
    report = build_report(Target.described(env))
    steps = [s for s in report.next_steps if " -m pip install " in s]
    assert steps, report.next_steps
    wanted = [s[s.index(LONG_PYTHON):] for s in steps]  # "prose: <command>" -> the command
    wanted += [m.group(0) for s in report.next_steps for m in URL.finditer(s)]
    wanted.append(LONG_PYTHON)
    lines = _lines(lambda c: render_check(c, report), width)
    _assert_whole(lines, wanted)
    if plain:
        assert not any(ch in "\n".join(lines) for ch in "│╭┃━"), "plain mode drew a box"


def _env_file(tmp_path: Path, env: Environment) -> Path:
    path = tmp_path / "env.json"
    path.write_text(json.dumps({"data": {"environment": env.to_dict()}}))
    return path


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", ["fits", "none-fits"])
def test_fetch_wheel_prints_urls_digests_and_ways_out_whole(tmp_path: Path, width: int,
                                                            case: str, plain: bool) -> None:
    env = make_env(python="3.11", torch="2.5.1+cu124", cuda="12.4", abi=False, gpus=["a100"],
                   driver_cuda="12.6") if case == "fits" else \
        make_env(python="3.11", torch="2.13.0+cu130", cuda="13.0", abi=True, gpus=["a100"])
    path = _env_file(tmp_path, env)
    args = ["fetch-wheel", "--env", str(path), "--dry-run", "--package", "mamba_ssm"]
    doc = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    res = doc["data"]["resolutions"][0]
    wanted = [a for alt in res.get("alternatives") or [] for a in alt.get("commands") or []]
    if res.get("url"):
        wanted += [res["url"], res["filename"]] + ([res["sha256"]] if res.get("sha256") else [])
    guess = res.get("setup_py_guess") or res.get("guess") or {}
    if guess.get("url"):
        wanted.append(guess["url"])
    human = CliRunner().invoke(app, args, env={"COLUMNS": str(width)})
    assert human.exit_code == doc["exit_code"], human.output
    _assert_whole(human.stdout.splitlines() + human.stderr.splitlines(), wanted)


@pytest.mark.parametrize("width", WIDTHS)
def test_install_steps_and_way_back_whole(width: int, plain: bool) -> None:
    from mamba_doctor.errors import InstallFailed
    from mamba_doctor.install.view import render_failure, render_steps
    from mamba_doctor.probe.interpreter import Target

    cmd = (f"{LONG_PYTHON} -m pip install --no-deps --no-index --find-links "
           "/home/someone/.cache/mamba-doctor/wheels mamba_ssm==2.3.2.post1 causal_conv1d==1.6.0")
    steps = [{"name": "install-wheels", "status": "planned", "duration": 0.0, "command": cmd,
              "detail": "verified: sha256 published for both"},
             {"name": "probe", "status": "ok", "duration": 1.2, "command": None,
              "detail": f"python 3.11 at {LONG_PYTHON}"}]
    lines = _lines(lambda c: render_steps(c, steps, dry_run=True), width)
    _assert_whole(lines, [cmd])
    back = f"{LONG_PYTHON} -m pip install --no-deps 'mamba-ssm==2.2.4' 'causal-conv1d==1.5.0.post8'"
    fix = ("Reinstall the pair: `" + back + "` then check again.")
    exc = InstallFailed("verification failed", data={
        "steps": steps, "restore": [back],
        "diagnosis": [{"title": "Extension built for another torch version", "cause": "...",
                       "fix": [fix]}]})
    lines = _lines(lambda c: render_failure(c, exc=exc, target=Target(LONG_PYTHON)), width)
    _assert_whole(lines, [cmd, back])
    assert any("Extension built for another torch" in line for line in lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_smoke_and_explain_views_keep_paths_and_fix_commands_whole(width: int,
                                                                   plain: bool) -> None:
    from mamba_doctor.diagnose.engine import diagnose, render_diagnoses
    from mamba_doctor.smoke.view import render_smoke

    log = ("ImportError: /home/someone/miniconda3/envs/mamba-experiments-2025/lib/python3.11/"
           "site-packages/selective_scan_cuda.cpython-311-x86_64-linux-gnu.so: undefined symbol: "
           "_ZN3c104cuda9SetDeviceEi\n")
    found = diagnose(log, python=LONG_PYTHON)
    assert found
    commands = [m.group(1) for fix in found[0].fix for m in re.finditer(r"`([^`]+)`", fix)
                if LONG_PYTHON in m.group(1)]
    lines = _lines(lambda c: render_diagnoses(c, found), width)
    _assert_whole(lines, [*commands, log.split(": undefined")[0].split("ImportError: ")[1]])
    data = {"target_python": LONG_PYTHON, "passed": False, "checks": [
        {"name": "child process", "status": "fail", "detail": "crashed (SIGSEGV)"}],
        "crash": {"stderr_tail": f'  File "{LONG_PYTHON[:-10]}lib/python3.11/site-packages/'
                                 'mamba_ssm/ops/selective_scan_interface.py", line 12\n'},
        "diagnoses": [d.to_dict() for d in found]}
    lines = _lines(lambda c: render_smoke(c, data), width)
    _assert_whole(lines, [*commands, LONG_PYTHON, data["crash"]["stderr_tail"].strip()])


def test_split_commands_finds_backticks_tails_and_alternatives() -> None:
    assert ui.split_commands("mamba-doctor smoke") == ("", ("mamba-doctor smoke",))
    assert ui.split_commands("unset CUDA_VISIBLE_DEVICES   (or: export CUDA_VISIBLE_DEVICES=0)") \
        == ("", ("unset CUDA_VISIBLE_DEVICES", "export CUDA_VISIBLE_DEVICES=0"))
    prose, cmds = ui.split_commands("torch 2.10 (cu128) has wheels: /py -m pip install "
                                    "'torch==2.10.*' --index-url https://download.pytorch.org/x")
    assert prose == "torch 2.10 (cu128) has wheels:"
    assert cmds == ("/py -m pip install 'torch==2.10.*' --index-url https://download.pytorch.org/x",)
    prose, cmds = ui.split_commands("Install the driver (Ubuntu: `sudo ubuntu-drivers install`)"
                                    " and keep `-c constraints.txt` in mind.")
    assert cmds == ("sudo ubuntu-drivers install",)  # a bare option is not a command
    assert "`sudo ubuntu-drivers install`" in prose
    assert ui.split_commands("Reboot: that is all.") == ("Reboot: that is all.", ())
    prose, cmds = ui.split_commands("companions must match: /py -m pip install 'torch==2.7.*' "
                                    "--index-url https://x.org/cu118. `mamba-doctor fetch-wheel "
                                    "--dry-run` lists the rest.")
    assert cmds == ("/py -m pip install 'torch==2.7.*' --index-url https://x.org/cu118",
                    "mamba-doctor fetch-wheel --dry-run")
    assert prose.startswith("companions must match: (below). `mamba-doctor fetch-wheel")


def test_ascii_fallback_writes_stand_ins_not_errors() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    stream.reconfigure(errors="mamba_doctor_ascii")
    stream.write("Δ=softplus(Δ+b) · 2·5 → (B·N) ≤ 3 ‖ QKᵀ/√d é\n")
    stream.flush()
    assert raw.getvalue().decode("ascii") == \
        "delta=softplus(delta+b) . 2.5 -> (B.N) <= 3 || QK^T/sqrtd e\n"
