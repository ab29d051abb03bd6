"""The code run inside the target interpreter (Python 3.8+): one JSON line per stage, flushed."""

from __future__ import annotations

MARK = "__mamba_doctor__ "

# Stages are named on the command line so that, after a crash or a hang, the parent can run
# the stages that were not reached in a fresh child. Each stage prints a "begin" line first:
# when a stage never ends, the parent knows which one took the process down.
DISTRIBUTIONS = ("torch", "mamba_ssm", "causal_conv1d", "triton", "einops", "transformers",
                 "pip")

TARGET_SNIPPET = r'''
import json, os, sys, traceback
MARK = "__mamba_doctor__ "
DISTS = %(dists)r
def emit(obj):
    sys.stdout.write(MARK + json.dumps(obj) + "\n")
    sys.stdout.flush()
def dist_version(name):
    try:
        from importlib import metadata
    except ImportError:
        return None
    for candidate in (name, name.replace("_", "-")):
        try:
            return metadata.version(candidate)
        except Exception:
            pass
    return None
def pip_version():
    # `python -m pip` works whenever the module is importable, also without a dist-info (a pip
    # reached through a .pth file, a vendored copy): read __version__ from its file, unimported
    version = dist_version("pip")
    if version:
        return version
    try:
        import importlib.util
        spec = importlib.util.find_spec("pip")
        if spec is None or not spec.origin:
            return None
        with open(spec.origin) as fh:
            for line in fh:
                if line.startswith("__version__"):
                    return line.split("=", 1)[1].strip().strip("\"'")
    except Exception:
        pass
    return None
def all_dists():
    # every installed distribution: what `bundle` need not bring to an offline server
    try:
        from importlib import metadata
        out = {}
        for dist in metadata.distributions():
            name = dist.metadata["Name"]
            if name and name not in out:
                out[name] = dist.version
        return out
    except Exception:
        return None
def pip_tags():
    # the wheel tags pip accepts here, folded into platforms and ABIs (best first): what
    # `pip download --platform ... --abi ...` needs to fetch wheels for this interpreter elsewhere
    try:
        from pip._vendor.packaging import tags
    except Exception:
        try:
            from packaging import tags
        except Exception:
            return None
    plats, abis = [], []
    try:
        for t in tags.sys_tags():
            if t.platform not in plats:
                plats.append(t.platform)
            if t.abi not in abis:
                abis.append(t.abi)
    except Exception:
        return None
    return {"platforms": plats, "abis": abis}
def mapped_libstdcxx():
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.rstrip("\n").split(None, 5)[-1]
            if "/libstdc++.so" in path:
                return path
    return None
def stage_libs():
    # Runs last: the libstdc++ torch and the extensions loaded if they were imported, else the
    # one this interpreter's loader picks. Loading it earlier could change what they resolve.
    if not sys.platform.startswith("linux"):
        return {"libstdcxx": None}
    path = mapped_libstdcxx()
    if path is None:
        import ctypes
        ctypes.CDLL("libstdc++.so.6")
        path = mapped_libstdcxx()
    return {"libstdcxx": path}
def torch_static():
    # version.py and TorchConfig.cmake are plain files: read them without importing torch,
    # so the facts survive an import that crashes
    import re
    try:
        import importlib.util
        spec = importlib.util.find_spec("torch")
    except Exception:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = list(spec.submodule_search_locations)[0]
    out = {"version": None, "cuda": None, "hip": None, "abi_flag": None}
    try:
        with open(os.path.join(root, "version.py")) as f:
            text = f.read()
        for key, name in (("version", "__version__"), ("cuda", "cuda"), ("hip", "hip")):
            m = re.search(r"^%%s\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]" %% name, text, re.M)
            out[key] = m.group(1) if m else None
    except Exception:
        return None
    try:
        with open(os.path.join(root, "share", "cmake", "Torch", "TorchConfig.cmake")) as f:
            m = re.search(r"_GLIBCXX_USE_CXX11_ABI=(\d)", f.read())
            out["abi_flag"] = int(m.group(1)) if m else None
    except Exception:
        pass
    return out
def stage_base():
    import platform, sysconfig
    v = sys.version_info
    impl = platform.python_implementation().lower()
    abi = None
    if impl == "cpython":
        free = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
        abi = "cp%%d%%d%%s" %% (v[0], v[1], free)
    stdlib = sysconfig.get_path("stdlib") or ""
    venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix) or hasattr(sys, "real_prefix")
    marker = os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED"))
    conda = os.path.isdir(os.path.join(sys.prefix, "conda-meta"))
    return {
        "executable": sys.executable,
        "version": "%%d.%%d.%%d" %% (v[0], v[1], v[2]),
        "implementation": impl,
        "abi_tag": abi,
        "platform_tag": sysconfig.get_platform().replace("-", "_").replace(".", "_"),
        "is_venv": bool(venv),
        "conda_prefix": sys.prefix if conda else None,
        "externally_managed": bool(marker and not venv),
        "dists": dict((name, pip_version() if name == "pip" else dist_version(name))
                      for name in DISTS),
        "torch_static": torch_static(),
        "installed": all_dists(),
        "tags": pip_tags(),
    }
def stage_torch():
    import torch
    version = getattr(torch, "version", None)
    abi = getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", None)
    return {
        "version": str(torch.__version__),
        "cuda": getattr(version, "cuda", None),
        "hip": getattr(version, "hip", None),
        "cxx11abi": None if abi is None else bool(abi),
        "file": getattr(torch, "__file__", None),
    }
def stage_cuda():
    import torch
    # the compiled arch flags do not need a working driver, get_arch_list() does
    flags = getattr(torch._C, "_cuda_getArchFlags", None)
    archs = (flags() or "").split() if flags is not None else []
    available = bool(torch.cuda.is_available())
    count = int(torch.cuda.device_count()) if available else 0
    caps = []
    for i in range(count):
        major, minor = torch.cuda.get_device_capability(i)
        caps.append("%%d.%%d" %% (major, minor))
    if not archs and available:
        archs = list(torch.cuda.get_arch_list())
    return {"available": available, "device_count": count, "capabilities": caps,
            "arch_list": archs}
def stage_import(module):
    import importlib, importlib.util
    if importlib.util.find_spec(module) is None:
        return {"skipped": "not installed"}
    import torch  # extensions need libc10 loaded first, as in real use
    mod = importlib.import_module(module)
    return {"file": getattr(mod, "__file__", None)}
AUTO = "--auto" in sys.argv
torch_failed = False
skip_torch = None
for stage in [a for a in sys.argv[1:] if not a.startswith("--")]:
    emit({"begin": stage})
    if skip_torch and stage in ("torch", "cuda"):
        emit({"stage": stage, "ok": None, "skipped": skip_torch})
        continue
    if torch_failed and (stage == "cuda" or stage.startswith("import:")):
        emit({"stage": stage, "ok": None, "skipped": "torch did not import"})
        continue
    try:
        if stage == "base":
            result = stage_base()
        elif stage == "torch":
            result = stage_torch()
        elif stage == "cuda":
            result = stage_cuda()
        elif stage == "libs":
            result = stage_libs()
        else:
            result = stage_import(stage.split(":", 1)[1])
    except BaseException:
        if stage == "torch":
            torch_failed = True
        emit({"stage": stage, "ok": False, "error": traceback.format_exc()[-4000:]})
        continue
    if stage == "base" and AUTO:
        static = result.get("torch_static") or {}
        mamba = [n for n in ("mamba_ssm", "causal_conv1d") if result["dists"].get(n)]
        if static.get("version") and not static.get("cuda") and not static.get("hip") \
                and not mamba:
            skip_torch = "cpu-only"  # nothing to learn from importing it: CUDA cannot work
    skipped = result.pop("skipped", None) if isinstance(result, dict) else None
    emit({"stage": stage, "ok": None if skipped else True, "skipped": skipped, "result": result})
''' % {"dists": DISTRIBUTIONS}  # noqa: UP031  # the snippet is full of braces
