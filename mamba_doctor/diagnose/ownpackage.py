"""A project that cannot import itself: `No module named 'X'` where X is a folder of the
traceback's own files (outside site-packages).

Python finds a package by its folder's name on sys.path. A research repository that imports
itself by its own name (`from MambaCD.changedetection.configs import ...`) fails when it was
cloned or unpacked under another name (`MambaCD-master/`, GitHub's zip download), when the script
is launched from inside the checkout instead of its parent, or when the package was never
installed with `pip install -e .`. The traceback then names the folder the import wanted, or a
folder whose name holds the package's words in order (`yolo_world` under `Mamba-YOLO-World-main/`,
a repository named after the package it holds).
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = ["own_package_missing"]

# Undotted: "No module named 'pkg.sub'" means pkg itself was imported (Python names the first
# part that failed), so only a bare name says the project's own package is not on the path.
_NO_MODULE = re.compile(rb"No module named '([A-Za-z_]\w{0,60})'")
_TRACE_FILE = re.compile(rb'File "([^"\n]{1,400})", line \d{1,7}')
# A download or clone suffix: GitHub's zip names the folder "<repo>-<branch>".
_CHECKOUT_SUFFIX = re.compile(rb"[-_.](master|main|dev|develop)$")
_SEPARATOR = re.compile(rb"[/\\]")
_WORD_BREAK = re.compile(rb"[-_. ]+")
# Modules that are not a project's own even when a folder has their name: the packages whose
# own failures the knowledge base reads (a checkout of mamba itself has a mamba_ssm/ folder), and
# "src", which upstream's broken mamba-ssm 2.0.0 imported.
_NOT_OWN = frozenset((b"mamba_ssm", b"causal_conv1d", b"selective_scan", b"torch", b"triton",
                      b"src"))
_MAX_SCAN = 1 << 20  # bytes of the log searched: a traceback's start is near its error


def own_package_missing(data: bytes) -> Optional[tuple[bytes, bytes]]:
    """(the missing module, the traceback's `File "..."` naming its folder), or None."""
    if b"No module named" not in data:
        return None
    missing = {m.group(1) for m in _NO_MODULE.finditer(data, 0, _MAX_SCAN)} - _NOT_OWN
    if not missing:
        return None
    for hit in _TRACE_FILE.finditer(data, 0, _MAX_SCAN):
        path = hit.group(1)
        if b"-packages" in path:
            continue
        for folder in _SEPARATOR.split(path)[:-1]:
            name = _CHECKOUT_SUFFIX.sub(b"", folder)
            if name in missing:
                return name, hit.group(0)
            held = next((m for m in sorted(missing) if _holds_words(name, m)), None)
            if held is not None:
                return held, hit.group(0)
    return None


def _holds_words(folder: bytes, module: bytes) -> bool:
    """Whether the folder's words hold the module's two or more words in a row (a one-word
    module must be the folder's whole name: `mamba` under `Vision-Mamba/` is no evidence)."""
    words = module.lower().split(b"_")
    if len(words) < 2 or not all(words):
        return False
    have = _WORD_BREAK.split(folder.lower())
    return any(have[i:i + len(words)] == words for i in range(len(have) - len(words) + 1))
