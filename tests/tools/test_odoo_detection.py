"""Finding Odoo (tools/odoo_local.detect_odoo): absent skips, broken fails, saying what to fix.

A machine whose Odoo or PostgreSQL is broken must not pass for one without
Odoo: the run must fail. The fake Odoo homes below need nothing; the checks
against PostgreSQL use the real Odoo's python (its psycopg2), and the last
tests run pytest on the addon tests as `make test` would, with a wrong
PostgreSQL password, without Odoo, and with Odoo required.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.odoo import skip_unless_installed
from tests.support.processes import ROOT, free_port
from tools.odoo_local import OdooNotInstalled, OdooNotRunnable, detect_odoo

ADDON_TESTS = "tests/odoo/test_addon_in_odoo.py"


def fake_home(tmp_path: Path, python: str | None, odoo_bin: str) -> Path:
    """An Odoo home with `odoo_bin` as src/odoo-bin and, unless `python` is None, a
    venv/bin/python: a link to `python` when it is a path, else a script of that text."""
    home = tmp_path / "odoo"
    (home / "src").mkdir(parents=True)
    (home / "src" / "odoo-bin").write_text(odoo_bin)
    if python is not None:
        (home / "venv" / "bin").mkdir(parents=True)
        target = home / "venv" / "bin" / "python"
        if python.startswith("/"):
            target.symlink_to(python)
        else:
            target.write_text(python)
            target.chmod(0o755)
    return home


def test_no_odoo_at_the_home_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODOO_HOME", str(tmp_path / "none"))
    with pytest.raises(OdooNotInstalled) as raised:
        detect_odoo("odoo18")
    assert str(raised.value) == (
        f"no Odoo 18 at {tmp_path / 'none'} (needs src/odoo-bin and venv/bin/python; set ODOO_HOME)"
    )


def test_odoo_19_has_its_own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODOO19_HOME", str(tmp_path / "none"))
    with pytest.raises(OdooNotInstalled, match=r"^no Odoo 19 at .*; set ODOO19_HOME\)$"):
        detect_odoo("odoo19")


def test_odoo_without_its_venv_is_not_runnable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODOO_HOME", str(fake_home(tmp_path, None, "")))
    with pytest.raises(OdooNotRunnable) as raised:
        detect_odoo("odoo18")
    message = str(raised.value)
    assert message.startswith(f"Odoo 18 found at {tmp_path / 'odoo'} but ")
    assert "venv/bin/python is missing or not executable" in message
    assert "docs/odoo-setup.md" in message


def test_odoo_whose_packages_do_not_import_is_not_runnable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = (
        "#!/bin/sh\n"
        "echo 'Traceback (most recent call last):' >&2\n"
        "echo \"ModuleNotFoundError: No module named 'babel'\" >&2\n"
        "exit 1\n"
    )
    monkeypatch.setenv("ODOO_HOME", str(fake_home(tmp_path, python, "")))
    with pytest.raises(OdooNotRunnable) as raised:
        detect_odoo("odoo18")
    message = str(raised.value)
    assert "does not start: `odoo-bin --version` exited with 1" in message
    assert "ModuleNotFoundError: No module named 'babel'" in message


def test_another_odoo_version_at_the_home_is_not_runnable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = fake_home(tmp_path, sys.executable, "print('Odoo Server 17.0')\n")
    monkeypatch.setenv("ODOO_HOME", str(home))
    with pytest.raises(OdooNotRunnable) as raised:
        detect_odoo("odoo18")
    assert str(raised.value) == (
        f"{home} should hold Odoo 18 but `odoo-bin --version` says 'Odoo Server 17.0' "
        "(point ODOO_HOME at an Odoo 18)"
    )


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
def real_odoo() -> None:
    skip_unless_installed("odoo18")


@pytest.mark.usefixtures("real_odoo")
def test_a_wrong_postgresql_password_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURIER_PG_PASSWORD", "wrong")
    with pytest.raises(OdooNotRunnable) as raised:
        detect_odoo("odoo18")
    message = str(raised.value)
    assert message.startswith("PostgreSQL at 127.0.0.1:5432 refuses role courier_odoo: ")
    assert "password authentication failed" in message
    assert "set COURIER_PG_PASSWORD to that role's password" in message


@pytest.mark.usefixtures("real_odoo")
def test_no_postgresql_at_the_port_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("COURIER_PG_PORT", str(port))
    with pytest.raises(OdooNotRunnable) as raised:
        detect_odoo("odoo18")
    message = str(raised.value)
    assert message.startswith(f"PostgreSQL at 127.0.0.1:{port} cannot be used by role ")
    assert "Connection refused" in message
    assert "start it with scripts/start-postgres.sh" in message


def test_start_postgres_fails_when_it_cannot_start_postgresql(tmp_path: Path) -> None:
    # PostgreSQL down (nothing on the port) and no pg_ctlcluster on PATH.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pg_isready = shutil.which("pg_isready")
    if pg_isready:
        (bin_dir / "pg_isready").symlink_to(pg_isready)
    port = free_port()
    result = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "start-postgres.sh")],
        env={"PATH": str(bin_dir), "COURIER_PG_PORT": str(port)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"start-postgres: PostgreSQL does not answer at 127.0.0.1:{port} and pg_ctlcluster "
        "is missing: install PostgreSQL 15"
    )
    assert "will skip" not in result.stderr


# ------------------------------------------------------------ a whole run


def run_pytest(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """pytest on `args` as `make test` runs it, with only `environ`'s Odoo settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COURIER_", "ODOO"))
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT, env=env | environ, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


