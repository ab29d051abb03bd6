"""The only place that phrases a shell command for the user: complete, copy-pasteable, every
value from the facts validated and quoted.

Values come from other machines (an --env file, a log) as often as from the probe, so none
reaches a command unchecked: control characters are stripped, versions must parse, CUDA
variants and architectures must look like what they are, and everything is `shlex.quote`d.
A value that fails its check is left out of the command, never pasted in raw.
"""

from __future__ import annotations

import re
import shlex
from typing import Optional, Sequence

from packaging.version import InvalidVersion, Version

from mamba_doctor.knowledge.cuda_tables import TORCH_INDEX

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_VARIANT = re.compile(r"cu\d{3}")
_PACKAGES = {"mamba_ssm", "causal_conv1d"}


class Unsafe(ValueError):
    """A value that cannot be put into a command."""


class Constant(str):
    """Text this module built from constants only (a path under ~ that must stay unquoted for
    the shell to expand it): passed through as is."""


def clean(value: object) -> str:
    """`value` as text without control characters (a newline would end the command early)."""
    return _CONTROL.sub("", str(value)).strip()


def quote(value: object) -> str:
    """One shell word. Raises Unsafe for an empty value."""
    if isinstance(value, Constant):
        return str(value)
    text = clean(value)
    if not text:
        raise Unsafe("empty value")
    return shlex.quote(text)


def interpreter(python: Optional[str]) -> str:
    """The target's interpreter as the first word of a command; `python` when its path is not
    known (a hand-written --env file): then the command is for that environment's shell."""
    if isinstance(python, Constant):
        return str(python)
    text = clean(python or "")
    return shlex.quote(text) if text else "python"


def version(value: object) -> str:
    """A PEP 440 version, normalised. Raises Unsafe for anything else."""
    try:
        return str(Version(clean(value)))
    except InvalidVersion:
        raise Unsafe(f"not a version: {clean(value)!r}") from None


def variant(value: str) -> str:
    """A CUDA variant of the torch wheels ("cu128"). Raises Unsafe for anything else."""
    text = clean(value)
    if not _VARIANT.fullmatch(text):
        raise Unsafe(f"not a CUDA variant: {text!r}")
    return text


def arch_list(sms: Sequence[int]) -> str:
    """`--arch` value: "8.6,9.0" for sm_86 and sm_90."""
    if not sms or any(not isinstance(s, int) or not 10 <= s < 1000 for s in sms):
        raise Unsafe(f"not GPU architectures: {sms!r}")
    return ",".join(f"{s // 10}.{s % 10}" for s in sorted(set(sms)))


def pip_install(python: Optional[str], *requirements: str, index_url: Optional[str] = None,
                flags: Sequence[str] = ()) -> str:
    """`<target python> -m pip install ...`: never a bare `pip`, which may belong to another
    environment than the one the doctor looked at."""
    words = [interpreter(python), "-m", "pip", "install", *flags,
             *(quote(r) for r in requirements)]
    if index_url:
        words += ["--index-url", quote(index_url)]
    return " ".join(words)


def torch_install(python: Optional[str], spec: str, cuda_variant: str) -> str:
    """Install torch `spec` ("2.4.1", or "2.10.*" for a release line) in `cuda_variant`."""
    base = spec[:-2] if spec.endswith(".*") else spec
    pin = f"torch=={version(base)}" + (".*" if spec.endswith(".*") else "")
    return pip_install(python, pin, index_url=f"{TORCH_INDEX}/{variant(cuda_variant)}")


def doctor(verb: str, python: Optional[str], *args: str) -> str:
    """`mamba-doctor <verb> --python <target> ...` (args are the doctor's own flags, already
    validated by the caller through the helpers above)."""
    words = ["mamba-doctor", verb]
    if python:
        words += ["--python", quote(python)]
    return " ".join([*words, *args])


def install(python: Optional[str], *, mamba_version: Optional[str] = None,
            from_source: bool = False, sms: Sequence[int] = (),
            causal_conv1d: bool = True) -> str:
    """`mamba-doctor install`, optionally pinned and/or built from source for `sms`."""
    args: list[str] = []
    if mamba_version:
        args += ["--version", quote(version(mamba_version))]
    if not causal_conv1d:
        args.append("--no-causal-conv1d")
    if from_source:
        args.append("--from-source")
        if sms:
            args += ["--arch", arch_list(sms)]
    return doctor("install", python, *args)


def fetch_wheel(python: Optional[str], package: str, *, release: Optional[str] = None) -> str:
    if package not in _PACKAGES:
        raise Unsafe(f"not a package the doctor fetches: {package!r}")
    args = ["--package", package]
    if release:
        args += ["--version", quote(version(release))]
    return doctor("fetch-wheel", python, *args)


def reproduce(python: Optional[str], module: str) -> str:
    """Run the failing import in the target and hand its error to `mamba-doctor explain`."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", module):
        raise Unsafe(f"not a module name: {module!r}")
    if module == "torch.cuda":  # the import works, the CUDA initialisation fails
        code = "import torch; torch.cuda.init()"
    else:
        code = "import torch" if module == "torch" else f"import torch, {module}"
    return f"{interpreter(python)} -c {quote(code)} 2>&1 | " + doctor("explain", python)


def new_venv(python_minor: str) -> tuple[str, Constant]:
    """(the command creating a fresh venv with Python `python_minor`, its interpreter path).

    The path is a constant under ~ (unquoted, so the shell expands the tilde)."""
    minor = version(python_minor)
    if not re.fullmatch(r"3\.\d{1,2}", minor):
        raise Unsafe(f"not a Python minor: {minor!r}")
    folder = f"~/.venvs/mamba-py{minor.replace('.', '')}"
    return f"python{minor} -m venv {folder}", Constant(f"{folder}/bin/python")
