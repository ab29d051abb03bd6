"""The target interpreter as one object: which one it is, how it was chosen, how to run commands in
it, and what the probe found there (pipx's `Venv` plays the same part).

Every stage that acts on the target (install's pip calls, a source build, the smoke test) takes a
`Target`; none of them re-reads what the probe already knows (Python, pip, PEP 668, torch).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from mamba_doctor import _run
from mamba_doctor._run import Completed, Runner
from mamba_doctor.errors import InstallFailed, UsageError
from mamba_doctor.models import Environment

logger = logging.getLogger(__name__)

StreamingRunner = Callable[..., Completed]

# How the target was chosen (Target.origin).
FLAG = "--python"
VIRTUAL_ENV = "$VIRTUAL_ENV"
CONDA_PREFIX = "$CONDA_PREFIX"
OWN = "the doctor's own interpreter"
PATH_PYTHON = "python on PATH"
ENV_FILE = "--env"
# Files the tool installers leave in the venv they make for one application (pipx's metadata,
# uv's receipt): a venv holding them is mamba-doctor's own, never the user's research env.
TOOL_ENV_MARKERS = ("pipx_metadata.json", "uv-receipt.toml")

# Runs in the target (Python 3.8+, stdlib only): installed versions of the named distributions.
VERSIONS_SNIPPET = r'''
import json, sys
try:
    from importlib import metadata
except ImportError:
    metadata = None
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = metadata.version(name) if metadata else None
    except Exception:
        out[name] = None
print(json.dumps(out))
'''


@dataclass(frozen=True)
class Target:
    """The interpreter the doctor works on.

    `python` is its path (on another machine when `origin` is "--env"), `env` what the probe
    found (empty until probed), `run` / `run_streaming` the subprocess seam used for every child
    started in it, so a test hands one object to a whole pipeline.
    """

    python: str
    origin: str = FLAG
    env: Environment = field(default_factory=Environment)
    run: Runner = field(default=_run.run, compare=False, repr=False)
    run_streaming: StreamingRunner = field(default=_run.run_streaming, compare=False, repr=False)

    @property
    def local(self) -> bool:
        """An interpreter on this machine (not one described by an --env file)."""
        return self.origin != ENV_FILE

    @property
    def is_own(self) -> bool:
        """The interpreter running the doctor itself, chosen because nothing else was named."""
        return self.origin == OWN

    @property
    def has_facts(self) -> bool:
        """Probed, or described by an --env file."""
        return self.env != Environment()

    @property
    def pip_version(self) -> Optional[str]:
        return self.env.python.pip_version

    @property
    def externally_managed(self) -> bool:
        """PEP 668: an OS-managed interpreter outside any venv (the probe read the marker)."""
        return bool(self.env.python.externally_managed)

    @property
    def torch_version(self) -> Optional[str]:
        """torch's distribution version (what a pin must name), else the imported one."""
        dist = self.env.packages.get("torch")
        return (dist.version if dist is not None else None) or self.env.torch.version

    @classmethod
    def described(cls, env: Environment) -> Target:
        """A target known only from its facts (an --env file): its interpreter path, if the
        facts name one, belongs to that machine."""
        return cls(env.python.executable or "python", ENV_FILE, env)

    def with_env(self, env: Environment) -> Target:
        return replace(self, env=env)

    def known_versions(self, names: Sequence[str]) -> dict[str, Optional[str]]:
        """Versions the probe already holds for `names` (missing names are left out)."""
        out: dict[str, Optional[str]] = {}
        for name in names:
            key = name.lower().replace("-", "_")
            info = self.env.packages.get(key)
            if key == "torch":
                out[name] = self.torch_version
            elif info is not None:
                out[name] = info.version
        return out

    def installed(self, names: Sequence[str], *, timeout: float = 120.0
                  ) -> dict[str, Optional[str]]:
        """Installed versions of `names` now (None: not installed): a fresh read, for use around
        an install that changes them. Raises InstallFailed (only install asks) when the target
        cannot answer."""
        if not names:
            return {}
        done = self.run([self.python, "-c", VERSIONS_SNIPPET, *names], timeout=timeout)
        try:
            doc = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            doc = None
        if not isinstance(doc, dict):
            raise InstallFailed(f"cannot read the installed versions in {self.python}: "
                             f"{done.describe_failure() or 'no output'}",
                             data={"stderr": done.stderr[-2000:]})
        return {name: doc.get(name) for name in names}


