"""Proves a wheel file is the one we asked for: sha256, or the wheel's own zip, RECORD and tags."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import lzma
import stat
import zipfile
import zlib
from email.parser import HeaderParser
from pathlib import Path
from typing import Iterable, Optional

from mamba_doctor._files import sha256_file
from mamba_doctor.errors import ChecksumMismatch, DownloadError

_CHUNK = 1 << 20
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
# RECORD entries may be unhashed only for RECORD itself and its signatures (PEP 376 / PEP 427).
_UNHASHED = ("RECORD", "RECORD.jws", "RECORD.p7s")
# PEP 427 forbids md5 and sha1 in RECORD; anything weaker than sha256 proves nothing.
_RECORD_ALGORITHMS = ("sha256", "sha384", "sha512")
# Everything zipfile and its decompressors raise for a malformed archive: a bad header
# (BadZipFile, ValueError), an encrypted member (RuntimeError), an unknown compression method
# (NotImplementedError), corrupt compressed data (zlib.error, lzma.LZMAError, OSError from
# bz2), a cut-off stream (EOFError), a missing member (KeyError), non-UTF-8 text
# (UnicodeDecodeError is a ValueError), csv's own Error.
_MALFORMED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, ValueError, KeyError,
              RuntimeError, NotImplementedError, OSError, csv.Error, IndexError)


class NotAWheel(DownloadError):
    """The bytes are not a wheel at all (an HTML error page, a proxy's login page...)."""

    code = "not_a_wheel"


def check_magic(head: bytes, *, source: str = "the server") -> None:
    """Reject a body that cannot be a wheel from its first bytes, before writing the rest.

    Raises NotAWheel for an HTML/text page or any non-zip start; a head shorter than 4 bytes
    passes (the final verification decides).
    """
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"{")):
        raise NotAWheel(
            f"{source} answered with a web page, not a wheel (first bytes {head[:16]!r})",
            hint="This is usually a proxy's login or error page, or a rate-limit page; try "
            "another --mirror, or download in a browser and use --find-links DIR.",
        )
    if len(head) >= 4 and not head.startswith(_ZIP_MAGIC):
        raise NotAWheel(f"{source} sent something that is not a zip archive "
                        f"(first bytes {head[:16]!r})")


def verify_wheel_file(path: Path, *, expected_filename: Optional[str] = None,
                      sha256: Optional[str] = None) -> str:
    """Verify a downloaded wheel and return its sha256 (lowercase hex).

    With `sha256` the digest alone decides (ChecksumMismatch otherwise). Without it the wheel
    must prove itself: a zip whose RECORD lists every member with a matching hash and size, a
    file name (`expected_filename`, else the path's name) whose project, version and tags match
    its METADATA and WHEEL files. Raises DownloadError (NotAWheel, ChecksumMismatch) on failure.
    """
    path = Path(path)
    name = expected_filename or path.name
    actual = sha256_file(path)
    if sha256 is not None:
        if actual != sha256.strip().lower():
            raise ChecksumMismatch(
                f"sha256 mismatch for {name}: expected {sha256.lower()}, got {actual}",
                hint="The file was corrupted or replaced on the way; it was not kept. Try again "
                "or another --mirror.",
                data={"expected_sha256": sha256.lower(), "actual_sha256": actual},
            )
        return actual
    with open(path, "rb") as fh:
        check_magic(fh.read(64), source=name)
    try:
        with zipfile.ZipFile(path) as zf:
            _check_members(zf, name)
            _check_record(zf, name)
            _check_metadata(zf, name)
    except DownloadError:
        raise
    except _MALFORMED as exc:
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise DownloadError(f"{name} is not a valid wheel ({why})",
                            hint="The file is truncated, corrupt or not a wheel; it was not "
                                 "kept.") from exc
    return actual


def _check_members(zf: zipfile.ZipFile, name: str) -> None:
    """Refuse member names that would land outside the install folder, and symlinks.

    pip refuses `../` and absolute names only when it installs; the doctor's own checks
    (and anything that trusts them) must not call such a wheel verified.
    """
    for info in zf.infolist():
        member = info.filename
        parts = member.replace("\\", "/").split("/")
        if (member.startswith(("/", "\\")) or ".." in parts or (len(member) > 1
                                                                and member[1] == ":")):
            raise ChecksumMismatch(f"{name}: member {member!r} would be written outside the "
                                   "install folder; refused",
                                   hint="A wheel never needs such a path: this one is broken "
                                        "or malicious.")
        if "\x00" in member:
            raise ChecksumMismatch(f"{name}: member name {member!r} holds a NUL byte; refused")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ChecksumMismatch(f"{name}: member {member!r} is a symbolic link; refused",
                                   hint="Wheels hold regular files only (PEP 427).")


def _dist_info_dir(zf: zipfile.ZipFile, name: str) -> str:
    dirs = {n.split("/", 1)[0] for n in zf.namelist() if n.split("/", 1)[0].endswith(".dist-info")}
    if len(dirs) != 1:
        raise DownloadError(f"{name}: expected one .dist-info directory, found {sorted(dirs)}")
    return dirs.pop()


