"""Environment facts for diagnosis: dotted fact lookup, confirm-rule checks, fix-template values."""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections import Counter
from typing import Any, Callable, Mapping, Optional

from packaging.version import InvalidVersion, Version

from mamba_doctor.advice.commands import clean, interpreter
from mamba_doctor.knowledge.cuda_tables import cuda_tuple, pair, torch_minors, torch_variants
from mamba_doctor.models import (
    CudaToolkitInfo,
    Environment,
    GpuInfo,
    NvidiaInfo,
    OsInfo,
    PackageInfo,
    PythonInfo,
    TorchInfo,
    parse_sm,
    visible_gpus,
)

_SECTIONS: dict[str, type] = {"os": OsInfo, "nvidia": NvidiaInfo, "cuda_toolkit": CudaToolkitInfo,
                              "python": PythonInfo, "torch": TorchInfo}

_TORCH_INDEX = "https://download.pytorch.org/whl/"

# Placeholders usable in fix templates, with what is shown when the environment does not say.
PLACEHOLDERS: dict[str, str] = {
    "python": "python",
    "python_opt": "",
    "pip": "python -m pip",
    "torch_version": "<your torch version>",
    "torch_mm": "<torch major.minor>",
    "torch_cuda": "<torch's CUDA version, e.g. 12.4>",
    "torch_cuda_major": "<torch's CUDA major>",
    "torch_cuda_tag": "<cuXYZ>",
    "torch_cuda_index_url": "https://download.pytorch.org/whl/<cuXYZ>",
    "cxx11abi": "<TRUE or FALSE, as torch._C._GLIBCXX_USE_CXX11_ABI says>",
    "py_tag": "<cpXY>",
    "python_version": "<Python version>",
    "arch": "<x86_64|aarch64>",
    "gpu_name": "<GPU name>",
    "gpu_cc": "<compute capability>",
    "gpu_arch": "<sm_XY>",
    "gpu_sm": "<XY>",
    "driver_version": "<driver version>",
    "driver_cuda": "<highest CUDA the driver supports>",
    "driver_torch_index_url": "https://download.pytorch.org/whl/<cuXYZ, no newer than the driver>",
    "nvcc_version": "<nvcc version>",
    "nvcc_path": "<nvcc path>",
    "cuda_home": "/usr/local/cuda-<X.Y>",
    "cuda_visible_devices": "unset",
    "glibc": "<glibc version>",
    "libstdcxx_path": "<libstdc++ path>",
    "mamba_version": "<mamba-ssm version>",
    "causal_conv1d_version": "<causal-conv1d version>",
    "triton_version": "<triton version>",
}


def fact_is_valid(path: str) -> bool:
    """Whether `path` names a fact of `Environment` ("torch.cxx11abi", "nvidia.gpus[].name"...)."""
    head, _, rest = path.partition(".")
    if head == "packages":
        name, _, field = rest.partition(".")
        return bool(name) and field in {f.name for f in dataclasses.fields(PackageInfo)}
    if head == "nvidia" and rest.startswith("gpus[]."):
        return rest[len("gpus[]."):] in {f.name for f in dataclasses.fields(GpuInfo)}
    cls = _SECTIONS.get(head)
    return cls is not None and rest in {f.name for f in dataclasses.fields(cls)}


def package(env: Environment, name: str) -> Optional[PackageInfo]:
    """An installed-package record, whatever spelling the probe used for its name."""
    want = _norm(name)
    for key, info in env.packages.items():
        if _norm(key) == want:
            return info
    return None


def fact_values(env: Environment, path: str) -> list[Any]:
    """Known values of a fact (empty when unknown); GPU facts give one value per GPU."""
    head, _, rest = path.partition(".")
    if head == "packages":
        name, _, field = rest.partition(".")
        info = package(env, name)
        values = [getattr(info, field, None)] if info is not None else []
    elif head == "nvidia" and rest.startswith("gpus[]."):
        field = rest[len("gpus[]."):]
        values = [getattr(g, field, None) for g in env.nvidia.gpus]
        if field == "compute_capability" and not any(values):
            values = list(env.torch.capabilities)  # torch saw the GPUs even if nvidia-smi did not
    else:
        section = getattr(env, head, None)
        values = [getattr(section, rest, None)] if section is not None else []
    out: list[Any] = []
    for v in values:
        if isinstance(v, (tuple, list)):
            out.extend(x for x in v if x not in (None, ""))
        elif v is not None:
            out.append(v)
    return out


