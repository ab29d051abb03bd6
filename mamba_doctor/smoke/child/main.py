"""The smoke test as run INSIDE the target interpreter; prints one JSON line (stdlib + torch only).

Python 3.8+. The parent copies this file and the block modules into a temporary package, so the
target needs neither mamba-doctor nor its dependencies. Progress goes to stderr as
`smoke-stage: NAME` lines, so that a crash (SIGSEGV in a kernel) can be located by the parent.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List, Optional

from .report import Report, package_version, stage

REF_LABEL = ("reference path only (pure-PyTorch MambaRef): this run does NOT test the mamba_ssm "
             "CUDA kernels")


def main(argv: List[str]) -> int:
    opts = json.loads(argv[0]) if argv else {}
    rep = Report(opts)
    stage("import torch")
    try:
        import torch
    except BaseException as exc:  # a broken torch can raise anything, even SystemExit
        rep.error("import torch", exc)
        rep.check("import torch", "fail", "torch cannot be imported in this interpreter")
        rep.emit()
        return 0
    try:
        run(torch, opts, rep)
    except Exception as exc:
        rep.check("smoke run", "fail", rep.error("smoke run", exc))
    rep.emit()
    return 0


def describe_environment(torch: Any, rep: Report) -> None:
    d = rep.data
    d["torch"] = torch.__version__
    d["torch_cuda"] = getattr(torch.version, "cuda", None)
    d["cuda_available"] = bool(torch.cuda.is_available())
    if d["cuda_available"]:
        d["gpu"] = torch.cuda.get_device_name(0)
        d["compute_capability"] = "%d.%d" % torch.cuda.get_device_capability(0)
    d["packages"] = {p: package_version(p) for p in ("mamba_ssm", "causal_conv1d", "triton")}


def run(torch: Any, opts: Dict[str, Any], rep: Report) -> None:
    from ...block import load_mamba_ssm
    from . import reference as checks

    describe_environment(torch, rep)
    # Exact fp32 everywhere: TF32 would make the fp32 comparisons meaningless.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    want_device = opts.get("device", "auto")
    cuda = rep.data["cuda_available"]
    if want_device == "cuda" and not cuda:
        rep.check("device", "fail", "--device cuda, but torch.cuda.is_available() is False "
                  "(torch %s, CUDA %s)" % (torch.__version__, rep.data["torch_cuda"]))
        return
    device = "cuda" if want_device == "cuda" or (want_device == "auto" and cuda) else "cpu"
    rep.data["device"] = device
    stage("load mamba_ssm")
    cls, why, fast = load_mamba_ssm()
    installed = rep.data["packages"]["mamba_ssm"] is not None
    rep.data["kernel"] = {"usable": cls is not None, "error": why, "fast_path": fast}
    backend = resolve_backend(opts.get("backend", "auto"), device, cls, why, installed, rep)
    if backend is None:
        return
    rep.data["backend"] = backend
    checks.reference_checks(torch, opts, device, rep)
    if opts.get("stress"):
        from . import stress

        stress.stress_reference_checks(torch, opts, device, rep)
    if backend == "cuda":
        from . import kernels

        rep.data["tests_cuda_kernels"] = True
        kernels.cuda_checks(torch, opts, cls, fast, rep)
        if opts.get("stress"):  # the same comparisons with trained-like weights
            kernels.cuda_checks(torch, {**opts, "weights": "stress"}, cls, fast, rep,
                                tag="stress: ")
    else:
        rep.data["label"] = REF_LABEL
        if opts.get("dtype", "float32") != "float32":
            rep.check("dtype", "skip", "--dtype %s applies to the CUDA comparison; the "
                      "reference checks run in float32" % opts["dtype"])
    if opts.get("trace"):
        stage("trace")
        rep.data["trace"] = checks.trace(torch, opts, device)


def resolve_backend(want: str, device: str, cls: Any, why: Optional[str], installed: bool,
                    rep: Report) -> Optional[str]:
    """Pick "cuda" or "ref" and record the kernel check; None when the run cannot go on."""
    if want == "ref":
        rep.check("mamba_ssm kernels", "skip", "--backend ref: kernels not exercised")
        return "ref"
    if want == "cuda" and device != "cuda":
        rep.check("mamba_ssm kernels", "fail",
                  "--backend cuda needs a CUDA device; this run is on the CPU")
        return None
    if cls is not None and device == "cuda":
        rep.check("mamba_ssm kernels", "pass", "mamba_ssm imported with its compiled kernels")
        return "cuda"
    if device == "cpu":
        reason = ("--device cpu" if rep.data.get("cuda_available") else "no CUDA device") + \
            ": mamba_ssm's kernels cannot run on the CPU"
        if cls is None and installed:
            reason += " (import: %s)" % why
        rep.check("mamba_ssm kernels", "fail" if want == "cuda" else "skip", reason)
        return "ref" if want != "cuda" else None
    if not installed:
        rep.check("mamba_ssm kernels", "fail" if want == "cuda" else "skip",
                  "mamba_ssm is not installed in this interpreter")
        return "ref" if want != "cuda" else None
    # Installed but unusable on a GPU machine: a broken install, never a silent pass.
    rep.data["errors"].append({"stage": "import mamba_ssm", "message": why or "", "traceback": []})
    rep.check("mamba_ssm kernels", "fail", "mamba_ssm CUDA path UNAVAILABLE: %s" % why)
    return "ref" if want == "auto" else None


if __name__ == "__main__":  # pragma: no cover  # the parent uses a bootstrap, see smoke.py
    sys.exit(main(sys.argv[1:]))
