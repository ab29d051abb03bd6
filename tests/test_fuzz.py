"""Property tests: the parsers, the `--env` loader and every command body that reads `--env`
give a result or a clear error on any input, never an unexpected exception.

The `ci` profile (tests/fuzzkit.py) keeps this to seconds; `HYPOTHESIS_PROFILE=deep` digs
longer. `scripts/fuzz_census.py` runs the same checks and counts failures instead of stopping.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzzkit import dumps, env_documents, json_values, texts

# -- the checks (each raises only for an unexpected outcome) ----------------------------------


def check_nvidia_text(text: str) -> None:
    from mamba_doctor.probe import nvidia_parse as p

    for cap in (True, False):
        assert isinstance(p.parse_nvidia_smi_csv(text, with_compute_cap=cap), p.DriverReport)
    p.parse_nvidia_smi_header(text)
    p.parse_proc_driver_version(text)
    p.parse_sys_module_version(text)
    p.is_driver_version(text)


def check_nvml_json(doc: Any) -> None:
    from mamba_doctor.models import GpuInfo
    from mamba_doctor.probe import nvidia_parse as p

    nvml, cuda = p.parse_nvml_json("noise\n" + dumps(doc) + "\n")
    for report in (nvml, cuda):
        for gpu in report.gpus:
            assert isinstance(gpu, GpuInfo) and isinstance(gpu.index, int)
            assert gpu.uuid is None or isinstance(gpu.uuid, str)
            assert gpu.name is None or isinstance(gpu.name, str)
        p.parse_cuda_visible_devices("0,GPU-1,MIG-x", report.gpus)
    p.decode_cuda_version(doc)


def check_visible_devices(value: str, uuids: list[Any]) -> None:
    from mamba_doctor.models import GpuInfo
    from mamba_doctor.probe.nvidia_parse import parse_cuda_visible_devices

    gpus = tuple(GpuInfo(index=i, uuid=u if isinstance(u, str) else None)
                 for i, u in enumerate(uuids))
    marked, note = parse_cuda_visible_devices(value, gpus)
    assert len(marked) == len(gpus) and (note is None or isinstance(note, str))


def check_fact_text(text: str) -> None:
    from mamba_doctor.knowledge.cuda_tables import version_of
    from mamba_doctor.models import parse_sm
    from mamba_doctor.wheels.facts import python_minor

    sm = parse_sm(text)
    assert sm is None or (isinstance(sm, int) and 0 <= sm < 10_000)
    minor = python_minor(text)
    assert minor is None or re.fullmatch(r"[0-9]+\.[0-9]+", minor, re.ASCII)
    version_of(text)


def check_overrides(flag: str, value: str) -> None:
    from mamba_doctor.errors import UsageError
    from mamba_doctor.models import Environment
    from mamba_doctor.wheels.facts import apply_overrides, facts_of

    try:
        env = apply_overrides(Environment(), **{flag: value})
    except UsageError:
        return
    facts = facts_of(env)
    _ = facts.cuda_major


SAFE_TOKEN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+!_-]*", re.ASCII)
# Facts that end up inside printed commands must be tokens a shell cannot misread.
TOKEN_FIELDS = {"torch": ("version", "cuda", "hip"), "python": ("version", "abi_tag",
                "platform_tag", "pip_version", "implementation"),
                "nvidia": ("driver_version", "cuda_driver_version"),
                "cuda_toolkit": ("nvcc_version",), "os": ("glibc", "glibcxx", "arch"),
                "build_tools": ("host_compiler_version", "cxx_version", "cmake_version",
                                "ninja_version")}


def _no_control(value: Any) -> None:
    if isinstance(value, str):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", value), repr(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _no_control(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_control(k)
            _no_control(v)


_SCRATCH = tempfile.mkdtemp(prefix="md-fuzz-")  # one folder for every example's file


def load_env(doc: Any) -> Any:
    """read_env_file on `doc`: the Environment, or None for a UsageError (exit 2)."""
    from mamba_doctor.errors import UsageError
    from mamba_doctor.probe.envfile import read_env_file

    path = Path(_SCRATCH) / "env.json"
    path.write_text(dumps(doc), encoding="utf-8")
    try:
        return read_env_file(path)
    except UsageError:
        return None


def check_env_loader(doc: Any) -> None:
    from mamba_doctor.wheels.facts import facts_of

    env = load_env(doc)
    if env is None:
        return
    out = env.to_dict()
    json.dumps(out)
    _no_control(out)
    for section, names in TOKEN_FIELDS.items():
        for name in names:
            value = out[section][name]
            assert value is None or (isinstance(value, str) and SAFE_TOKEN.fullmatch(value)), (
                section, name, value)
    for section in ("os", "nvidia", "cuda_toolkit", "python", "torch", "build_tools"):
        obj = getattr(env, section)
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.name == "reasons" or f.name == "sources":
                assert all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    for gpu in env.nvidia.gpus:
        assert isinstance(gpu.index, int) and not isinstance(gpu.index, bool)
        _ = gpu.sm
    facts = facts_of(env)
    _ = facts.cuda_major


def _cli(args: list[str]) -> Any:
    from clirunner import CliRunner

    from mamba_doctor.cli import app

    return CliRunner().invoke(app, args)


def check_cli_with_env(command: str, doc: Any, flag: Any) -> None:
    """A command body reading --env: an exit code it documents, never 1 (a bug), one JSON
    document on stdout."""
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "env.json"
        env.write_text(dumps(doc), encoding="utf-8")
        if command == "explain":
            log = Path(tmp) / "log.txt"
            log.write_text("ImportError: selective_scan_cuda.cpython-311-x86_64-linux-gnu.so: "
                           "undefined symbol: _ZN3c104cuda9SetDeviceEi\n")
            args = ["explain", str(log), "--env", str(env), "--json"]
        else:
            args = ["fetch-wheel", "--env", str(env), "--dry-run", "--json"]
            if flag is not None:
                args += [flag[0], flag[1]]
        result = _cli(args)
    assert result.exit_code in (0, 2, 3, 4), (result.exit_code, result.stdout[-2000:])
    doc_out = json.loads(result.stdout)
    assert doc_out["exit_code"] == result.exit_code


# -- the tests --------------------------------------------------------------------------------

csv_lines = st.lists(st.lists(texts, min_size=0, max_size=8).map(", ".join),
                     max_size=4).map("\n".join)
nvml_docs = st.fixed_dictionaries({}, optional={
    "nvml": st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "driver": json_values, "cuda": json_values,
        "gpus": st.one_of(json_values, st.lists(st.fixed_dictionaries({}, optional=dict.fromkeys(
            ("index", "name", "cc", "memory_mib", "uuid"), json_values)),
            max_size=3))})),
    "cuda": json_values, "nvml_error": json_values, "cuda_error": json_values})
override_flags = st.sampled_from(["torch_version", "cuda_version", "python_version",
                                  "platform"])
cli_flags = st.one_of(st.none(), st.tuples(st.sampled_from(
    ["--python-version", "--torch-version", "--cuda-version", "--platform", "--cxx11abi"]),
    texts.filter(lambda t: not t.startswith("-") and "\x00" not in t)))

FUZZ_TARGETS: list[tuple[str, Any, Callable[..., None]]] = [
    ("nvidia text parsers", st.tuples(st.one_of(texts, csv_lines)), check_nvidia_text),
    ("nvidia NVML/libcuda JSON", st.tuples(nvml_docs), check_nvml_json),
    ("CUDA_VISIBLE_DEVICES", st.tuples(texts, st.lists(json_values, max_size=3)),
     check_visible_devices),
    ("version/fact text", st.tuples(texts), check_fact_text),
    ("override flags", st.tuples(override_flags, texts), check_overrides),
    ("--env loader", st.tuples(env_documents()), check_env_loader),
    ("fetch-wheel --env", st.tuples(st.just("fetch-wheel"), env_documents(), cli_flags),
     check_cli_with_env),
    ("explain --env", st.tuples(st.just("explain"), env_documents(), st.none()),
     check_cli_with_env),
]


@given(st.one_of(texts, csv_lines))
def test_nvidia_text_parsers(text: str) -> None:
    check_nvidia_text(text)


@given(nvml_docs)
def test_nvml_json(doc: Any) -> None:
    check_nvml_json(doc)


@given(texts, st.lists(json_values, max_size=3))
def test_cuda_visible_devices(value: str, uuids: list[Any]) -> None:
    check_visible_devices(value, uuids)


@given(texts)
def test_version_and_fact_text(text: str) -> None:
    check_fact_text(text)


@given(override_flags, texts)
def test_override_flags(flag: str, value: str) -> None:
    check_overrides(flag, value)


@given(env_documents())
def test_env_loader(doc: Any) -> None:
    check_env_loader(doc)


# A whole command per example: a quarter of the profile's examples.
_CLI = settings(max_examples=max(10, settings.default.max_examples // 4))


@_CLI
@given(env_documents(), cli_flags)
def test_fetch_wheel_body_with_env(doc: Any, flag: Any) -> None:
    check_cli_with_env("fetch-wheel", doc, flag)


@_CLI
@given(env_documents())
def test_explain_body_with_env(doc: Any) -> None:
    check_cli_with_env("explain", doc, None)
