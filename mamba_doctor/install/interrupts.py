"""Ctrl-C, SIGTERM and SIGHUP during `install`: which one came, and how to raise it again once
pip, which was let finish, is done. The handlers themselves are _run.interrupts_end_children's,
set by commands/_shell.py for every command."""

from __future__ import annotations

import signal

from mamba_doctor.errors import Terminated


def signal_name(exc: BaseException) -> str:
    """"Ctrl-C" for a KeyboardInterrupt, else the signal's name ("SIGTERM", "SIGHUP")."""
    if isinstance(exc, Terminated):
        return signal.Signals(exc.signum).name
    return "Ctrl-C"


def reraise(name: str) -> KeyboardInterrupt:
    """The interrupt a shielded child's `Completed.interrupted` names, to raise after it."""
    if name == "SIGINT":
        return KeyboardInterrupt()
    return Terminated(int(signal.Signals[name]))
