"""`python -m mamba_doctor` runs the command line."""

from __future__ import annotations

from mamba_doctor.cli import main

if __name__ == "__main__":
    main()
