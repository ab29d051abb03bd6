"""mamba-doctor: gets Mamba (mamba-ssm) working on a machine and proves it."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
