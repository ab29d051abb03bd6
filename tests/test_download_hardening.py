"""Malformed and hostile input to the downloader: wheels, sidecars, digest records, 416s."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import pytest
from httpserver import Fault, FaultyServer
from wheelmaker import wheel_bytes, wheel_name

from mamba_doctor.download.fetch import FetchRequest, fetch_files
from mamba_doctor.download.integrity import verify_wheel_file
from mamba_doctor.download.partial import load_state, sidecar_path
from mamba_doctor.errors import DownloadError

NAME = wheel_name()
BODY = wheel_bytes(payload_size=300_000, seed=b"hardening")


def _fetch(cache: Path, url: str, **kw: object) -> object:
    kw.setdefault("allow_http", True)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("retries", 2)
    return fetch_files([FetchRequest("demo_pkg", NAME, url)], cache_dir=cache, **kw)[0]


def _without(data: bytes, suffix: str) -> bytes:
    """The wheel rebuilt without the member ending in `suffix`, and without its RECORD line
    (so RECORD is consistent and only the missing file itself is wrong)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("RECORD"):
                body = b"".join(line for line in body.splitlines(keepends=True)
                                if not line.split(b",")[0].endswith(suffix.encode()))
            if not info.filename.endswith(suffix):
                dst.writestr(info, body)
    return out.getvalue()


