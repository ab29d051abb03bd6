"""Pure parts of the downloader: Content-Range, request planning, backoff, mirror rules, verify."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from wheelmaker import corrupt_member, wheel_bytes, write_wheel

from mamba_doctor._files import sha256_file
from mamba_doctor.download.integrity import NotAWheel, check_magic, verify_wheel_file
from mamba_doctor.download.mirrors import candidate_urls, check_schemes, mirror_url
from mamba_doctor.download.partial import (
    ContentRange,
    PartState,
    backoff_delay,
    parse_content_range,
    plan_headers,
)
from mamba_doctor.errors import ChecksumMismatch, DownloadError, UsageError

ORIGIN = ("https://github.com/state-spaces/mamba/releases/download/v2.2.2/"
          "mamba_ssm-2.2.2+cu122torch2.3cxx11abiFALSE-cp310-cp310-linux_x86_64.whl")
FILENAME = ORIGIN.rsplit("/", 1)[1]


@pytest.mark.parametrize(("header", "expected"), [
    pytest.param("bytes 100-199/1000", ContentRange(100, 199, 1000), id="full"),
    pytest.param("bytes 0-0/1", ContentRange(0, 0, 1), id="one-byte"),
    pytest.param("bytes 5-9/*", ContentRange(5, 9, None), id="unknown-total"),
    pytest.param("bytes */1000", ContentRange(None, None, 1000), id="416-form"),
    pytest.param("BYTES 1-2/3", ContentRange(1, 2, 3), id="case"),
    pytest.param("bytes 9-5/10", None, id="end-before-start"),
    pytest.param("items 0-1/2", None, id="other-unit"),
    pytest.param("bytes 1-/10", None, id="open-end"),
    pytest.param("", None, id="empty"),
    pytest.param(None, None, id="absent"),
])
def test_parse_content_range(header: str | None, expected: ContentRange | None) -> None:
    assert parse_content_range(header) == expected


def test_plan_headers_fresh_and_resumed() -> None:
    assert plan_headers(0, None) == {"Accept-Encoding": "identity"}
    state = PartState(url="u", validator='"abc"', size=10)
    assert plan_headers(4, state) == {"Accept-Encoding": "identity", "Range": "bytes=4-",
                                      "If-Range": '"abc"'}
    assert "If-Range" not in plan_headers(4, PartState(url="u"))


def test_backoff_is_exponential_bounded_and_jittered() -> None:
    lows = [backoff_delay(n, base=1.0, cap=8.0, rng=lambda: 0.0) for n in range(1, 7)]
    highs = [backoff_delay(n, base=1.0, cap=8.0, rng=lambda: 1.0) for n in range(1, 7)]
    assert highs == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert lows == [h / 2 for h in highs]


@pytest.mark.parametrize(("mirror", "expected"), [
    pytest.param("https://ghproxy.example/", "https://ghproxy.example/" + ORIGIN, id="proxy"),
    pytest.param("https://ghproxy.example", "https://ghproxy.example/" + ORIGIN,
                 id="proxy-noslash"),
    pytest.param("http://files.lab/wheels/",
                 "http://files.lab/wheels/" + FILENAME.replace("+", "%2B"), id="directory"),
    pytest.param("http://files.lab/wheels",
                 "http://files.lab/wheels/" + FILENAME.replace("+", "%2B"), id="dir-noslash"),
    pytest.param("https://p.example/gh/{url}", "https://p.example/gh/" + ORIGIN, id="url-template"),
    pytest.param("https://f.example/{filename}?dl=1",
                 "https://f.example/" + FILENAME.replace("+", "%2B") + "?dl=1",
                 id="filename-template"),
])
def test_mirror_url_rule(mirror: str, expected: str) -> None:
    assert mirror_url(mirror, ORIGIN, FILENAME) == expected


@pytest.mark.parametrize("bad", ["ftp://x/", "files.lab/wheels", "/srv/wheels", "https://"])
def test_mirror_must_be_an_http_url(bad: str) -> None:
    with pytest.raises(UsageError, match="not an http"):
        mirror_url(bad, ORIGIN, FILENAME)


def test_candidate_order_mirrors_first_origin_last_or_where_placed() -> None:
    assert candidate_urls(ORIGIN, FILENAME) == (ORIGIN,)
    urls = candidate_urls(ORIGIN, FILENAME, ["https://a.example/", "https://b.example/x/"])
    assert urls[0].startswith("https://a.example/https://github.com/")
    assert urls[1].startswith("https://b.example/x/mamba_ssm")
    assert urls[2] == ORIGIN
    placed = candidate_urls(ORIGIN, FILENAME, ["origin", "https://a.example/", "origin"])
    assert placed == (ORIGIN, "https://a.example/" + ORIGIN)


def test_check_schemes() -> None:
    check_schemes(["https://x/y"], allow_http=False)
    check_schemes(["http://x/y"], allow_http=True)
    with pytest.raises(UsageError, match="refusing plain http"):
        check_schemes(["https://x/y", "http://lab/y"], allow_http=False)
    with pytest.raises(UsageError, match="unsupported URL scheme"):
        check_schemes(["file:///tmp/x.whl"], allow_http=True)


def test_check_magic() -> None:
    check_magic(b"PK\x03\x04rest")
    check_magic(b"PK")  # too short to judge
    for page in (b"<!DOCTYPE html><html>", b"\n  <html><body>", b"\xef\xbb\xbf<HTML>"):
        with pytest.raises(NotAWheel, match="web page"):
            check_magic(page)
    with pytest.raises(NotAWheel, match="not a zip"):
        check_magic(b"\x1f\x8b\x08\x00gzip")


def test_verify_good_wheel_returns_sha256(tmp_path: Path) -> None:
    path = write_wheel(tmp_path)
    digest = sha256_file(path)
    assert verify_wheel_file(path) == digest
    assert verify_wheel_file(path, sha256=digest.upper()) == digest


def test_verify_accepts_release_renamed_local_version(tmp_path: Path) -> None:
    # The release jobs build mamba_ssm-2.2.2 and rename the file to carry +cu122torch2.3...
    data = wheel_bytes("mamba_ssm", "2.2.2+cu122torch2.3cxx11abiFALSE",
                       tags="cp310-cp310-linux_x86_64")
    path = tmp_path / FILENAME
    path.write_bytes(data)
    assert verify_wheel_file(path) == sha256_file(path)
    part = tmp_path / "download.part"
    part.write_bytes(data)
    assert verify_wheel_file(part, expected_filename=FILENAME) == sha256_file(path)


@pytest.mark.parametrize(("kwargs", "filename", "match"), [
    pytest.param({"metadata_version": "2.0"}, "demo_pkg-1.0-py3-none-any.whl", "METADATA says",
                 id="version"),
    pytest.param({"wheel_tags": "cp311-cp311-linux_x86_64"}, "demo_pkg-1.0-py3-none-any.whl",
                 "not the wheel's own", id="tags"),
    pytest.param({}, "other_pkg-1.0-py3-none-any.whl", "names project", id="name"),
    pytest.param({}, "demo_pkg.zip", "not a valid wheel file name", id="bad-name"),
])
def test_verify_rejects_name_that_lies(tmp_path: Path, kwargs: dict, filename: str,
                                       match: str) -> None:
    path = tmp_path / filename
    path.write_bytes(wheel_bytes(**kwargs))
    with pytest.raises(DownloadError, match=match):
        verify_wheel_file(path)


def test_verify_sha256_mismatch(tmp_path: Path) -> None:
    path = write_wheel(tmp_path)
    with pytest.raises(ChecksumMismatch, match="sha256 mismatch") as info:
        verify_wheel_file(path, sha256="0" * 64)
    assert info.value.data["actual_sha256"] == sha256_file(path)


def test_verify_flipped_byte_and_truncation(tmp_path: Path) -> None:
    data = wheel_bytes(compression=zipfile.ZIP_STORED)
    bad = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    bad.write_bytes(corrupt_member(data))
    with pytest.raises(DownloadError):
        verify_wheel_file(bad)
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DownloadError, match="not a valid wheel"):
        verify_wheel_file(bad)


def _rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    """Rewrite a wheel with some members replaced (None: dropped), keeping the old RECORD."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            key = next((k for k in change if info.filename.endswith(k)), None)
            if key is None:
                dst.writestr(info.filename, src.read(info))
            elif change[key] is not None:
                dst.writestr(info.filename, change[key])
        for key, value in change.items():
            if value is not None and not any(i.filename.endswith(key) for i in src.infolist()):
                dst.writestr(key, value)
    return out.getvalue()


