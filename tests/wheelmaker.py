"""Builds small but valid wheels (METADATA, WHEEL, RECORD with real hashes) for the tests."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import Optional


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_bytes(name: str = "demo_pkg", version: str = "1.0", *, tags: str = "py3-none-any",
                payload_size: int = 200_000, seed: Optional[bytes] = None,
                metadata_version: Optional[str] = None, wheel_tags: Optional[str] = None,
                compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The bytes of a wheel whose file name would be `<name>-<version>-<tags>.whl`.

    `metadata_version` and `wheel_tags` let a test build a wheel whose insides disagree with its
    name; the payload is random (incompressible), so sizes are predictable.
    """
    dist_info = f"{name}-{metadata_version or version.split('+')[0]}.dist-info"
    rnd = seed if seed is not None else os.urandom(16)
    payload = b"".join(hashlib.sha256(rnd + i.to_bytes(8, "big")).digest()
                       for i in range(payload_size // 32 + 1))[:payload_size]
    files = {
        f"{name}/__init__.py": b"__version__ = '%s'\n" % version.encode(),
        f"{name}/payload.bin": payload,
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\n"
                                  f"Version: {metadata_version or version.split('+')[0]}\n"
                                  ).encode(),
        f"{dist_info}/WHEEL": ("Wheel-Version: 1.0\nGenerator: wheelmaker\nRoot-Is-Purelib: "
                               f"true\nTag: {wheel_tags or tags}\n").encode(),
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    record += f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return buf.getvalue()


def wheel_name(name: str = "demo_pkg", version: str = "1.0", tags: str = "py3-none-any") -> str:
    return f"{name}-{version}-{tags}.whl"


def write_wheel(folder: Path, name: str = "demo_pkg", version: str = "1.0", **kw: object) -> Path:
    tags = str(kw.pop("tags", "py3-none-any"))
    path = Path(folder) / wheel_name(name, version, tags)
    path.write_bytes(wheel_bytes(name, version, tags=tags, **kw))  # type: ignore[arg-type]
    return path


def corrupt_member(data: bytes, member_suffix: str = "payload.bin") -> bytes:
    """Flip one byte inside a stored member's data, leaving the zip structure intact."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(member_suffix))
    # local header: 30 fixed bytes + name + extra, then the (compressed) data
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    target = offset + info.compress_size // 2
    out = bytearray(data)
    out[target] ^= 0xFF
    return bytes(out)
