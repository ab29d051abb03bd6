"""Exit codes and the expected-failure hierarchy; the CLI is the only place that maps them."""

from __future__ import annotations

import enum
from typing import Any, ClassVar, Mapping, Optional


class ExitCode(enum.IntEnum):
    """Process exit codes, documented in `--help` and the README."""

    OK = 0
    ERROR = 1  # unexpected error (a bug: please report it)
    USAGE = 2  # bad flag, unreadable input file, target interpreter not found
    CHECK_FAILED = 3  # `check` found a blocking problem
    NO_WHEEL = 4  # no compatible prebuilt wheel
    DOWNLOAD_FAILED = 5
    INSTALL_FAILED = 6
    SMOKE_FAILED = 7
    HANGUP = 129  # SIGHUP: the terminal or SSH session closed (128 + 1)
    INTERRUPTED = 130  # SIGINT: Ctrl-C (128 + 2)
    TERMINATED = 143  # SIGTERM: scancel, a job's time limit, `timeout`, `docker stop` (128 + 15)


EXIT_CODE_HELP = (
    "Exit codes: 0 ok; 1 unexpected error; 2 usage error (bad flag, unreadable input, "
    "target interpreter not found); 3 check found a blocking problem; 4 no compatible wheel; "
    "5 download failed; 6 install failed; 7 smoke test failed; 130 interrupted (129 on "
    "SIGHUP, 143 on SIGTERM)."
)


class DoctorError(Exception):
    """Base for expected failures; carries everything the CLI needs to report one.

    `data` is merged into the JSON envelope's `data` so that a failure still reports what was
    learnt before it (the rejected wheels, the steps that ran, the partial download...).
    """

    code: ClassVar[str] = "doctor_error"
    exit_code: ClassVar[ExitCode] = ExitCode.ERROR

    def __init__(
        self,
        message: str,
        *,
        hint: Optional[str] = None,
        data: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.data: dict[str, Any] = dict(data or {})


class UsageError(DoctorError):
    """Bad flag value, unreadable input file, target interpreter not found."""

    code = "usage_error"
    exit_code = ExitCode.USAGE


class TargetNotReady(DoctorError):
    """The target lacks what the command needs before it can start (install: torch), a
    check-type problem: exit 3, as `check` says it, not a failed install."""

    code = "target_not_ready"
    exit_code = ExitCode.CHECK_FAILED


class NoCompatibleWheel(DoctorError):
    """No prebuilt wheel fits the environment; `data` carries rejections and alternatives."""

    code = "no_compatible_wheel"
    exit_code = ExitCode.NO_WHEEL


class DownloadError(DoctorError):
    """A download failed or produced a file that did not verify."""

    code = "download_failed"
    exit_code = ExitCode.DOWNLOAD_FAILED


class ChecksumMismatch(DownloadError):
    """The downloaded bytes do not match the expected digest."""

    code = "checksum_mismatch"


class IndexUpdateFailed(DownloadError):
    """`index update` could not read a source (network, rate limit, a malformed page); the
    previous index overlay is left as it was."""

    code = "index_update_failed"


class InstallFailed(DoctorError):
    """pip (or a source build, or the post-install verification) failed."""

    code = "install_failed"
    exit_code = ExitCode.INSTALL_FAILED


class SmokeTestFailed(DoctorError):
    """The block's smoke test failed or crashed."""

    code = "smoke_failed"
    exit_code = ExitCode.SMOKE_FAILED


class SlurmUnavailable(UsageError):
    """`fleet` cannot talk to SLURM here: no sinfo/srun, or the controller does not answer."""

    code = "slurm_unavailable"


class Interrupted(DoctorError):
    """Ctrl-C, SIGTERM or SIGHUP stopped a command that had something to report (install's way
    back); commands/_shell.py says it with the signal's own exit code (130, 143, 129)."""

    code = "interrupted"
    exit_code = ExitCode.INTERRUPTED


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that a command unwinds the same way (children
    ended, temporary folders removed); `signum` says which."""

    def __init__(self, signum: int = 15) -> None:  # 15: SIGTERM
        super().__init__(signum)
        self.signum = signum