@pytest.mark.usefixtures("real_odoo")
def test_a_run_with_a_wrong_postgresql_password_fails(tmp_path: Path) -> None:
    # Odoo 18 only (no Odoo 19 home): one error to count.
    result = run_pytest(ADDON_TESTS, COURIER_PG_PASSWORD="wrong", ODOO19_HOME=str(tmp_path))
    assert result.returncode == 1, result.stdout
    assert (
        "addon tests, odoo18: ran 0, skipped 0, errors 1 (PostgreSQL at 127.0.0.1:5432 refuses "
        "role courier_odoo: "
    ) in result.stdout
    assert "1 error in" in result.stdout


def test_a_run_without_odoo_skips_in_one_line(tmp_path: Path) -> None:
    result = run_pytest(ADDON_TESTS, ODOO_HOME=str(tmp_path), ODOO19_HOME=str(tmp_path))
    assert result.returncode == 0, result.stdout
    assert (
        f"addon tests, odoo18: ran 0, skipped 1 (no Odoo 18 at {tmp_path} (needs src/odoo-bin "
        "and venv/bin/python; set ODOO_HOME))"
    ) in result.stdout
    assert f"addon tests, odoo19: ran 0, skipped 1 (no Odoo 19 at {tmp_path}" in result.stdout


def test_a_run_that_requires_odoo_fails_without_it(tmp_path: Path) -> None:
    result = run_pytest(
        ADDON_TESTS, ODOO_HOME=str(tmp_path), ODOO19_HOME=str(tmp_path), COURIER_REQUIRE_ODOO="1"
    )
    assert result.returncode == 1, result.stdout
    assert "set ODOO_HOME); COURIER_REQUIRE_ODOO=1 requires it)" in result.stdout
    assert "addon tests, odoo18: ran 0, skipped 0, errors 1 (no Odoo 18 at" in result.stdout


def test_a_run_that_requires_odoo_19_fails_without_it(tmp_path: Path) -> None:
    # The addon tests run on Odoo 19 too: its missing home fails them.
    result = run_pytest(
        ADDON_TESTS,
        ODOO_HOME=str(tmp_path),
        ODOO19_HOME=str(tmp_path),
        COURIER_REQUIRE_ODOO19="1",
    )
    assert result.returncode == 1, result.stdout
    assert "COURIER_REQUIRE_ODOO19=1" in result.stdout
    assert "addon tests, odoo19: ran 0, skipped 0, errors 1 (no Odoo 19 at" in result.stdout
