#!/usr/bin/env python3
"""A copy of the addon as one Odoo series sees it: its manifest version with the series.

The addon has one source for Odoo 18.0 and 19.0, so its manifest version has
no series ("1.0.0"): each Odoo reads it as its own ("18.0.1.0.0",
"19.0.1.0.0"). Tools that take the series from the manifest version (OCA's
oca-checks-odoo-module, whose XML checks depend on it, and whool, which
builds the wheel for one series) are run on such a copy:

    scripts/addon_for_series.py 19.0 /tmp/addons-19   # -> /tmp/addons-19/invoice_courier

Prints the copy's path. Nothing of the source changes.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import sys
from pathlib import Path

ADDON = Path(__file__).resolve().parents[1] / "addon" / "invoice_courier"
SERIES = ("18.0", "19.0")
_VERSION_LINE = re.compile(r'^(\s*"version":\s*")(\d+\.\d+\.\d+)(",)$', re.MULTILINE)


def addon_for_series(series: str, destination: Path) -> Path:
    """Copy the addon under `destination` with the series in its manifest version."""
    if series not in SERIES:
        raise ValueError(f"series must be one of {', '.join(SERIES)}, not {series!r}")
    target = destination / ADDON.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ADDON, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    manifest = target / "__manifest__.py"
    text, count = _VERSION_LINE.subn(rf"\g<1>{series}.\g<2>\g<3>", manifest.read_text())
    if count != 1:
        raise ValueError(f'{manifest}: no series-less version line such as \'"version": "1.0.0",\'')
    manifest.write_text(text)
    version = ast.literal_eval(text)["version"]
    if not version.startswith(series + "."):
        raise ValueError(f"{manifest}: version {version!r} after the rewrite")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", choices=SERIES)
    parser.add_argument("destination", type=Path, help="directory to copy invoice_courier into")
    args = parser.parse_args(argv)
    args.destination.mkdir(parents=True, exist_ok=True)
    print(addon_for_series(args.series, args.destination))
    return 0


if __name__ == "__main__":
    sys.exit(main())
