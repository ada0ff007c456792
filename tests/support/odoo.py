"""A real Odoo 18 for the suite: one fresh database, the addon's own tests, a server.

Loaded as a pytest plugin by tests/conftest.py. Nothing happens unless a test
asks for one of the fixtures:

- `odoo_install` (session): creates ONE database `courier_test_<random>` and
  installs invoice_courier into it with `--test-enable --test-tags
  /invoice_courier`, so the addon's Odoo tests run during that single install.
  The log stays in test-artifacts/; the result (`OdooInstall`) carries Odoo's
  test summary. The database is dropped at the end of the session.
- `odoo_server` (session): `odoo-bin` serving that database on a free loopback
  port (threaded, no cron), with the Courier daemon user and a customer.
- `odoo_backend` (per test): the `ErpBackend` of tests/support/erp_backends.py
  over that server; it first removes the dispatches earlier tests left.

Without an Odoo 18 (`$ODOO_HOME`, else /opt/odoo18, holding src/odoo-bin and
venv/bin/python) or without a PostgreSQL that lets the `courier_odoo` role in
(COURIER_PG_HOST/PORT/USER/PASSWORD), the fixtures skip with one line.
COURIER_KEEP_ODOO_DB=1 keeps the database (and its filestore) for a post-mortem.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import odoorpc
import pytest

from tests.support.processes import ROOT, artifact_path, free_port, http_get, wait_until

ADDONS_DIR = ROOT / "addon"
MODULE = "invoice_courier"
ADMIN_LOGIN = ADMIN_PASSWORD = "admin"  # a fresh database without demo data
DAEMON_LOGIN = "courierd"
DAEMON_PASSWORD = "courierd-test-" + secrets.token_hex(8)
SENDER = "billing@courier-test.example"
INSTALL_TIMEOUT = 15 * 60
SERVER_START_TIMEOUT = 120

SUMMARY_RE = re.compile(
    r"(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<tests>\d+) tests"
    r" when loading database"
)
# "FAIL: TestClass.test_name" / "ERROR: TestClass.test_name" as Odoo's runner logs them.
FAILED_TEST_RE = re.compile(r"\b(?P<kind>FAIL|ERROR): (?P<name>[\w.]+)")

# The smallest well-formed one-page PDF: what `seed_dispatches(with_pdf=True)`
# stores as an invoice's PDF, because rendering hundreds with wkhtmltopdf
# would dominate every test (courier_render_pdf renders real ones).
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


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
        """One statement through Odoo's own psycopg2 (autocommit)."""
        code = (
            "import sys, psycopg2\n"
            "c = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user=sys.argv[3],"
            " password=sys.argv[4], dbname=sys.argv[5], connect_timeout=5)\n"
            "c.autocommit = True\n"
            "c.cursor().execute(sys.argv[6])\n"
        )
        return subprocess.run(
            [str(self.python), "-c", code, self.pg_host, str(self.pg_port), self.pg_user,
             self.pg_password, db, statement],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip


def find_odoo() -> OdooEnv | str:
    """The Odoo 18 and PostgreSQL to use, or one line saying what is missing."""
    home = Path(os.environ.get("ODOO_HOME") or "/opt/odoo18")
    python, odoo_bin = home / "venv" / "bin" / "python", home / "src" / "odoo-bin"
    if not (odoo_bin.is_file() and os.access(python, os.X_OK)):
        return f"no Odoo 18 at {home} (needs src/odoo-bin and venv/bin/python; set ODOO_HOME)"
    env = OdooEnv(
        home=home,
        python=python,
        odoo_bin=odoo_bin,
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


# ------------------------------------------------------------------- install


@dataclass
class OdooInstall:
    """The single install of invoice_courier with its Odoo tests, as Odoo logged it."""

    env: OdooEnv
    db: str
    data_dir: Path
    log_path: Path
    returncode: int
    seconds: float
    tests: int = 0
    failed: int = 0
    errors: int = 0
    summary_found: bool = False
    failing_tests: list[str] = field(default_factory=list)

    @property
    def installed(self) -> bool:
        """The module is in the database (tests may still have failed)."""
        probe = self.env.sql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM ir_module_module WHERE name = '{MODULE}'"
            " AND state = 'installed') THEN RAISE EXCEPTION 'not installed'; END IF; END $$",
            db=self.db,
        )
        return probe.returncode == 0

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def describe(self) -> str:
        if not self.summary_found:
            return (
                f"no test summary in the Odoo log (exit code {self.returncode}); "
                f"log: {self.log_path}\n{self.log_tail()}"
            )
        names = "\n  ".join(self.failing_tests) or "(names not found in the log)"
        return (
            f"{self.failed} failed, {self.errors} error(s) of {self.tests} tests "
            f"in {self.seconds:.0f}s; log: {self.log_path}\n  {names}"
        )


def parse_install_log(text: str) -> dict[str, Any]:
    """Odoo's test summary and the names of failing tests from an install log."""
    summaries = list(SUMMARY_RE.finditer(text))
    failing: list[str] = []
    for match in FAILED_TEST_RE.finditer(text):
        label = f"{match['kind']}: {match['name']}"
        if label not in failing:
            failing.append(label)
    if not summaries:
        return {"summary_found": False, "failing_tests": failing}
    last = summaries[-1]
    return {
        "summary_found": True,
        "tests": int(last["tests"]),
        "failed": int(last["failed"]),
        "errors": int(last["errors"]),
        "failing_tests": failing,
    }


def install_with_tests(env: OdooEnv) -> OdooInstall:
    db = f"courier_test_{secrets.token_hex(4)}"
    data_dir = Path(tempfile.mkdtemp(prefix=f"{db}-"))
    log_path = artifact_path(f"odoo-install-{db}.log")
    started = time.monotonic()
    with log_path.open("wb") as log:
        completed = subprocess.run(
            [
                *env.base_args(db, data_dir),
                f"--init={MODULE}",
                "--test-enable",
                f"--test-tags=/{MODULE}",
                "--stop-after-init",
                "--max-cron-threads=0",
                # --test-enable starts the HTTP server (for HttpCase): never on 8069.
                "--http-interface=127.0.0.1",
                f"--http-port={free_port()}",
                "--log-level=info",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env.environ(),
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    result = OdooInstall(
        env=env,
        db=db,
        data_dir=data_dir,
        log_path=log_path,
        returncode=completed.returncode,
        seconds=time.monotonic() - started,
    )
    for key, value in parse_install_log(log_path.read_text(errors="replace")).items():
        setattr(result, key, value)
    return result


def drop_database(install: OdooInstall) -> None:
    install.env.sql(f'DROP DATABASE IF EXISTS "{install.db}" WITH (FORCE)')
    shutil.rmtree(install.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def odoo_env() -> OdooEnv:
    found = find_odoo()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@contextmanager
def paused_test_timeout() -> Iterator[None]:
    """Stop pytest-timeout's SIGALRM clock meanwhile, then give back what was left.

    The install runs inside the setup of whichever test first needs Odoo and
    has its own limit (INSTALL_TIMEOUT); it must not eat that test's budget.
    """
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    if remaining:
        signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)


_installs: list[OdooInstall] = []


@pytest.fixture(scope="session")
def odoo_install(odoo_env: OdooEnv) -> Iterator[OdooInstall]:
    with paused_test_timeout():
        install = install_with_tests(odoo_env)
    _installs.append(install)
    try:
        yield install
    finally:
        if os.environ.get("COURIER_KEEP_ODOO_DB") != "1":
            drop_database(install)


# -------------------------------------------------------------------- server


@dataclass
class OdooServer:
    install: OdooInstall
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    daemon_login: str = DAEMON_LOGIN
    daemon_password: str = DAEMON_PASSWORD
    customer_id: int = 0

    @property
    def db(self) -> str:
        return self.install.db

    def admin(self) -> odoorpc.ODOO:
        return rpc_login(self.url, self.db, ADMIN_LOGIN, ADMIN_PASSWORD)


def rpc_login(url: str, db: str, login: str, password: str) -> odoorpc.ODOO:
    port = int(url.rsplit(":", 1)[1])
    odoo = odoorpc.ODOO("127.0.0.1", protocol="jsonrpc", port=port, timeout=300)
    odoo.login(db, login, password)
    return odoo


def _prepare_database(server: OdooServer) -> None:
    """What a test database needs besides the install: URLs, sender, daemon user, customer."""
    odoo = server.admin()
    params = odoo.env["ir.config_parameter"]
    # Links in emails and wkhtmltopdf's asset requests must reach this server.
    for key in ("web.base.url", "report.url"):
        params.set_param(key, server.url)
    params.set_param("web.base.url.freeze", "True")
    company_id = odoo.env.user.company_id.id
    odoo.execute(
        "res.company",
        "write",
        [company_id],
        {"email": SENDER, "courier_sender_email": SENDER, "courier_sender_name": "Courier Test"},
    )
    [group] = odoo.execute(
        "ir.model.data",
        "search_read",
        [("module", "=", MODULE), ("name", "=", "group_courier_daemon")],
        ["res_id"],
    )
    odoo.execute(
        "res.users",
        "create",
        {
            "name": "Courier daemon",
            "login": server.daemon_login,
            "password": server.daemon_password,
            "groups_id": [(6, 0, [group["res_id"]])],
        },
    )
    server.customer_id = odoo.execute(
        "res.partner",
        "create",
        {"name": "Courier Test Customer", "email": "customer@customer.example", "lang": "en_US"},
    )


@pytest.fixture(scope="session")
def odoo_server(odoo_install: OdooInstall) -> Iterator[OdooServer]:
    if not odoo_install.installed:
        pytest.fail(f"invoice_courier did not install: {odoo_install.describe()}")
    env = odoo_install.env
    port = free_port()
    log_path = artifact_path(f"odoo-server-{odoo_install.db}.log")
    log = log_path.open("ab")
    process = subprocess.Popen(
        [
            *env.base_args(odoo_install.db, odoo_install.data_dir),
            f"--db-filter=^{odoo_install.db}$",
            "--http-interface=127.0.0.1",
            f"--http-port={port}",
            "--workers=0",
            "--max-cron-threads=0",
            "--log-level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env.environ(),
    )
    url = f"http://127.0.0.1:{port}"
    server = OdooServer(odoo_install, process, url, log_path)
    try:
        with paused_test_timeout():
            wait_until(
                lambda: process.poll() is not None or http_get(url + "/web/health")[0] == 200,
                SERVER_START_TIMEOUT,
                f"Odoo at {url} (log: {log_path})",
                interval=0.2,
            )
            if process.poll() is not None:
                pytest.fail(f"odoo-bin exited with {process.returncode}; log: {log_path}")
            _prepare_database(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        log.close()


# ------------------------------------------------------------------- backend


class OdooBackend:
    """`ErpBackend` over the real addon; seeds and inspects as admin through odoorpc."""

    def __init__(self, server: OdooServer) -> None:
        self.server = server
        self.url = server.url
        self.db = server.db
        self.login = server.daemon_login
        self.password = server.daemon_password
        self.admin = server.admin()

    def _call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.admin.execute_kw(model, method, list(args), kwargs)

    def reset(self) -> None:
        """Forget the sends of earlier tests: each test sees only what it seeds."""
        ids = self._call("courier.dispatch", "search", [])
        if ids:
            self._call("courier.dispatch", "unlink", ids)

    def seed_dispatches(
        self, count: int, emails: list[str] | None = None, *, with_pdf: bool = True
    ) -> list[int]:
        """`count` posted invoices (one create, one post), a queued dispatch each.

        `with_pdf` stores a small PDF as each invoice's PDF, as Odoo would have
        after printing; False leaves it to courierd's courier_render_pdf calls.
        """
        if count <= 0:
            return []
        token = secrets.token_hex(3)
        addresses = emails or [f"c{token}-{i}@customer.example" for i in range(count)]
        if len(addresses) < count:
            raise ValueError(f"{count} dispatches need {count} addresses, got {len(addresses)}")
        line = {"name": "Consulting", "quantity": 1, "price_unit": 120.0}
        move_ids = self._call(
            "account.move",
            "create",
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": self.server.customer_id,
                    "invoice_line_ids": [(0, 0, dict(line, price_unit=100.0 + i))],
                }
                for i in range(count)
            ],
        )
        self._call("account.move", "action_post", move_ids)
        if with_pdf:
            self._store_pdfs(move_ids)
        names = {m["id"]: m["name"] for m in self._call("account.move", "read", move_ids, ["name"])}
        return self._call(
            "courier.dispatch",
            "create",
            [
                {
                    "move_id": move_id,
                    "subject": f"Invoice {names[move_id]}",
                    "body_html": f"<p>Dear customer, here is invoice {names[move_id]}.</p>",
                    "recipient_ids": [
                        (0, 0, {"email": email.strip(), "name": email.strip().split("@")[0]})
                        for email in addresses[i].split(",")
                        if email.strip()
                    ],
                }
                for i, move_id in enumerate(move_ids)
            ],
        )

    def _store_pdfs(self, move_ids: list[int]) -> None:
        moves = self._call("account.move", "read", move_ids, ["name"])
        encoded = base64.b64encode(MINIMAL_PDF).decode()
        self._call(
            "ir.attachment",
            "create",
            [
                {
                    # Where Odoo's Send & Print stores it (invoice_pdf_report_id).
                    "name": move["name"].replace("/", "_") + ".pdf",
                    "datas": encoded,
                    "mimetype": "application/pdf",
                    "res_model": "account.move",
                    "res_id": move["id"],
                    "res_field": "invoice_pdf_report_file",
                }
                for move in moves
            ],
        )

    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]:
        fields = [
            "custom_id", "move_id", "state", "attempts", "last_error", "error_code",
            "lease_owner", "next_attempt_at",
        ]  # fmt: skip
        rows = {row["id"]: row for row in self._call("courier.dispatch", "read", ids, fields)}
        move_ids = list({row["move_id"][0] for row in rows.values()})
        moves = {
            m["id"]: m
            for m in self._call("account.move", "read", move_ids, ["courier_state", "is_move_sent"])
        }
        recipients: dict[int, list[dict[str, Any]]] = {dispatch_id: [] for dispatch_id in ids}
        for r in self._call(
            "courier.recipient",
            "search_read",
            [("dispatch_id", "in", ids)],
            ["dispatch_id", "email", "status", "status_time", "message_id", "message_uuid",
             "error_text"],
            order="id",
        ):  # fmt: skip
            recipients[r["dispatch_id"][0]].append(
                {
                    "email": r["email"],
                    "status": r["status"],
                    "status_time": _iso(r["status_time"]),
                    "message_id": r["message_id"] or None,
                    "message_uuid": r["message_uuid"] or None,
                    "error_text": r["error_text"] or None,
                }
            )
        result = []
        for dispatch_id in ids:
            row = rows[dispatch_id]
            move = moves[row["move_id"][0]]
            result.append(
                {
                    "id": dispatch_id,
                    "custom_id": row["custom_id"],
                    "invoice_id": move["id"],
                    "state": row["state"],
                    "attempts": row["attempts"],
                    "last_error": row["last_error"] or None,
                    "error_code": row["error_code"] or None,
                    "lease_owner": row["lease_owner"] or None,
                    "next_attempt_at": _iso(row["next_attempt_at"]),
                    "invoice_state": move["courier_state"],
                    "is_move_sent": move["is_move_sent"],
                    "recipients": recipients[dispatch_id],
                }
            )
        return result

    def events(self, dispatch_id: int) -> list[dict[str, Any]]:
        return [
            {
                "type": e["type"],
                "source": e["source"],
                "dedupe_key": e["dedupe_key"],
                "event_time": _iso(e["event_time"]),
                "web_document": e["web_document"],
                "email": e["recipient_id"][1] if e["recipient_id"] else None,
            }
            for e in self._call(
                "courier.event",
                "search_read",
                [("dispatch_id", "=", dispatch_id)],
                ["type", "source", "dedupe_key", "event_time", "web_document", "recipient_id"],
                order="id",
            )
        ]


def _iso(value: str | bool) -> str | None:
    """Odoo's "2026-11-27 08:15:02" (UTC) as the contract's "2026-11-27T08:15:02Z"."""
    return value.replace(" ", "T") + "Z" if value else None


@pytest.fixture
def odoo_backend(odoo_server: OdooServer) -> OdooBackend:
    backend = OdooBackend(odoo_server)
    backend.reset()
    return backend


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per Odoo install of the session: its duration and test summary."""
    for install in _installs:
        terminalreporter.write_line(
            f"Odoo 18 install of {MODULE} with its tests: {install.seconds:.0f}s, "
            f"{install.tests} tests, {install.failed} failed, {install.errors} error(s) "
            f"(log: {install.log_path.relative_to(ROOT)})"
        )
