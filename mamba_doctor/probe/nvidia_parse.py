"""Pure parsers of driver reports: NVML/libcuda JSON, nvidia-smi, /proc, CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Sequence

from mamba_doctor.models import GpuInfo

_DRIVER_RE = re.compile(r"^\d{2,4}\.\d{1,4}(?:\.\d{1,4})?$")  # 550.54.15, 570.26
# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 ..." and the open-module
# variant "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build ...".
_PROC_RE = re.compile(r"NVRM version:.*?\s(\d{2,4}\.\d{1,4}(?:\.\d{1,4})?)\s")
_SMI_DRIVER_RE = re.compile(r"Driver Version:\s*(\d+(?:\.\d+)+)")
# Newer drivers print "CUDA UMD Version:" instead of "CUDA Version:"
# (tests/fixtures/probe/README.md).
_SMI_CUDA_RE = re.compile(r"CUDA(?: UMD)? Version:\s*(\d+\.\d+)")
_NA = {"", "[n/a]", "n/a", "[not supported]", "not supported", "[unknown error]"}
# A GPU ordinal: ASCII digits, few of them ("²".isdigit() is True, int("²") fails; a
# 5000-digit string exceeds int()'s default limit).
_ORDINAL = re.compile(r"[0-9]{1,4}", re.ASCII)
_CC = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}", re.ASCII)
_MEMORY = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?", re.ASCII)
_MAX_TEXT = 256  # a GPU name or UUID longer than this is not one


@dataclass(frozen=True)
class DriverReport:
    """Facts from one source; any field may be None when that source does not know it."""

    driver_version: Optional[str] = None
    cuda_driver_version: Optional[str] = None
    gpus: tuple[GpuInfo, ...] = ()
    error: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict)


def is_driver_version(text: Any) -> bool:
    return isinstance(text, str) and bool(_DRIVER_RE.match(text.strip())) and text.isascii()


def decode_cuda_version(value: Any) -> Optional[str]:
    """NVML / cuDriverGetVersion integer -> "M.m": 12040 -> "12.4" (1000 * major + 10 * minor,
    https://docs.nvidia.com/cuda/cuda-driver-api/group__CUDA__VERSION.html)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 1_000_000:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"


def parse_sys_module_version(text: str) -> Optional[str]:
    """/sys/module/nvidia/version holds just the kernel module version."""
    value = text.strip()
    return value if is_driver_version(value) else None


def parse_proc_driver_version(text: str) -> Optional[str]:
    """Driver version from /proc/driver/nvidia/version ("NVRM version" line)."""
    match = _PROC_RE.search(text + " ")
    return match.group(1) if match else None


def parse_nvidia_smi_header(text: str) -> tuple[Optional[str], Optional[str]]:
    """(driver version, highest CUDA the driver supports) from plain `nvidia-smi` output."""
    driver = _SMI_DRIVER_RE.search(text)
    cuda = _SMI_CUDA_RE.search(text)
    return (driver.group(1) if driver else None, cuda.group(1) if cuda else None)


def parse_nvidia_smi_csv(text: str, *, with_compute_cap: bool = True) -> DriverReport:
    """Parse `nvidia-smi --query-gpu=index,name[,compute_cap],memory.total,uuid,driver_version
    --format=csv,noheader,nounits`: one line per GPU. Lines that do not parse are skipped;
    no parsable line gives a report with `error` set."""
    tail = 4 if with_compute_cap else 3  # fixed fields after the name (names may hold commas)
    gpus: list[GpuInfo] = []
    drivers: list[str] = []
    for raw in text.splitlines():
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) < tail + 2 or not _ORDINAL.fullmatch(parts[0]):
            continue
        name = ",".join(parts[1:-tail]).strip()
        rest = parts[-tail:]
        cc = _na(rest[0]) if with_compute_cap else None
        mem_text, uuid, driver = rest[-3], _na(rest[-2]), _na(rest[-1])
        if cc is not None and not _CC.fullmatch(cc):
            continue
        if driver is not None and not is_driver_version(driver):
            continue
        memory = int(float(mem_text)) if _MEMORY.fullmatch(mem_text) else None
        gpus.append(GpuInfo(index=int(parts[0]), name=_na(name), compute_capability=cc,
                            memory_mib=memory, uuid=uuid))
        if driver:
            drivers.append(driver)
    if not gpus:
        snippet = " ".join(text.split())[:120]
        return DriverReport(error=f"unrecognised nvidia-smi output: {snippet!r}")
    return DriverReport(driver_version=drivers[0] if drivers else None, gpus=tuple(gpus))


