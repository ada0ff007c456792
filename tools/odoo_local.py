"""A local Odoo 18 with invoice_courier: find it, install the addon, serve it, set it up.

Shared by the test fixtures (tests/support/odoo.py) and the demo
(tools/demo.py). The project never installs Odoo: it uses the one at
`$ODOO_HOME` (default /opt/odoo18) holding `src/odoo-bin` and
`venv/bin/python`, and the PostgreSQL that lets the `courier_odoo` role in
(COURIER_PG_HOST/PORT/USER/PASSWORD; scripts/start-postgres.sh starts it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import odoorpc

ROOT = Path(__file__).resolve().parents[1]
ADDONS_DIR = ROOT / "addon"
MODULE = "invoice_courier"
DAEMON_GROUP = "group_courier_daemon"  # in MODULE: the RPC contract and nothing else


class OdooStartError(RuntimeError):
    """odoo-bin exited at start or did not answer in time; the message says which."""


# --------------------------------------------------------------- environment


@dataclass(frozen=True)
class OdooEnv:
    home: Path
    python: Path
    odoo_bin: Path
    pg_host: str
    pg_port: int
    pg_user: str
    pg_password: str

    @property
    def addons_path(self) -> str:
        return f"{self.home / 'src' / 'odoo' / 'addons'},{ADDONS_DIR}"

    def base_args(self, db: str, data_dir: Path) -> list[str]:
        return [
            str(self.python),
            str(self.odoo_bin),
            f"--addons-path={self.addons_path}",
            f"--data-dir={data_dir}",
            f"--database={db}",
            f"--db_host={self.pg_host}",
            f"--db_port={self.pg_port}",
            f"--db_user={self.pg_user}",
            f"--db_password={self.pg_password}",
            "--without-demo=all",
        ]

    def environ(self) -> dict[str, str]:
        # wkhtmltopdf ships in Odoo's venv/bin: Odoo finds it on PATH.
        path = f"{self.python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "PATH": path}

    def sql(self, statement: str, db: str = "postgres") -> subprocess.CompletedProcess[str]:
        """One statement through Odoo's own psycopg2 (autocommit); rows printed one a line."""
        code = (
            "import sys, psycopg2\n"
            "c = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user=sys.argv[3],"
            " password=sys.argv[4], dbname=sys.argv[5], connect_timeout=5)\n"
            "c.autocommit = True\n"
            "cur = c.cursor()\n"
            "cur.execute(sys.argv[6])\n"
            "for row in (cur.fetchall() if cur.description else []):\n"
            "    print(*row, sep='\\t')\n"
        )
        return subprocess.run(
            [str(self.python), "-c", code, self.pg_host, str(self.pg_port), self.pg_user,
             self.pg_password, db, statement],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip


def odoo_home() -> Path:
    return Path(os.environ.get("ODOO_HOME") or "/opt/odoo18")


def missing_odoo() -> str | None:
    """None when an Odoo 18 is at odoo_home(), else one line saying what is missing."""
    home = odoo_home()
    python, odoo_bin = home / "venv" / "bin" / "python", home / "src" / "odoo-bin"
    if odoo_bin.is_file() and os.access(python, os.X_OK):
        return None
    return f"no Odoo 18 at {home} (needs src/odoo-bin and venv/bin/python; set ODOO_HOME)"


def find_odoo() -> OdooEnv | str:
    """The Odoo 18 and PostgreSQL to use, or one line saying what is missing."""
    missing = missing_odoo()
    if missing:
        return missing
    home = odoo_home()
    python = home / "venv" / "bin" / "python"
    env = OdooEnv(
        home=home,
        python=python,
        odoo_bin=home / "src" / "odoo-bin",
        pg_host=os.environ.get("COURIER_PG_HOST", "127.0.0.1"),
        pg_port=int(os.environ.get("COURIER_PG_PORT", "5432")),
        pg_user=os.environ.get("COURIER_PG_USER", "courier_odoo"),
        pg_password=os.environ.get("COURIER_PG_PASSWORD", "courier_odoo"),
    )
    try:
        probe = env.sql("SELECT 1")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run Odoo's python {python}: {exc}"
    if probe.returncode != 0:
        lines = probe.stderr.strip().splitlines() or ["unknown error"]
        # The exception line ("psycopg2.OperationalError: ..."), not libpq's hint after it.
        reason = next((line for line in reversed(lines) if "Error" in line), lines[-1]).strip()
        return (
            f"no PostgreSQL for role {env.pg_user} at {env.pg_host}:{env.pg_port}"
            f" (run scripts/start-postgres.sh): {reason}"
        )
    return env


# ------------------------------------------------------------------ database


def install_module(
    env: OdooEnv,
    db: str,
    data_dir: Path,
    log: IO[bytes],
    extra_args: Sequence[str] = (),
    timeout: float = 15 * 60,
) -> int:
    """Create `db` with MODULE installed (odoo-bin --init, then stop); odoo-bin's exit code.

    Without a country on the company, installing `account` loads Odoo's generic
    chart of accounts, so invoices can be posted right away.
    """
    completed = subprocess.run(
        [*env.base_args(db, data_dir), f"--init={MODULE}", "--stop-after-init", *extra_args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env.environ(),
        timeout=timeout,
        check=False,
    )
    return completed.returncode


def module_installed(env: OdooEnv, db: str) -> bool:
    probe = env.sql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM ir_module_module WHERE name = '{MODULE}'"
        " AND state = 'installed') THEN RAISE EXCEPTION 'not installed'; END IF; END $$",
        db=db,
    )
    return probe.returncode == 0


def list_databases(env: OdooEnv, prefix: str) -> list[str]:
    """Databases whose name starts with `prefix` (letters, digits and underscores only)."""
    if not prefix.replace("_", "").isalnum():
        raise ValueError(f"unexpected database prefix {prefix!r}")
    listed = env.sql(
        f"SELECT datname FROM pg_database WHERE starts_with(datname, '{prefix}') ORDER BY 1"
    )
    return listed.stdout.split() if listed.returncode == 0 else []


def drop_database(env: OdooEnv, db: str, data_dir: Path | None = None) -> str | None:
    """Drop `db` (and `data_dir`); None when done, else PostgreSQL's last error line."""
    for _attempt in range(3):
        dropped = env.sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if dropped.returncode == 0:
            break
        time.sleep(1)
    else:
        lines = dropped.stderr.strip().splitlines() or ["unknown error"]
        return next((line for line in reversed(lines) if "Error" in line), lines[-1]).strip()
    if data_dir is not None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return None


# -------------------------------------------------------------------- server


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_status(url: str, timeout: float = 5) -> int:
    """The HTTP status of a GET, 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def start_server(
    env: OdooEnv,
    db: str,
    data_dir: Path,
    port: int,
    log: IO[bytes],
    *,
    log_level: str = "warn",
    **popen_options: Any,
) -> subprocess.Popen[bytes]:
    """odoo-bin serving only `db` on 127.0.0.1:`port` (threaded, no cron).

    `popen_options` go to Popen as they are (the demo's process group).
    """
    return subprocess.Popen(
        [
            *env.base_args(db, data_dir),
            f"--db-filter=^{db}$",
            "--http-interface=127.0.0.1",
            f"--http-port={port}",
            "--workers=0",
            "--max-cron-threads=0",
            f"--log-level={log_level}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env.environ(),
        **popen_options,
    )


def wait_for_server(
    process: subprocess.Popen[bytes], url: str, timeout: float, log_path: Path
) -> None:
    """Return once `url`/web/health answers 200; OdooStartError if it exits or never does."""
    deadline = time.monotonic() + timeout
    while http_status(url + "/web/health") != 200:
        if process.poll() is not None:
            raise OdooStartError(f"odoo-bin exited with {process.returncode}; log: {log_path}")
        if time.monotonic() > deadline:
            raise OdooStartError(
                f"gave up after {timeout:.0f}s waiting for Odoo at {url} (log: {log_path})"
            )
        time.sleep(0.2)


def stop_process(process: subprocess.Popen[Any], timeout: float = 30) -> int:
    """SIGTERM (odoo-bin and courierd stop gracefully on it), SIGKILL after `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return int(process.returncode)


# --------------------------------------------------------------------- setup


def rpc_login(url: str, db: str, login: str, password: str) -> odoorpc.ODOO:
    port = int(url.rsplit(":", 1)[1])
    odoo = odoorpc.ODOO("127.0.0.1", protocol="jsonrpc", port=port, timeout=300)
    odoo.login(db, login, password)
    return odoo


def point_urls_at(odoo: odoorpc.ODOO, url: str) -> None:
    """Links in emails and wkhtmltopdf's asset requests must reach this server."""
    params = odoo.env["ir.config_parameter"]
    for key in ("web.base.url", "report.url"):
        params.set_param(key, url)
    params.set_param("web.base.url.freeze", "True")


def configure_sender(
    odoo: odoorpc.ODOO, email: str, name: str, company_values: dict[str, Any] | None = None
) -> int:
    """The current company sends from `email` as `name`; its id."""
    company_id = int(odoo.env.user.company_id.id)
    values = {"email": email, "courier_sender_email": email, "courier_sender_name": name}
    odoo.execute("res.company", "write", [company_id], {**values, **(company_values or {})})
    return company_id


def create_daemon_user(odoo: odoorpc.ODOO, login: str, password: str) -> int:
    """The Courier daemon user: the RPC contract, nothing else."""
    [group] = odoo.execute(
        "ir.model.data",
        "search_read",
        [("module", "=", MODULE), ("name", "=", DAEMON_GROUP)],
        ["res_id"],
    )
    return int(
        odoo.execute(
            "res.users",
            "create",
            {
                "name": "Courier daemon",
                "login": login,
                "password": password,
                "groups_id": [(6, 0, [group["res_id"]])],
            },
        )
    )