@pytest.mark.parametrize(("change", "match"), [
    pytest.param({"payload.bin": b"tampered"}, "does not match its RECORD hash", id="content"),
    pytest.param({"payload.bin": None}, "missing from the zip", id="dropped"),
    pytest.param({"demo_pkg/extra.py": b"import os"}, "not in RECORD", id="smuggled"),
])
def test_record_catches_a_consistent_zip_with_other_content(tmp_path: Path, change: dict,
                                                            match: str) -> None:
    path = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    path.write_bytes(_rezip(wheel_bytes(), change))
    with pytest.raises(ChecksumMismatch, match=match):
        verify_wheel_file(path)


def test_importing_the_downloader_does_not_import_requests() -> None:
    import subprocess
    import sys

    code = ("import sys, mamba_doctor.download.fetch, mamba_doctor.download.integrity; "
            "print('requests' in sys.modules, 'rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def _wheel_from(files: dict[str, bytes], record: str | None = None) -> bytes:
    """A zip of `files` plus a RECORD computed from them (or the one given)."""
    import base64
    import hashlib

    if record is None:
        record = "".join(
            f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}\n"
            for p, d in files.items()) + "demo_pkg-1.0.dist-info/RECORD,,\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for p, d in files.items():
            zf.writestr(p, d)
        zf.writestr("demo_pkg-1.0.dist-info/RECORD", record)
    return out.getvalue()


