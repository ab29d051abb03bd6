"""The wheel setup.py guessed, read against the bundled release index.

The setup.py of mamba-ssm and of causal-conv1d prints "Guessing wheel URL: <url>" and tries to
download that release asset. When the download raises, it prints "Precompiled wheel not found.
Building from source..." and compiles instead. Newer setup.py files catch
`(urllib.error.HTTPError, urllib.error.URLError)`; older ones catch only HTTPError, so a network
error ends their install with `<urlopen error ...>` instead. Either way the message means one of
two things, and the release index tells them apart:

- The guessed wheel was never published. A source build could not be avoided. When the torch in
  its name is newer than every torch the release has wheels for, no wheel exists yet.
- The guessed wheel is published. Then "not found" means the download itself failed: GitHub
  blocked, a proxy, a timeout.

Only releases the index knows are read. A newer release, an unparsable name, or an NGC torch
tells nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from mamba_doctor.diagnose.textscan import TextScan
from mamba_doctor.wheels.index import WheelIndex, label_key, load_index
from mamba_doctor.wheels.names import parse_wheel_filename

__all__ = ["NOT_FOUND", "GuessedWheel", "guessed_wheels"]

_GUESS = re.compile(rb"Guessing wheel URL:[ \t]{0,8}(https?://[^\s'\"<>]{1,400}?\.whl)")
_TAG = re.compile(r"/releases/download/(v[^/]{1,40})/")
NOT_FOUND = b"Precompiled wheel not found"
_MAX_GUESSES = 4  # mamba-ssm and causal-conv1d, each perhaps retried


@dataclass(frozen=True)
class GuessedWheel:
    line: str  # the "Guessing wheel URL" line, as evidence
    filename: str
    package: str  # "mamba_ssm" | "causal_conv1d"
    tag: str  # the release tag in the URL: "v2.0.0"
    torch: str  # the torch minor in the name: "2.5"
    published: bool  # the release index has this asset (observed or expected)
    newest_torch: Optional[str]  # the newest torch minor the release has a wheel for

    @property
    def torch_newer(self) -> bool:
        """The name's torch is newer than every torch the release was built for."""
        return self.newest_torch is not None and \
            label_key(self.torch) > label_key(self.newest_torch)


def guessed_wheels(scan: TextScan, index: Optional[WheelIndex] = None) -> list[GuessedWheel]:
    """The guessed wheels of the log that the index can judge, in log order."""
    if b"Guessing wheel URL" not in scan.data:
        return []
    index = index or load_index()
    out = []
    for m in scan.matches("Guessing wheel URL:", _GUESS, limit=_MAX_GUESSES):
        url = m.group(1).decode("utf-8", "replace")
        judged = _judge(url, index)
        if judged is not None:
            line = scan.data[m.start():m.end()].decode("utf-8", "replace").strip()
            out.append(GuessedWheel(line, *judged))
    return out


def _judge(url: str, index: WheelIndex
           ) -> Optional[tuple[str, str, str, str, bool, Optional[str]]]:
    tag = _TAG.search(url)
    try:
        tags = parse_wheel_filename(url)
        release = index.release(tags.package, tag.group(1)) if tag else None
    except (ValueError, KeyError):  # not a wheel name, or not one of our two packages
        return None
    if release is None or tags.torch is None or tags.ngc:
        return None
    available = [w for w in release.wheels if w.available and not w.ngc]
    published = any(w.filename == tags.filename for w in available)
    newest = max((w.torch for w in available), key=label_key, default=None)
    return tags.filename, tags.package, release.tag, tags.torch, published, newest