def _check_record(zf: zipfile.ZipFile, name: str) -> None:
    dist_info = _dist_info_dir(zf, name)
    record_name = f"{dist_info}/RECORD"
    try:
        text = zf.read(record_name).decode("utf-8")
    except KeyError:
        raise DownloadError(f"{name}: no {record_name} in the wheel") from None
    listed: dict[str, tuple[str, str]] = {}
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        if len(row) != 3:
            raise DownloadError(f"{name}: malformed RECORD line {row!r}")
        listed[row[0]] = (row[1], row[2])
    members = [i for i in zf.infolist() if not i.is_dir()]
    for info in members:
        entry = listed.pop(info.filename, None)
        unhashed_ok = info.filename in (f"{dist_info}/{u}" for u in _UNHASHED)
        if entry is None:
            if unhashed_ok:
                continue
            raise ChecksumMismatch(f"{name}: {info.filename} is in the zip but not in RECORD")
        hash_field, size_field = entry
        if not hash_field:
            if unhashed_ok:
                continue
            raise ChecksumMismatch(f"{name}: RECORD has no hash for {info.filename}")
        _check_member(zf, info, hash_field, size_field, name)
    if listed:
        missing = sorted(listed)[:5]
        raise ChecksumMismatch(f"{name}: RECORD lists files missing from the zip: {missing}")


def _check_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, hash_field: str,
                  size_field: str, name: str) -> None:
    algorithm, _, expected = hash_field.partition("=")
    if algorithm not in _RECORD_ALGORITHMS:
        raise ChecksumMismatch(f"{name}: RECORD uses {algorithm!r} for {info.filename}")
    if size_field and not (size_field.isascii() and size_field.isdigit()
                           and len(size_field) < 19):
        raise ChecksumMismatch(f"{name}: RECORD size {size_field!r} of {info.filename} is not "
                               "a number")
    # Read no more than RECORD (or, without a size, the zip header) says: a member that
    # inflates past it is a decompression bomb, not a wheel file.
    limit = int(size_field) if size_field else info.file_size
    digest = hashlib.new(algorithm)
    size = 0
    with zf.open(info) as member:  # zipfile also checks the CRC-32 when the member ends
        for chunk in iter(lambda: member.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            if size > limit:
                raise ChecksumMismatch(f"{name}: {info.filename} inflates past the {limit} "
                                       "bytes its RECORD and zip header say")
    got = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    if got != expected.rstrip("="):
        raise ChecksumMismatch(f"{name}: {info.filename} does not match its RECORD hash "
                               "(the wheel is corrupt)")
    if size_field and int(size_field) != size:
        raise ChecksumMismatch(f"{name}: {info.filename} is {size} bytes, RECORD says {size_field}")


def _check_metadata(zf: zipfile.ZipFile, name: str) -> None:
    from packaging.tags import Tag, parse_tag
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    try:
        project, version, _build, tags = parse_wheel_filename(name)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        raise DownloadError(f"{name} is not a valid wheel file name: {exc}") from None
    dist_info = _dist_info_dir(zf, name)
    parser = HeaderParser()
    texts = {}
    for part in ("METADATA", "WHEEL"):
        try:
            texts[part] = zf.read(f"{dist_info}/{part}").decode("utf-8")
        except KeyError:
            raise DownloadError(f"{name}: no {dist_info}/{part} in the wheel") from None
    metadata = parser.parsestr(texts["METADATA"])
    wheel = parser.parsestr(texts["WHEEL"])
    meta_name = metadata.get("Name") or ""
    if canonicalize_name(meta_name) != project:
        raise DownloadError(f"{name}: the wheel's METADATA names project {meta_name!r}")
    try:
        meta_version = Version(metadata.get("Version") or "")
    except InvalidVersion:
        raise DownloadError(f"{name}: unparsable Version in METADATA") from None
    # The mamba/causal-conv1d release jobs rename the built wheel to add `+cu12torch2.6...`, so
    # METADATA may carry only the public version; a local label there must still agree.
    if meta_version.public != version.public or (
        meta_version.local is not None and meta_version.local != version.local
    ):
        raise DownloadError(f"{name}: the file name says version {version}, METADATA says "
                            f"{meta_version}")
    if not str(wheel.get("Wheel-Version", "")).startswith("1."):
        raise DownloadError(f"{name}: unsupported Wheel-Version {wheel.get('Wheel-Version')!r}")
    declared: set[Tag] = set()
    for line in _all(wheel.get_all("Tag")):
        declared |= set(parse_tag(line.strip()))
    if declared and not set(tags) <= declared:
        raise DownloadError(
            f"{name}: the file name's tags {sorted(map(str, tags))} are not the wheel's own "
            f"(WHEEL says {sorted(map(str, declared))})",
            hint="The file was renamed to pass for another platform or Python; it would not load.",
        )


def _all(values: Optional[Iterable[str]]) -> list[str]:
    return list(values or ())