_META = b"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n"
_WHEEL = b"Wheel-Version: 1.0\nTag: py3-none-any\n"
_BASE = {"demo_pkg/__init__.py": b"", "demo_pkg-1.0.dist-info/METADATA": _META,
         "demo_pkg-1.0.dist-info/WHEEL": _WHEEL}


@pytest.mark.parametrize(("data", "match"), [
    pytest.param(_wheel_from({**_BASE, "other-1.0.dist-info/METADATA": _META}),
                 "expected one .dist-info", id="two-dist-info"),
    pytest.param(_wheel_from(_BASE, record="demo_pkg/__init__.py,sha256=x\n"),
                 "malformed RECORD line", id="record-2-fields"),
    pytest.param(_wheel_from(_BASE, record="demo_pkg/__init__.py,md5=1B2M2Y8AsgTpgAmY7PhCfg,0\n"),
                 "uses 'md5'", id="weak-hash"),
    pytest.param(_wheel_from(_BASE, record=(
        "demo_pkg/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,5\n")),
        "RECORD says 5", id="size"),
    pytest.param(_wheel_from({**_BASE, "demo_pkg-1.0.dist-info/METADATA":
                              b"Name: demo_pkg\nVersion: not a version\n"}),
                 "unparsable Version", id="bad-version"),
    pytest.param(_wheel_from({**_BASE, "demo_pkg-1.0.dist-info/WHEEL":
                              b"Wheel-Version: 2.0\nTag: py3-none-any\n"}),
                 "unsupported Wheel-Version", id="wheel-version"),
    pytest.param(_wheel_from({**_BASE, "demo_pkg/__init__.py": b"x"},
                             record="demo_pkg/__init__.py,,\n"),
                 "no hash for", id="unhashed"),
])
def test_verify_rejects_malformed_wheels(tmp_path: Path, data: bytes, match: str) -> None:
    path = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    path.write_bytes(data)
    with pytest.raises(DownloadError, match=match):
        verify_wheel_file(path)


def test_verify_needs_a_record(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for p, d in _BASE.items():
            zf.writestr(p, d)
    path = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    path.write_bytes(out.getvalue())
    with pytest.raises(DownloadError, match=r"no demo_pkg-1\.0\.dist-info/RECORD"):
        verify_wheel_file(path)


def test_verify_minimal_wheel_passes(tmp_path: Path) -> None:
    path = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    path.write_bytes(_wheel_from(_BASE))
    assert len(verify_wheel_file(path)) == 64
