"""Target probe: recorded outputs, crash/hang recovery, real children of real interpreters."""

from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

import pytest
from fake_runner import FakeRunner, done, fixture

from mamba_doctor.errors import UsageError
from mamba_doctor.probe.target import STAGES, parse_target_output, probe_target
from mamba_doctor.probe.target_snippet import MARK, TARGET_SNIPPET

PY = "/fake/python"


def _replay(name: str) -> FakeRunner:
    return FakeRunner({(PY,): done(fixture(name))})


def test_snippet_is_python_38_syntax() -> None:
    ast.parse(TARGET_SNIPPET, feature_version=(3, 8))


def test_parse_ignores_noise_and_finds_the_unfinished_stage() -> None:
    text = f"hello\n{MARK}{{\"begin\": \"base\"}}\n{MARK}{{\"stage\": \"base\", \"ok\": true}}\n" \
           f"{MARK}not json\n{MARK}{{\"begin\": \"torch\"}}\n"
    records, begun = parse_target_output(text)
    assert list(records) == ["base"] and begun == "torch"


def test_cpu_torch_recorded_on_this_machine() -> None:
    facts = probe_target(PY, run=_replay("target-2.13.0-cpu.stdout"), environ={})
    t = facts.torch
    assert (t.installed, t.version, t.cuda, t.cxx11abi, t.cuda_available) == (
        True, "2.13.0+cpu", None, True, False)
    assert t.reasons["cuda"] == "a CPU-only build of torch"
    assert facts.python.abi_tag == "cp311" and facts.python.is_venv is True
    assert facts.packages["mamba_ssm"].version is None
    assert facts.packages["selective_scan_cuda"].import_ok is None


def test_no_torch() -> None:
    facts = probe_target(PY, run=_replay("target-no-torch.stdout"), environ={})
    assert facts.torch.installed is False and facts.torch.error is None
    assert facts.python.externally_managed is True


def test_ngc_torch_with_a_broken_extension() -> None:
    facts = probe_target(PY, run=_replay("target-ngc-2.1.0a0.stdout"), environ={})
    t = facts.torch
    assert (t.version, t.cuda, t.cxx11abi, t.capabilities) == ("2.1.0a0+32f93b1", "12.2", True,
                                                               ("9.0",))
    assert "compute_90" in t.arch_list
    ssc = facts.packages["selective_scan_cuda"]
    assert ssc.import_ok is False and ssc.version == "2.2.2"
    assert "undefined symbol: _ZN3c104cuda9SetDeviceEi" in (ssc.error or "")
    assert facts.packages["causal_conv1d_cuda"].import_ok is True


def test_cuda_torch_pip_venv() -> None:
    facts = probe_target(PY, run=_replay("target-2.5.1-cu124.stdout"), environ={})
    assert (facts.torch.version, facts.torch.cuda, facts.torch.cxx11abi) == ("2.5.1+cu124",
                                                                              "12.4", False)
    assert all(facts.packages[m].import_ok for m in ("selective_scan_cuda", "mamba_ssm"))
    assert facts.packages["causal_conv1d"].version == "1.5.0.post8"


def test_segfault_in_torch_import_keeps_static_facts_and_skips_the_rest() -> None:
    lines = fixture("target-2.5.1-cu124.stdout").splitlines()
    base = "\n".join(lines[:3]) + f'\n{MARK}{{"begin": "torch"}}\n'
    libs = "\n".join(lines[-2:]) + "\n"
    answers = iter([done(base, rc=-11, stderr="Fatal Python error: Segmentation fault"),
                    done(libs)])
    run = FakeRunner({(PY,): lambda argv: next(answers)})
    facts = probe_target(PY, run=run, environ={})
    t = facts.torch
    assert t.version == "2.5.1+cu124" and t.cuda == "12.4"  # from torch/version.py
    assert t.error and "crashed the interpreter (SIGSEGV)" in t.error
    assert "Segmentation fault" in t.error
    assert facts.packages["mamba_ssm"].import_ok is None
    # only the stage that does not need torch runs again
    assert run.calls[1][-1] == "libs" and len(run.calls) == 2
    assert facts.libstdcxx_path == "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"


def test_crash_in_one_extension_import_runs_the_rest_in_a_new_child() -> None:
    text = fixture("target-2.5.1-cu124.stdout")
    head = text.split(f'{MARK}{{"stage": "import:selective_scan_cuda"')[0]
    rest = "\n".join(ln for ln in text.splitlines()
                     if '"import:causal' in ln or '"import:mamba_ssm' in ln) + "\n"
    answers = iter([done(head, rc=-6), done(rest)])
    run = FakeRunner({(PY,): lambda argv: next(answers)})
    facts = probe_target(PY, run=run, environ={})
    ssc = facts.packages["selective_scan_cuda"]
    assert ssc.import_ok is False and "SIGABRT" in (ssc.error or "")
    assert facts.packages["mamba_ssm"].import_ok is True
    second = run.calls[1]
    assert second[-4:] == ("import:causal_conv1d_cuda", "import:causal_conv1d",
                           "import:mamba_ssm", "libs")


