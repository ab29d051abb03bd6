#!/usr/bin/env python3
"""Build the single-file zipapp dist/mamba-doctor.pyz (runs on Python 3.8+ with nothing installed).

    python3 scripts/build-zipapp.py                   # fetch the pinned pure-Python wheels, build
    python3 scripts/build-zipapp.py --offline         # only from the wheels already in --wheels
    python3 scripts/build-zipapp.py --index-url URL   # through a PyPI mirror

The dependency wheels (mamba_doctor/bundle/zipapp.py: PINS) are kept in build/zipapp-wheels, so
a second build needs no network. Run it with any Python 3.8+ that has pip; the package is taken
from this checkout, not from an installed copy.
"""

# ruff: noqa: T201  # a build script reports on stdout
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mamba_doctor.bundle.zipapp import (  # noqa: E402  (after the sys.path line)
    build_zipapp,
    download_dependencies,
    wheels_for_pins,
)
from mamba_doctor.errors import DoctorError  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "mamba-doctor.pyz")
    parser.add_argument("--wheels", type=Path, default=ROOT / "build" / "zipapp-wheels",
                        help="where the dependency wheels are kept (default: %(default)s)")
    parser.add_argument("--offline", action="store_true",
                        help="use only the wheels already in --wheels")
    parser.add_argument("--index-url", help="a PyPI mirror for pip download")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.offline:
            wheels = wheels_for_pins(args.wheels)
        else:
            wheels = download_dependencies(args.wheels, index_url=args.index_url)
        app = build_zipapp(args.out, wheels, package_dir=ROOT / "mamba_doctor",
                           index_dir=ROOT / "wheels_index")
    except DoctorError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    print(f"{app.path}  {app.size / 1e6:.2f} MB  sha256 {app.sha256}  "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
