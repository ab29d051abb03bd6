"""The only module that starts subprocesses: run(argv) -> Completed, never raising for a child's
failure."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completed:
    """What a child process did. `returncode` is None when it could not start or timed out."""

    argv: tuple[str, ...]
    returncode: Optional[int]
    stdout: str
    stderr: str
    timed_out: bool = False
    start_error: Optional[str] = None  # e.g. "No such file or directory"
    duration_s: float = 0.0
    interrupted: Optional[str] = None  # the signal ("SIGINT"...) that came while shielded

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.start_error is None

    @property
    def signal_name(self) -> Optional[str]:
        """Name of the signal that killed the child (SIGSEGV...), if any."""
        if self.returncode is not None and self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return None

    def describe_failure(self) -> str:
        """One line saying why the child did not succeed (empty when it did)."""
        if self.start_error is not None:
            return f"could not start {self.argv[0]}: {self.start_error}"
        if self.timed_out:
            return f"{self.argv[0]} did not finish in time (killed after {self.duration_s:.3g} s)"
        if self.signal_name:
            return f"{self.argv[0]} crashed ({self.signal_name})"
        if self.returncode:
            return f"{self.argv[0]} exited with status {self.returncode}"
        return ""


Runner = Callable[..., Completed]


def run(
    argv: Sequence[str],
    *,
    timeout: Optional[float] = 30.0,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    input: Optional[str] = None,  # mirrors subprocess.run
    shield: bool = False,
) -> Completed:
    """Run argv (no shell) and capture text output.

    A missing program, a timeout or a crash is reported in the result, not raised: a hung
    `nvidia-smi` or a segfaulting `import torch` is a finding. On timeout the whole process
    group is killed, so grandchildren (nvcc, ninja) do not outlive it.

    Ctrl-C (KeyboardInterrupt, or errors.Terminated for SIGTERM/SIGHUP) kills the child, unless
    `shield`: then the child, which runs in its own session and so never sees the terminal's
    Ctrl-C, is left to finish (pip killed mid-install leaves a package half written, without its
    dist-info), and the result says `interrupted`; the caller decides what to do next.
    """
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    logger.debug("run: %s", " ".join(argv))
    proc = _spawn(argv, env=env, cwd=cwd, stdin=subprocess.PIPE if input is not None else None,
                  stderr=subprocess.PIPE)
    if isinstance(proc, Completed):
        return proc
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        duration = time.monotonic() - start
        logger.debug("run: %s timed out after %.1f s", argv[0], duration)
        return Completed(argv, None, out or "", err or "", timed_out=True, duration_s=duration)
    except KeyboardInterrupt as exc:
        if not shield:
            _kill_group(proc)  # Ctrl-C: do not leave the child behind
            raise
        return _finish_shielded(proc, argv, exc, start=start, timeout=timeout)
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        _untrack(proc)
    duration = time.monotonic() - start
    logger.debug("run: %s -> %s in %.2f s", argv[0], proc.returncode, duration)
    return Completed(argv, proc.returncode, out or "", err or "", duration_s=duration)


def _finish_shielded(proc: subprocess.Popen[str], argv: tuple[str, ...],
                     first: KeyboardInterrupt, *, start: float,
                     timeout: Optional[float]) -> Completed:
    """Wait for a shielded child after an interrupt; further interrupts are noted, not passed."""
    from mamba_doctor.errors import Terminated

    which = signal.Signals(first.signum).name if isinstance(first, Terminated) else "SIGINT"
    logger.warning("interrupted (%s): letting %s finish first, so that nothing is left half "
                   "installed", which, os.path.basename(argv[0]))
    deadline = None if timeout is None else start + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            out, err = proc.communicate(timeout=left)
            break
        except KeyboardInterrupt:
            logger.warning("still waiting for %s to finish", os.path.basename(argv[0]))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            return Completed(argv, None, out or "", err or "", timed_out=True,
                             duration_s=time.monotonic() - start, interrupted=which)
    return Completed(argv, proc.returncode, out or "", err or "",
                     duration_s=time.monotonic() - start, interrupted=which)


def _spawn(
    argv: tuple[str, ...],
    *,
    env: Optional[Mapping[str, str]],
    cwd: Optional[str],
    stdin: Optional[int],
    stderr: int,
    bufsize: int = -1,
) -> subprocess.Popen[str] | Completed:
    """Start argv in its own process group (so a timeout can kill grandchildren too); a program
    that cannot start is a Completed with `start_error`, not an exception."""
    try:
        proc = subprocess.Popen(  # fixed argv, no shell
            argv,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            errors="replace",
            bufsize=bufsize,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        logger.debug("run: cannot start %s: %s", argv[0], exc)
        return Completed(argv, None, "", "", start_error=exc.strerror or str(exc))
    _track(proc)
    return proc


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(OSError):
            proc.kill()


# Every child running now, started by any thread (the probes run in a thread pool), so that
# an interrupt ends them all, not only the one the main thread waits on.
_LIVE: dict[int, subprocess.Popen[str]] = {}
_LIVE_LOCK = threading.Lock()
_RECEIVED: list[int] = []  # the signals that interrupted this process, in order


def _track(proc: subprocess.Popen[str]) -> None:
    with _LIVE_LOCK:
        _LIVE[proc.pid] = proc


def _untrack(proc: subprocess.Popen[str]) -> None:
    with _LIVE_LOCK:
        _LIVE.pop(proc.pid, None)


def kill_children() -> int:
    """End every child this process started and is still running, with its process group
    (nvcc under ninja under pip, a smoke child holding a GPU). Returns how many."""
    with _LIVE_LOCK:
        procs = list(_LIVE.values())
    for proc in procs:
        if proc.poll() is None:
            _kill_group(proc)
    return len(procs)


def received_signal() -> Optional[int]:
    """The last signal that interrupted this process (SIGINT, SIGTERM, SIGHUP), if any."""
    return _RECEIVED[-1] if _RECEIVED else None


def _on_signal(signum: int, _frame: Any) -> None:
    from mamba_doctor.errors import Terminated

    _RECEIVED.append(signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt()
    raise Terminated(signum)


@contextlib.contextmanager
def interrupts_end_children() -> Iterator[None]:
    """Within the block, SIGTERM (a batch system's `scancel`, a job's time limit, `timeout`,
    `docker stop`) and SIGHUP (a closed terminal or SSH session) unwind the main thread as
    Ctrl-C does (errors.Terminated is a KeyboardInterrupt): `run` ends the child it waits on
    with its process group, a stage whose children run in threads ends them with
    `kill_children` (the probe), and temporary folders are removed on the way out. Without it,
    SIGTERM kills only this process: a smoke child stays behind under PID 1, still holding the
    GPU. A stage with its own cleanup (fleet's scancel) may set its own handler inside. Only the
    main thread can set handlers; elsewhere the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP")
                                                 else [])
    previous = {sig: signal.signal(sig, _on_signal) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_streaming(
    argv: Sequence[str],
    *,
    on_line: Callable[[str], None],
    timeout: Optional[float] = None,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
) -> Completed:
    """Run argv with stderr merged into stdout, handing each line to `on_line` as it arrives.

    For long children (a source build) whose progress must be shown live. Like `run`, it never
    raises for the child's failure; `stdout` holds the whole output, `stderr` is empty. The
    whole process group is killed when `timeout` seconds have passed, printing or not.
    """
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    logger.debug("run_streaming: %s", " ".join(argv))
    proc = _spawn(argv, env=env, cwd=cwd, stdin=None, stderr=subprocess.STDOUT, bufsize=1)
    if isinstance(proc, Completed):
        return proc
    lines: list[str] = []
    # A watchdog, not a check between lines: a child that hangs silently (a deadlocked nvcc)
    # prints nothing, so only a timer can end it at the deadline.
    expired = threading.Event()

    def _expire() -> None:
        expired.set()
        _kill_group(proc)

    watchdog = threading.Timer(timeout, _expire) if timeout is not None else None
    if watchdog is not None:
        watchdog.daemon = True
        watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            on_line(line.rstrip("\n"))
        proc.wait()
    except BaseException:
        _kill_group(proc)  # Ctrl-C: do not leave nvcc/ninja behind
        raise
    finally:
        _untrack(proc)
        if watchdog is not None:
            watchdog.cancel()
        if proc.stdout is not None:
            proc.stdout.close()
    duration = time.monotonic() - start
    logger.debug("run_streaming: %s -> %s in %.2f s", argv[0], proc.returncode, duration)
    if expired.is_set():
        return Completed(argv, None, "".join(lines), "", timed_out=True, duration_s=duration)
    return Completed(argv, proc.returncode, "".join(lines), "", duration_s=duration)