def test_hang_in_cuda_init_is_reported() -> None:
    text = fixture("target-2.5.1-cu124.stdout")
    head = text.split(f'{MARK}{{"stage": "cuda"')[0]
    answers = iter([done(head, timed_out=True), done("")])
    run = FakeRunner({(PY,): lambda argv: next(answers)})
    facts = probe_target(PY, run=run, environ={}, timeout=30)
    assert facts.torch.version == "2.5.1+cu124"
    assert facts.torch.error and "hung" in facts.torch.error
    assert facts.torch.cuda_available is None


@pytest.mark.parametrize("result", [done(""), done("Usage: frobnicate", rc=2),
                                    done(start_error="Exec format error")])
def test_not_a_python_is_a_usage_error(result) -> None:
    with pytest.raises(UsageError, match="not a working Python"):
        probe_target(PY, run=FakeRunner({(PY,): result}), environ={})


# ---- real children -------------------------------------------------------------------------

def test_real_target_is_this_venv() -> None:
    facts = probe_target(sys.executable, environ=dict(os.environ), timeout=120)
    assert facts.python.version == ".".join(str(p) for p in sys.version_info[:3])
    assert facts.python.executable == sys.executable
    if facts.torch.installed:
        import importlib.metadata as md

        assert facts.torch.version == md.version("torch")


@pytest.mark.slow
def test_real_deep_import_of_torch() -> None:
    pytest.importorskip("torch")
    facts = probe_target(sys.executable, environ=dict(os.environ), timeout=120, deep=True)
    assert facts.torch.error is None and facts.torch.cuda_available is not None
    assert facts.stages["torch"]["ok"] is True


def _fake_pkg(root: Path, name: str, body: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text(body)


FAKE_CUDA_TORCH = (
    "__version__ = '2.5.1+cu124'\n"
    "class version:\n    cuda = '12.4'\n    hip = None\n"
    "class _C:\n    _GLIBCXX_USE_CXX11_ABI = False\n"
    "class cuda:\n    is_available = staticmethod(lambda: False)\n"
    "    device_count = staticmethod(lambda: 0)\n"
)


def test_real_target_whose_torch_segfaults(tmp_path: Path) -> None:
    _fake_pkg(tmp_path, "torch", "import ctypes\nctypes.string_at(0)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    facts = probe_target(sys.executable, environ=env, timeout=60)
    assert facts.torch.installed is True
    assert "SIGSEGV" in (facts.torch.error or "")
    assert "Fatal Python error" in (facts.torch.error or "")  # faulthandler's report


def test_real_target_whose_torch_hangs(tmp_path: Path) -> None:
    _fake_pkg(tmp_path, "torch", "import time\ntime.sleep(120)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    start = time.monotonic()
    facts = probe_target(sys.executable, environ=env, timeout=4)
    assert time.monotonic() - start < 30
    assert facts.torch.error and "hung" in facts.torch.error
    assert facts.python.version  # the stage before the hang survived


def test_real_target_whose_extension_segfaults(tmp_path: Path) -> None:
    _fake_pkg(tmp_path, "torch", FAKE_CUDA_TORCH)
    _fake_pkg(tmp_path, "selective_scan_cuda", "import os, signal\nos.kill(os.getpid(), 11)\n")
    _fake_pkg(tmp_path, "mamba_ssm", "__version__ = '2.2.4'\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    facts = probe_target(sys.executable, environ=env, timeout=60)
    assert facts.torch.cuda == "12.4" and facts.torch.cuda_available is False
    assert facts.packages["selective_scan_cuda"].import_ok is False
    assert "SIGSEGV" in (facts.packages["selective_scan_cuda"].error or "")
    assert facts.packages["mamba_ssm"].import_ok is True  # ran in the second child


def test_real_non_python_targets(tmp_path: Path) -> None:
    script = tmp_path / "not-python"
    script.write_text("just some text\n")
    script.chmod(0o755)
    with pytest.raises(UsageError):
        probe_target(str(script), environ=dict(os.environ), timeout=20)
    with pytest.raises(UsageError):
        probe_target("/bin/true", environ=dict(os.environ), timeout=20)


def test_stage_names_are_stable() -> None:
    assert STAGES[:3] == ("base", "torch", "cuda")


OLD_PYTHONS = Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))) / "versions"


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_real_snippet_runs_on_old_pythons(version: str) -> None:
    found = sorted(OLD_PYTHONS.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.skip(f"no Python {version} here")
    facts = probe_target(str(found[-1]), environ=dict(os.environ), timeout=60)
    assert facts.python.version and facts.python.version.startswith(version + ".")
    assert facts.python.abi_tag == "cp3" + version.split(".")[1]
    assert facts.torch.installed is False or facts.torch.version


def test_real_python2_is_a_usage_error() -> None:
    found = sorted(OLD_PYTHONS.glob("2.7*/bin/python2.7"))
    if not found:
        pytest.skip("no Python 2.7 here")
    with pytest.raises(UsageError, match=r"not a working Python 3\.8"):
        probe_target(str(found[-1]), environ=dict(os.environ), timeout=30)