def check_rule(env: Environment, fact: str, op: str, value: Any, *,
               if_known: Optional[str] = None) -> Optional[bool]:
    """Evaluate one confirm rule: True/False, or None when the facts needed are unknown."""
    if if_known is not None and not fact_values(env, if_known):
        return None
    values = fact_values(env, fact)
    if op == "missing":
        return not values if if_known is not None or values else None
    if op == "present":
        return bool(values) if values else None
    if not values:
        return None
    if op.endswith("_fact"):
        other = fact_values(env, str(value))
        if not other:
            return None
        a, b = _version(values[0]), _version(other[0])
        if a is None or b is None:
            return None
        if op == "ver_lt_fact":
            return a < b
        if op == "ver_ge_fact":
            return a >= b
        return a.major != b.major  # major_ne_fact
    test = _OPS.get(op)
    if test is None:
        return None
    results = [test(v, value) for v in values]
    known = [r for r in results if r is not None]
    return any(known) if known else None


def _eq(v: Any, want: Any) -> bool:
    return str(v).lower() == str(want).lower() if isinstance(want, str) else v == want


def _ver_cmp(v: Any, want: Any, less: bool) -> Optional[bool]:
    a, b = _version(v), _version(want)
    if a is None or b is None:
        return None
    return a < b if less else a >= b


def _sm_cmp(v: Any, lo: int, hi: int) -> Optional[bool]:
    sm = parse_sm(str(v))
    return None if sm is None else lo <= sm <= hi


_OPS: dict[str, Callable[[Any, Any], Optional[bool]]] = {
    "eq": _eq,
    "in": lambda v, want: any(_eq(v, w) for w in want),
    "contains": lambda v, want: str(want).lower() in str(v).lower(),
    "ver_lt": lambda v, want: _ver_cmp(v, want, True),
    "ver_ge": lambda v, want: _ver_cmp(v, want, False),
    "sm_lt": lambda v, want: _sm_cmp(v, 0, int(want) - 1),
    "sm_ge": lambda v, want: _sm_cmp(v, int(want), 10_000),
    "sm_between": lambda v, want: _sm_cmp(v, int(want[0]), int(want[1])),
}