def choose_target(explicit: Optional[str], *, environ: Optional[Mapping[str, str]] = None,
                  own_prefix: Optional[str] = None, base_prefix: Optional[str] = None
                  ) -> Target:
    """The target, not yet probed: --python (an interpreter or an environment directory), else
    the active virtualenv ($VIRTUAL_ENV), then the active conda env ($CONDA_PREFIX), then the
    interpreter running the doctor, unless that one lives in an environment of its own (pipx,
    uv tool, a venv without torch): then `python3`/`python` on PATH. Raises UsageError when a
    named path is not there or cannot be executed; whether it really is Python is found out by
    the probe that runs it. `own_prefix`/`base_prefix` stand in for sys.prefix/base_prefix."""
    env = os.environ if environ is None else environ
    if explicit:
        return Target(_explicit(explicit), FLAG)
    for var, origin in (("VIRTUAL_ENV", VIRTUAL_ENV), ("CONDA_PREFIX", CONDA_PREFIX)):
        prefix = env.get(var)
        if prefix:
            found = _python_in_prefix(Path(prefix))
            if found is not None:
                return Target(str(found), origin)
            # said, not silent: the doctor's own Python rarely is the environment meant
            logger.warning("$%s is %s, which holds no Python interpreter (a deactivated or "
                           "deleted environment?); looking further", var, prefix)
    own_prefix = sys.prefix if own_prefix is None else own_prefix
    if is_tool_env(own_prefix, base_prefix=sys.base_prefix if base_prefix is None
                   else base_prefix):
        on_path = path_python(env.get("PATH", ""), outside=own_prefix)
        if on_path is not None:
            return Target(on_path, PATH_PYTHON)
    return Target(sys.executable, OWN)


def is_tool_env(prefix: str, *, base_prefix: str) -> bool:
    """Whether the doctor runs in an environment made for it alone (pipx, uv tool, or any venv
    without torch): diagnosing that one would only ever say "install torch here"."""
    if any((Path(prefix) / marker).is_file() for marker in TOOL_ENV_MARKERS):
        return True
    if prefix == base_prefix:
        return False  # a plain interpreter (or the zipapp's): the user's own Python
    import importlib.util

    return importlib.util.find_spec("torch") is None


def path_python(path: str, *, outside: str) -> Optional[str]:
    """The first `python3`, else `python`, on PATH that is not inside the environment `outside`
    (the tool's own bin/ may well come first on PATH)."""
    own = (os.path.abspath(outside) + os.sep, os.path.realpath(outside) + os.sep)
    for name in ("python3", "python"):
        for folder in filter(None, path.split(os.pathsep)):
            found = os.path.join(folder, name)
            if not (os.path.isfile(found) and os.access(found, os.X_OK)):
                continue
            if os.path.abspath(found).startswith(own[0]) or \
                    os.path.realpath(folder).startswith(own[1]):
                continue
            return found
    return None


def origin_text(target: Target, *, own_prefix: Optional[str] = None) -> str:
    """Why this interpreter is the target, in one sentence."""
    prefix = sys.prefix if own_prefix is None else own_prefix
    return {
        FLAG: "given with --python",
        VIRTUAL_ENV: "the active virtualenv ($VIRTUAL_ENV)",
        CONDA_PREFIX: "the active conda environment ($CONDA_PREFIX)",
        ENV_FILE: "the machine described by --env",
        PATH_PYTHON: f"no environment is active, so the python on PATH; mamba-doctor's own "
                     f"environment ({prefix}) is not the one to check",
        OWN: "no environment is active and no other python on PATH: the interpreter "
             "mamba-doctor runs on",
    }.get(target.origin, target.origin)


def _explicit(explicit: str) -> str:
    """The interpreter --python names, as an absolute path: resolved once, against the working
    directory, so that a child started elsewhere (smoke runs in a temporary folder) finds it.
    Symlinks are kept: venv/bin/python is a link whose own path is what makes it the venv's."""
    path = Path(os.path.abspath(Path(explicit).expanduser()))
    if path.is_dir():
        found = _python_in_prefix(path)
        if found is None:
            raise UsageError(
                f"--python {explicit}: no Python interpreter in this directory",
                hint="Give the interpreter itself, e.g. --python /path/to/env/bin/python.",
            )
        return os.path.abspath(found)
    if not path.exists():
        raise UsageError(
            f"--python {explicit}: no such file",
            hint="Give the interpreter of the environment to work on, e.g. "
            "--python ~/miniconda3/envs/mamba/bin/python.",
        )
    if not os.access(path, os.X_OK):
        raise UsageError(f"--python {explicit}: not executable")
    # absolute, so that a printed command works from any directory; not resolved, since a
    # venv's python is a symlink whose target is another environment
    return os.path.abspath(path)


def _python_in_prefix(prefix: Path) -> Optional[Path]:
    for rel in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        candidate = prefix / rel
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None
