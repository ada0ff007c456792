"""`make demo` (tools/demo.py) without an Odoo: one line saying what it needs, non-zero exit.

The demo with a real Odoo 18 is a long-running interactive command; it was
verified by hand (README.md, "The two commands").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ODOO_HOME": str(tmp_path / "no-odoo-here")}
    return subprocess.run(
        [sys.executable, "-m", "tools.demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_odoo_it_says_what_it_needs_in_one_line(tmp_path: Path) -> None:
    result = run_demo(tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "needs an Odoo 18 at $ODOO_HOME or /opt/odoo18" in line
    assert "docs/odoo-setup.md" in line
    assert str(tmp_path / "no-odoo-here") in line


def test_help_names_the_options(tmp_path: Path) -> None:
    result = run_demo(tmp_path, "--help")
    assert result.returncode == 0
    assert "--port" in result.stdout
    assert "--keep-db" in result.stdout