def _patch_headers(data: bytes, *, flag: int = 0, method: int | None = None) -> bytes:
    """Set general-purpose flag bits and/or the compression method of every member, in both
    the local headers and the central directory (what a hostile or broken zip writer does)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    for info in infos:
        local = info.header_offset
        struct.pack_into("<H", out, local + 6, struct.unpack_from("<H", out, local + 6)[0] | flag)
        if method is not None:
            struct.pack_into("<H", out, local + 8, method)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        struct.pack_into("<H", out, pos + 8, struct.unpack_from("<H", out, pos + 8)[0] | flag)
        if method is not None:
            struct.pack_into("<H", out, pos + 10, method)
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


MALFORMED = {
    "no-metadata": _without(BODY, ".dist-info/METADATA"),
    "no-wheel": _without(BODY, ".dist-info/WHEEL"),
    "encrypted-member": _patch_headers(BODY, flag=0x1),
    "unknown-compression": _patch_headers(BODY, method=99),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_wheel_is_a_download_error_not_a_crash(tmp_path: Path, kind: str) -> None:
    path = tmp_path / NAME
    path.write_bytes(MALFORMED[kind])
    with pytest.raises(DownloadError):
        verify_wheel_file(path)


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_download_discards_the_part_and_the_next_run_is_not_stuck(
        server: FaultyServer, tmp_path: Path, kind: str) -> None:
    cache = tmp_path / "c"
    url = server.add(f"/f/{NAME}", MALFORMED[kind])
    with pytest.raises(DownloadError, match="could not download") as info:
        _fetch(cache, url)
    assert info.value.exit_code == 5
    assert not (cache / "wheels" / f"{NAME}.part").exists()
    server.resources[f"/f/{NAME}"].body = BODY  # the server is fixed: the next run just works
    assert _fetch(cache, url).path.read_bytes() == BODY


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_wheel_in_find_links_is_ignored_with_a_note(
        server: FaultyServer, tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "links"
    folder.mkdir()
    (folder / NAME).write_bytes(MALFORMED[kind])
    url = server.add(f"/f/{NAME}", BODY)
    result = _fetch(tmp_path / "c", url, find_links=[folder])
    assert result.url == url and result.path.read_bytes() == BODY
    assert any("ignoring" in r.getMessage() and "--find-links" in r.getMessage()
               for r in caplog.records)


def _zip_with(name: str, data: bytes = b"x", *, symlink: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(BODY)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (0o120777 << 16)
        dst.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize(("member", "symlink", "why"), [
    ("../../evil.py", False, "outside the install folder"),
    ("demo_pkg/../../evil.py", False, "outside the install folder"),
    ("/etc/evil.py", False, "outside the install folder"),
    ("demo_pkg/link", True, "symbolic link"),
])
def test_unsafe_members_are_refused(tmp_path: Path, member: str, symlink: bool, why: str) -> None:
    path = tmp_path / NAME
    path.write_bytes(_zip_with(member, b"/etc/passwd" if symlink else b"print('pwned')\n",
                               symlink=symlink))
    with pytest.raises(DownloadError, match=why):
        verify_wheel_file(path)


def test_member_inflating_past_its_record_size_is_refused(tmp_path: Path) -> None:
    # RECORD and the zip header say 10 bytes; the deflated stream inflates to 50 MB.
    import base64
    import hashlib

    bomb = bytes(50 << 20)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(BODY)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("RECORD"):
                digest = base64.urlsafe_b64encode(hashlib.sha256(bomb).digest()).rstrip(b"=")
                data += b"demo_pkg/bomb.bin,sha256=" + digest + b",10\n"
            dst.writestr(info, data)
        dst.writestr(zipfile.ZipInfo("demo_pkg/bomb.bin"), bomb, zipfile.ZIP_DEFLATED)
    path = tmp_path / NAME
    path.write_bytes(out.getvalue())
    with pytest.raises(DownloadError, match="inflates past the 10 bytes"):
        verify_wheel_file(path)


@pytest.mark.parametrize("sidecar", [
    {"url": "U", "validator": 123, "size": None, "resumable": True},
    {"url": "U", "validator": '"v1"', "size": "300", "resumable": True},
    {"url": "U", "validator": '"v1"', "size": 10, "resumable": "yes"},
    {"url": "U", "validator": '"v1"\r\nX-Evil: 1', "size": 10, "resumable": True},
    {"url": ["U"], "validator": None, "size": None, "resumable": True},
    ["not", "an", "object"],
])
def test_wrong_typed_sidecar_starts_over_instead_of_blocking(
        server: FaultyServer, tmp_path: Path, sidecar: object) -> None:
    cache = tmp_path / "c"
    url = server.add(f"/f/{NAME}", BODY)
    part = cache / "wheels" / f"{NAME}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(BODY[:1000])
    text = json.dumps(sidecar).replace('"U"', json.dumps(url))
    sidecar_path(part).write_text(text)
    assert load_state(part) is None
    result = _fetch(cache, url)
    assert result.path.read_bytes() == BODY and result.resumed_from == 0
    assert "If-Range" not in server.hits[0].headers


def test_sidecar_that_is_a_directory_is_replaced(server: FaultyServer, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    url = server.add(f"/f/{NAME}", BODY)
    part = cache / "wheels" / f"{NAME}.part"
    (sidecar_path(part) / "inside").mkdir(parents=True)
    part.mkdir()  # and the .part itself a folder too
    assert _fetch(cache, url).path.read_bytes() == BODY
    assert not sidecar_path(part).exists() and not part.exists()


@pytest.mark.parametrize("entry", ["abc", 42, ["x"], {"sha256": 7, "url": []}, None])
def test_wrong_typed_digest_entry_is_no_record(server: FaultyServer, tmp_path: Path,
                                               entry: object) -> None:
    cache = tmp_path / "c"
    url = server.add(f"/f/{NAME}", BODY)
    _fetch(cache, url)
    digests = cache / "wheels" / "digests.json"
    digests.write_text(json.dumps({NAME: entry}))
    again = _fetch(cache, url)  # the cached file proves itself again (RECORD), no crash
    assert again.from_cache and again.path.read_bytes() == BODY
    assert json.loads(digests.read_text())[NAME]["sha256"] == again.sha256


def test_416_every_time_is_reported_as_416(server: FaultyServer, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(status=416, headers={
        "Content-Range": f"bytes */{len(BODY)}"})] * 10)
    part = cache / "wheels" / f"{NAME}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(BODY[:5000])
    with pytest.raises(DownloadError, match="416 Range Not Satisfiable") as info:
        _fetch(cache, url)
    assert "gave up" not in info.value.message or "416" in info.value.message
    assert f"the server has {len(BODY)} bytes" in info.value.message