def _version(value: Any) -> Optional[Version]:
    """Leading numeric release of a version-like string: "2.5.1+cu124" -> 2.5.1, "12.4" -> 12.4."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(value))
    if not match:
        return None
    try:
        return Version(match.group(1))
    except InvalidVersion:
        return None


def _norm(name: str) -> str:
    return name.lower().replace("-", "_")


def fix_values(env: Environment, *, python: Optional[str] = None) -> dict[str, str]:
    """Placeholder values known for this machine (keys of PLACEHOLDERS; unknown ones left out)."""
    out: dict[str, str] = {}
    py = python or env.python.executable
    if py:
        word = interpreter(py)  # quoted: the path may hold spaces or come from another machine
        out.update(python=word, python_opt=f" --python {word}", pip=f"{word} -m pip")
    t = env.torch
    if t.version:
        out["torch_version"] = t.version
        v = _version(t.version)
        if v is not None:
            out["torch_mm"] = f"{v.major}.{v.minor}"
    if t.cuda:
        cv = _version(t.cuda)
        out["torch_cuda"] = t.cuda
        if cv is not None:
            tag = f"cu{cv.major}{cv.minor}"
            out.update(torch_cuda_major=str(cv.major), torch_cuda_tag=tag,
                       torch_cuda_index_url=_TORCH_INDEX + tag,
                       cuda_home=f"/usr/local/cuda-{cv.major}.{cv.minor}")
    if t.cxx11abi is not None:
        out["cxx11abi"] = "TRUE" if t.cxx11abi else "FALSE"
    p = env.python
    if p.version:
        pv = _version(p.version)
        out["python_version"] = p.version
        if pv is not None:
            out["py_tag"] = f"cp{pv.major}{pv.minor}"
    if p.abi_tag:
        out["py_tag"] = p.abi_tag
    _put(out, "arch", env.os.arch)
    _put(out, "glibc", env.os.glibc)
    _put(out, "libstdcxx_path", env.os.libstdcxx_path)
    gpus = visible_gpus(env)  # the GPUs torch will use (CUDA_VISIBLE_DEVICES respected)
    if gpus:
        _put(out, "gpu_name", gpus[0].name)
        sm = gpus[0].sm
        out.update(gpu_cc=f"{sm // 10}.{sm % 10}", gpu_arch=f"sm_{sm}", gpu_sm=str(sm))
    n = env.nvidia
    _put(out, "driver_version", n.driver_version)
    _put(out, "driver_cuda", n.cuda_driver_version)
    if n.cuda_driver_version:
        driver_tag = _newest_variant_for(n.cuda_driver_version)
        if driver_tag:
            out["driver_torch_index_url"] = _TORCH_INDEX + driver_tag
    if n.cuda_visible_devices is not None:
        out["cuda_visible_devices"] = n.cuda_visible_devices or "(empty)"
    tk = env.cuda_toolkit
    _put(out, "nvcc_version", tk.nvcc_version)
    _put(out, "nvcc_path", tk.nvcc_path)
    _put(out, "cuda_home", tk.cuda_home)
    for key, name in (("mamba_version", "mamba_ssm"), ("causal_conv1d_version", "causal_conv1d"),
                      ("triton_version", "triton")):
        info = package(env, name)
        _put(out, key, info.version if info is not None else None)
    return _safe(out)


# Facts that are paths go into commands quoted; every other value must look like what it is
# (versions, tags, names), or it is left out and the generic text is shown instead.
_PATHS = ("cuda_home", "nvcc_path", "libstdcxx_path")
_PLAIN = re.compile(r"[\w.+,:() -]+")
_COMMAND_WORDS = ("python", "python_opt", "pip")


def _safe(values: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if key in _COMMAND_WORDS:
            out[key] = value
        elif key in _PATHS:
            text = clean(value)
            if text:
                out[key] = shlex.quote(text)
        elif _PLAIN.fullmatch(clean(value)):
            out[key] = clean(value)
    return out


def _put(out: dict[str, str], key: str, value: Optional[str]) -> None:
    if value:
        out[key] = str(value)


def _newest_variant_for(driver_cuda: str) -> Optional[str]:
    """The newest CUDA variant of torch this driver can run, among those more than one torch
    release was built for (cu129 was torch 2.8 only: its index is a dead end)."""
    ceiling = cuda_tuple(driver_cuda)
    if ceiling is None:
        return None
    releases = Counter(v for minor in torch_minors() for v in torch_variants(minor))
    fitting = [v for v, n in releases.items() if n > 1 and pair(v) <= ceiling]
    return max(fitting, key=pair) if fitting else None


# Placeholders whose stand-in reads naturally (a bare `python`, a pointer to fetch-wheel): a fix
# using them still counts as tailored when they are unknown.
SOFT_PLACEHOLDERS = frozenset({"python", "pip", "python_opt"})

_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


def render_template(template: str, values: Mapping[str, str]) -> tuple[str, bool]:
    """Fill {placeholders}; returns the text and whether every placeholder was known."""
    complete = True

    def sub(match: re.Match[str]) -> str:
        nonlocal complete
        key = match.group(1)
        if key in values:
            return values[key]
        if key not in PLACEHOLDERS:
            return match.group(0)  # not ours: leave literal braces alone
        if key not in SOFT_PLACEHOLDERS:
            complete = False
        return PLACEHOLDERS[key]

    return _PLACEHOLDER_RE.sub(sub, template), complete


def placeholders_in(template: str) -> set[str]:
    return set(_PLACEHOLDER_RE.findall(template))
