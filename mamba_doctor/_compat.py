"""Python 3.8 stand-ins for the few newer built-ins the package uses (the tool runs on 3.8+)."""

from __future__ import annotations


def removeprefix(text: str, prefix: str) -> str:
    """str.removeprefix (Python 3.9+)."""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text
