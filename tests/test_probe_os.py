"""OS probe: distro, glibc, GLIBCXX from the libstdc++ bytes, WSL and container detection."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest
from fake_runner import FakeRunner, done, fixture

from mamba_doctor.probe.os import (
    detect_container,
    detect_wsl,
    find_libstdcxx,
    parse_glibc_version,
    parse_glibcxx,
    parse_ldconfig_libstdcxx,
    parse_os_release,
    probe_glibcxx,
    probe_os,
)


def test_parse_os_release() -> None:
    assert parse_os_release(fixture("os-release-ubuntu2204.txt")) == "Ubuntu 22.04.4 LTS"
    assert parse_os_release('NAME="Arch"\nVERSION="rolling"\n') == "Arch rolling"
    assert parse_os_release("") is None


@pytest.mark.parametrize(("text", "version"), [
    ("glibc 2.36", "2.36"),
    (fixture("ldd-version-ubuntu2204.txt"), "2.35"),
    (fixture("ldd-version-centos7.txt"), "2.17"),
    ("musl libc (x86_64)\nVersion 1.2.4\n", None),
    ("", None),
])
def test_parse_glibc_version(text: str, version: str | None) -> None:
    assert parse_glibc_version(text) == version


def test_parse_glibcxx_takes_the_newest_version() -> None:
    data = b"\x00GLIBCXX_3.4\x00GLIBCXX_3.4.9\x00GLIBCXX_3.4.30\x00GLIBCXX_3.4.29\x00CXXABI_1.3"
    assert parse_glibcxx(data) == "3.4.30"
    assert parse_glibcxx(b"no versions here") is None


def test_parse_ldconfig_prefers_this_arch() -> None:
    text = fixture("ldconfig-p.txt")
    assert parse_ldconfig_libstdcxx(text, arch="x86_64") == "/lib/x86_64-linux-gnu/libstdc++.so.6"
    assert parse_ldconfig_libstdcxx("nothing", arch="x86_64") is None


def test_wsl_and_container_detection() -> None:
    assert detect_wsl(fixture("proc-version-wsl2.txt"), {}) is True
    assert detect_wsl(fixture("proc-version-ubuntu.txt"), {}) is False
    assert detect_wsl(None, {"WSL_DISTRO_NAME": "Ubuntu"}) is True
    assert detect_container({"NVIDIA_PYTORCH_VERSION": "23.10"}, dockerenv=True) == \
        "ngc-pytorch 23.10"
    assert detect_container({}, dockerenv=True) == "docker"
    assert detect_container({}, containerenv=True) == "podman"
    assert detect_container({}) is None


def test_probe_os_reads_files_under_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text(fixture("os-release-ubuntu2204.txt"))
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/version").write_text(fixture("proc-version-wsl2.txt"))
    (tmp_path / ".dockerenv").write_text("")
    info = probe_os(run=FakeRunner(), environ={"NVIDIA_PYTORCH_VERSION": "24.01"}, root=tmp_path)
    if platform.system() == "Linux":
        assert info.distro == "Ubuntu 22.04.4 LTS"
        assert info.wsl is True
    assert info.container == "ngc-pytorch 24.01"


@pytest.mark.skipif(platform.system() != "Linux", reason="glibc and libstdc++ are Linux facts")
def test_real_os_probe_and_glibcxx_on_this_machine() -> None:
    info = probe_os(environ=dict(os.environ))
    assert info.system == "Linux" and info.arch == platform.machine()
    assert info.glibc == os.confstr("CS_GNU_LIBC_VERSION").split()[-1]
    path, source = find_libstdcxx(None, arch=info.arch)
    assert source == "ldconfig" and path and Path(path).exists()
    version, why = probe_glibcxx(path)
    assert why is None and version and version.startswith("3.4.")


def test_ldconfig_fallback_and_unreadable_library(tmp_path: Path) -> None:
    run = FakeRunner({("ldconfig", "-p"): done(fixture("ldconfig-p.txt"))})
    assert find_libstdcxx(None, run=run, arch="x86_64") == (
        "/lib/x86_64-linux-gnu/libstdc++.so.6", "ldconfig")
    assert find_libstdcxx("/opt/env/lib/libstdc++.so.6", run=run, arch="x86_64") == (
        "/opt/env/lib/libstdc++.so.6", "target")
    version, why = probe_glibcxx(str(tmp_path / "missing.so"))
    assert version is None and why and "cannot read" in why
    assert probe_glibcxx(None)[1] == "no libstdc++ found for the target"
