"""The NVIDIA driver and GPUs: NVML / libcuda in a child, then /sys, /proc and nvidia-smi."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping, Optional

from mamba_doctor import _run
from mamba_doctor._run import Runner
from mamba_doctor.models import GpuInfo, NvidiaInfo
from mamba_doctor.probe.nvidia_parse import (
    DriverReport,
    parse_cuda_visible_devices,
    parse_nvidia_smi_csv,
    parse_nvidia_smi_header,
    parse_nvml_json,
    parse_proc_driver_version,
    parse_sys_module_version,
)

# Runs in a child so that a driver that hangs or crashes in nvmlInit/cuInit cannot take the
# doctor down, and so that cuInit state never lands in our process (conda's CUDA virtual package
# does the same: https://github.com/conda/conda/blob/main/conda/plugins/virtual_packages/cuda.py).
# libcuda is asked only when NVML could not answer. Python 3.8-compatible.
NVML_SNIPPET = r'''
import ctypes, json, sys
def load(names):
    for name in names:
        try:
            return ctypes.CDLL(name), None
        except OSError:
            pass
    return None, names[0] + " not found"
def text(buf):
    return buf.value.decode("utf-8", "replace")
def nvml():
    lib, err = load(["libnvidia-ml.so.1", "/usr/lib/wsl/lib/libnvidia-ml.so.1", "nvml.dll"])
    if lib is None:
        raise RuntimeError(err)
    def check(ret, what):
        if ret != 0:
            msg = "error %d" % ret
            try:
                lib.nvmlErrorString.restype = ctypes.c_char_p
                msg = "%s (%d)" % (lib.nvmlErrorString(ret).decode(), ret)
            except Exception:
                pass
            raise RuntimeError("%s: %s" % (what, msg))
    init = getattr(lib, "nvmlInit_v2", None) or lib.nvmlInit
    check(init(), "nvmlInit")
    try:
        buf = ctypes.create_string_buffer(96)
        check(lib.nvmlSystemGetDriverVersion(buf, 96), "nvmlSystemGetDriverVersion")
        out = {"driver": text(buf), "cuda": None, "gpus": []}
        value = ctypes.c_int()
        fn = getattr(lib, "nvmlSystemGetCudaDriverVersion_v2", None)
        fn = fn or lib.nvmlSystemGetCudaDriverVersion
        if fn(ctypes.byref(value)) == 0:
            out["cuda"] = value.value
        count = ctypes.c_uint()
        check(lib.nvmlDeviceGetCount_v2(ctypes.byref(count)), "nvmlDeviceGetCount")
        for i in range(count.value):
            gpu = {"index": i}
            out["gpus"].append(gpu)
            h = ctypes.c_void_p()
            if lib.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(h)) != 0:
                continue
            if lib.nvmlDeviceGetName(h, buf, 96) == 0:
                gpu["name"] = text(buf)
            major, minor = ctypes.c_int(), ctypes.c_int()
            cc = lib.nvmlDeviceGetCudaComputeCapability
            if cc(h, ctypes.byref(major), ctypes.byref(minor)) == 0:
                gpu["cc"] = "%d.%d" % (major.value, minor.value)
            mem = (ctypes.c_ulonglong * 3)()
            if lib.nvmlDeviceGetMemoryInfo(h, ctypes.byref(mem)) == 0:
                gpu["memory_mib"] = mem[0] // (1 << 20)
            if lib.nvmlDeviceGetUUID(h, buf, 96) == 0:
                gpu["uuid"] = text(buf)
        return out
    finally:
        lib.nvmlShutdown()
def cuda():
    lib, err = load(["libcuda.so.1", "libcuda.so", "/usr/lib/wsl/lib/libcuda.so.1", "nvcuda.dll"])
    if lib is None:
        raise RuntimeError(err)
    def check(ret, what):
        if ret != 0:
            raise RuntimeError("%s: CUresult %d" % (what, ret))
    check(lib.cuInit(0), "cuInit")
    value = ctypes.c_int()
    check(lib.cuDriverGetVersion(ctypes.byref(value)), "cuDriverGetVersion")
    out = {"driver": None, "cuda": value.value, "gpus": []}
    count = ctypes.c_int()
    check(lib.cuDeviceGetCount(ctypes.byref(count)), "cuDeviceGetCount")
    buf = ctypes.create_string_buffer(256)
    for i in range(count.value):
        gpu = {"index": i}
        out["gpus"].append(gpu)
        dev = ctypes.c_int()
        if lib.cuDeviceGet(ctypes.byref(dev), i) != 0:
            continue
        if lib.cuDeviceGetName(buf, 256, dev) == 0:
            gpu["name"] = text(buf)
        major, minor = ctypes.c_int(), ctypes.c_int()
        if lib.cuDeviceGetAttribute(ctypes.byref(major), 75, dev) == 0 and \
                lib.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev) == 0:
            gpu["cc"] = "%d.%d" % (major.value, minor.value)
        mem = ctypes.c_size_t()
        if lib.cuDeviceTotalMem_v2(ctypes.byref(mem), dev) == 0:
            gpu["memory_mib"] = mem.value // (1 << 20)
        try:  # the same "GPU-..." form nvidia-smi and CUDA_VISIBLE_DEVICES use
            raw = (ctypes.c_ubyte * 16)()
            fn = getattr(lib, "cuDeviceGetUuid_v2", None) or lib.cuDeviceGetUuid
            if fn(raw, dev) == 0:
                h = "".join("%02x" % b for b in raw)
                gpu["uuid"] = "GPU-%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
        except Exception:
            pass
    return out
result = {"nvml": None, "nvml_error": None, "cuda": None, "cuda_error": None}
try:
    result["nvml"] = nvml()
except Exception as exc:
    result["nvml_error"] = str(exc)
if result["nvml"] is None or result["nvml"].get("cuda") is None:
    try:
        result["cuda"] = cuda()
    except Exception as exc:
        result["cuda_error"] = str(exc)
sys.stdout.write(json.dumps(result) + "\n")
'''

SMI_QUERY = "index,name,compute_cap,memory.total,uuid,driver_version"
SMI_QUERY_OLD = "index,name,memory.total,uuid,driver_version"  # drivers before compute_cap


def probe_nvidia(
    *,
    run: Runner = _run.run,
    environ: Mapping[str, str],
    root: Path = Path("/"),
    timeout: float = 15.0,
    python: Optional[str] = None,
) -> NvidiaInfo:
    """Driver version, the highest CUDA it supports, and every GPU; never raises.

    `root` re-roots the /sys and /proc reads (tests). `python` runs the NVML child (default:
    this interpreter). Unknown facts are None with a reason; `sources` says who answered.
    """
    sources: dict[str, str] = {}
    reasons: dict[str, str] = {}
    tried: list[str] = []
    driver: Optional[str] = None
    cuda: Optional[str] = None
    gpus: tuple[GpuInfo, ...] = ()

    nvml, libcuda = _probe_nvml(run, environ, timeout, python or sys.executable)
    for name, rep in (("nvml", nvml), ("libcuda", libcuda)):
        if rep.error:
            tried.append(f"{name}: {rep.error}")
        if driver is None and rep.driver_version:
            driver, sources["driver_version"] = rep.driver_version, name
        if cuda is None and rep.cuda_driver_version:
            cuda, sources["cuda_driver_version"] = rep.cuda_driver_version, name
        if not gpus and rep.gpus:
            gpus, sources["gpus"] = rep.gpus, name

    for name, rel, parser in (("sysfs", "sys/module/nvidia/version", parse_sys_module_version),
                              ("procfs", "proc/driver/nvidia/version", parse_proc_driver_version)):
        text = _read(root / rel)
        found = parser(text) if text is not None else None
        if driver is None and found:
            driver, sources["driver_version"] = found, name
        elif text is None:
            tried.append(f"/{rel} absent")
        if found and driver and found != driver and "driver_mismatch" not in reasons:
            reasons["driver_mismatch"] = (
                f"kernel module {found} differs from the user-space driver {driver}: "
                "reboot after the driver upgrade")

    if not gpus or driver is None:
        smi = _probe_smi_csv(run, environ, timeout)
        if smi.error:
            tried.append(smi.error if smi.error.endswith("not found")
                         else f"nvidia-smi --query-gpu: {smi.error}")
        if not gpus and smi.gpus:
            gpus, sources["gpus"] = smi.gpus, "nvidia-smi"
        if driver is None and smi.driver_version:
            driver, sources["driver_version"] = smi.driver_version, "nvidia-smi"
        if smi.extra.get("timed_out") and driver is None and not gpus:
            # A driver that is installed but wedged (Xid errors, a GPU fallen off the bus) makes
            # nvidia-smi hang instead of failing: that is not "no driver".
            reasons["driver_unresponsive"] = (
                f"nvidia-smi did not answer within {timeout:g} s: the driver or a GPU is hung")
    if cuda is None and (driver is not None or gpus):
        head = run(["nvidia-smi"], timeout=timeout, env=environ)
        smi_driver, cuda = parse_nvidia_smi_header(head.stdout) if head.ok else (None, None)
        if cuda:
            sources["cuda_driver_version"] = "nvidia-smi"
        else:
            tried.append(f"nvidia-smi: {_why(head) if not head.ok else 'no CUDA Version line'}")
        if driver is None and smi_driver:
            driver, sources["driver_version"] = smi_driver, "nvidia-smi"

    visible_value = environ.get("CUDA_VISIBLE_DEVICES")
    gpus, note = parse_cuda_visible_devices(visible_value, gpus)
    if note:
        reasons["cuda_visible_devices"] = note
    detail = "; ".join(tried)
    if driver is None:
        reasons["driver_version"] = detail or "no source answered"
    if cuda is None:
        reasons["cuda_driver_version"] = detail or "no source answered"
    if not gpus:
        reasons["gpus"] = detail or "no source listed a GPU"
    return NvidiaInfo(driver_version=driver, cuda_driver_version=cuda, gpus=gpus,
                      cuda_visible_devices=visible_value, sources=sources, reasons=reasons)


def _probe_nvml(
    run: Runner, environ: Mapping[str, str], timeout: float, python: str
) -> tuple[DriverReport, DriverReport]:
    # An empty or invalid CUDA_VISIBLE_DEVICES makes cuInit fail: enumerate all GPUs here and
    # apply the variable ourselves (conda PR #11667).
    child_env = {k: v for k, v in environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    done = run([python, "-I", "-S", "-c", NVML_SNIPPET, "nvml"], timeout=timeout, env=child_env)
    if not done.ok:
        failure = DriverReport(error=f"probe child failed: {done.describe_failure()}")
        return failure, failure
    return parse_nvml_json(done.stdout)


def _probe_smi_csv(run: Runner, environ: Mapping[str, str], timeout: float) -> DriverReport:
    args = ["--format=csv,noheader,nounits"]
    done = run(["nvidia-smi", f"--query-gpu={SMI_QUERY}", *args], timeout=timeout, env=environ)
    if not done.ok and "compute_cap" in (done.stdout + done.stderr):
        # drivers older than ~510 do not know the compute_cap field
        done = run(["nvidia-smi", f"--query-gpu={SMI_QUERY_OLD}", *args], timeout=timeout,
                   env=environ)
        if done.ok:
            return parse_nvidia_smi_csv(done.stdout, with_compute_cap=False)
    if not done.ok:
        return DriverReport(error=_why(done), extra={"timed_out": True} if done.timed_out else {})
    return parse_nvidia_smi_csv(done.stdout)


def _why(done: _run.Completed) -> str:
    # nvidia-smi explains itself on stdout ("couldn't communicate with the NVIDIA driver")
    first = next((ln.strip() for ln in (done.stdout + "\n" + done.stderr).splitlines()
                  if ln.strip()), "")
    why = done.describe_failure()
    if done.start_error is not None:
        return f"{done.argv[0]} not found" if "No such file" in done.start_error else why
    return f"{why}: {first[:160]}" if first else why


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None
