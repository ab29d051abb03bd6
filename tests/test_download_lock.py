"""The per-file lock: exclusive across open files, a bounded wait, released on exit."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mamba_doctor.download.lock import file_lock
from mamba_doctor.errors import DownloadError


def test_second_holder_waits_then_gets_it(tmp_path: Path) -> None:
    lock = tmp_path / "x.whl.lock"
    order: list[str] = []
    held = threading.Event()

    def holder() -> None:
        with file_lock(lock):
            held.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    with file_lock(lock, timeout=5):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


def test_wait_is_bounded(tmp_path: Path) -> None:
    lock = tmp_path / "x.whl.lock"
    with file_lock(lock), pytest.raises(DownloadError, match="timed out waiting"):  # noqa: SIM117  # py3.9
        with file_lock(lock, timeout=0.2):
            pass  # pragma: no cover
    with file_lock(lock, timeout=0.2):  # released by the first block
        pass