def parse_nvml_json(text: str) -> tuple[DriverReport, DriverReport]:
    """The NVML/libcuda child's JSON line -> (NVML report, libcuda report)."""
    doc: Any = None
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                doc = None
            break
    if not isinstance(doc, dict):
        bad = DriverReport(error="the NVML probe printed no result")
        return bad, bad
    return _report(doc.get("nvml"), doc.get("nvml_error")), _report(doc.get("cuda"),
                                                                     doc.get("cuda_error"))


def _report(section: Any, error: Any) -> DriverReport:
    if not isinstance(section, dict):
        return DriverReport(error=str(error) if error else "not tried")
    gpus = []
    listed = section.get("gpus")
    for i, g in enumerate(listed if isinstance(listed, list) else []):
        if not isinstance(g, dict):
            continue
        index = g.get("index", i)
        memory = g.get("memory_mib")
        cc = g.get("cc")
        gpus.append(GpuInfo(
            index=index if type(index) is int and 0 <= index < 10_000 else i,
            name=_text(g.get("name")),
            compute_capability=cc if isinstance(cc, str) and _CC.fullmatch(cc) else None,
            memory_mib=int(memory) if isinstance(memory, (int, float))
            and not isinstance(memory, bool) and 0 <= memory < 1 << 40 else None,
            uuid=_text(g.get("uuid"))))
    driver = section.get("driver")
    return DriverReport(
        driver_version=driver if is_driver_version(driver) else None,
        cuda_driver_version=decode_cuda_version(section.get("cuda")),
        gpus=tuple(gpus),
        error=str(error) if error else None,
    )


def parse_cuda_visible_devices(
    value: Optional[str], gpus: Sequence[GpuInfo]
) -> tuple[tuple[GpuInfo, ...], Optional[str]]:
    """Mark which GPUs CUDA (and so torch) will see under CUDA_VISIBLE_DEVICES.

    Follows the CUDA runtime's rules: entries are ordinals or (prefixes of) GPU UUIDs; parsing
    stops at the first invalid entry; a repeated entry hides every device; "" hides all.
    Returns the GPUs with `visible` set (None where it cannot be told, e.g. MIG entries) and a
    note when the value is invalid or unusual.
    """
    if value is None:
        return tuple(replace(g, visible=True) for g in gpus), None
    chosen: list[int] = []
    note: Optional[str] = None
    tokens = [t.strip() for t in value.split(",")] if value.strip() else []
    for token in tokens:
        if token.upper().startswith("MIG-"):
            return tuple(replace(g, visible=None) for g in gpus), (
                f"CUDA_VISIBLE_DEVICES={value!r} names MIG instances; which GPUs they belong to "
                "is not known here")
        index = _match_token(token, gpus)
        if index is None:
            note = (f"CUDA_VISIBLE_DEVICES={value!r}: entry {token!r} is not a valid GPU; CUDA "
                    "ignores it and everything after it")
            break
        if index in chosen:
            chosen = []
            note = (f"CUDA_VISIBLE_DEVICES={value!r} repeats a device, which hides every GPU")
            break
        chosen.append(index)
    if not tokens:
        note = "CUDA_VISIBLE_DEVICES is set but empty, which hides every GPU"
    marked = tuple(replace(g, visible=g.index in chosen) for g in gpus)
    if gpus and not chosen and note is None:
        note = f"CUDA_VISIBLE_DEVICES={value!r} hides every GPU"
    return marked, note


def _match_token(token: str, gpus: Sequence[GpuInfo]) -> Optional[int]:
    if token.upper().startswith("GPU-"):
        hits = [g.index for g in gpus if g.uuid and g.uuid.lower().startswith(token.lower())]
        return hits[0] if len(hits) == 1 else None
    digits = re.match(r"[0-9]+", token, re.ASCII)  # CUDA reads ordinals like strtoul: "1gpu" is 1
    if digits is None or len(digits.group(0)) > 9:
        return None
    index = int(digits.group(0))
    known = {g.index for g in gpus}
    return index if index in known else None


def _text(value: Any) -> Optional[str]:
    """A short printable string from a JSON value, else None."""
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        return None
    return "".join(c for c in value if c.isprintable()).strip() or None


def _na(value: str) -> Optional[str]:
    return None if value.strip().lower() in _NA else value.strip()
