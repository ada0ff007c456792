"""A real Odoo for the suite, per supported version: one database, the addon's own tests, a server.

Loaded as a pytest plugin by tests/conftest.py. Nothing happens unless a test
asks for one of the fixtures. Each is made once per Odoo version and session,
on first use, by `OdooStacks`:

- `odoo_version` (session, parametrized over `ODOO_TEST_VERSIONS` of
  tests/support/erp_backends.py): every test using the fixtures below runs once
  per Odoo version, its id ending in `[odoo18]` or `[odoo19]`.
- `odoo_env`: the Odoo found and checked by tools/odoo_local.detect_odoo.
- `odoo_install`: creates ONE database `courier_test_<random>` and installs
  invoice_courier into it with `--test-enable --test-tags /invoice_courier`,
  so the addon's Odoo tests run during that single install. The log stays in
  test-artifacts/; the result (`OdooInstall`) carries Odoo's test summary. The
  database is dropped at the end of the session.
- `odoo_server`: `odoo-bin` serving that database on a free loopback port
  (threaded, no cron), with the Courier daemon user (and from Odoo 19 its API
  key, for JSON-2) and a customer.
- `odoo_backend` (per test): the `ErpBackend` of tests/support/erp_backends.py
  over that server (over the first transport of that version's backends); it
  first removes the dispatches earlier tests left.
  `erp_backend` (tests/conftest.py) gets the same through `OdooStacks.backend`.

Finding Odoo, installing, serving and the database setup live in
tools/odoo_local.py, shared with the demo (tools/demo.py). No Odoo at the
version's home (Odoo 18: `$ODOO_HOME`, else /opt/odoo18) skips these tests
with one line, or fails them when the version's COURIER_REQUIRE_ODOO... switch
is 1. An Odoo that is there but cannot run, or a PostgreSQL that refuses the
configured role (COURIER_PG_HOST/PORT/USER/PASSWORD), fails them, saying what
to fix: a broken machine must not pass for one without Odoo.
COURIER_KEEP_ODOO_DB=1 keeps the databases (and their filestores) for a post-mortem.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import odoorpc
import pytest

from tests.support.erp_backends import ODOO_BACKENDS, ODOO_TEST_VERSIONS, TRANSPORTS
from tests.support.processes import ROOT, artifact_path, free_port
from tests.support.processes import http_get as http_get  # re-exported: benchmarks use them
from tests.support.processes import wait_until as wait_until
from tools import odoo_local
from tools.odoo_local import ADDONS_DIR as ADDONS_DIR
from tools.odoo_local import (
    MODULE,
    ODOO_VERSIONS,
    OdooEnv,
    OdooStartError,
    OdooUnavailable,
    detect_odoo,
    rpc_login,
)

ADMIN_LOGIN = ADMIN_PASSWORD = "admin"  # a fresh database without demo data
DAEMON_LOGIN = "courierd"
DAEMON_PASSWORD = "courierd-test-" + secrets.token_hex(8)
SENDER = "billing@courier-test.example"
INSTALL_TIMEOUT = 15 * 60
SERVER_START_TIMEOUT = 120
T = TypeVar("T")

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
        return odoo_local.module_installed(self.env, self.db)

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
        returncode = odoo_local.install_module(
            env,
            db,
            data_dir,
            log,
            [
                "--test-enable",
                f"--test-tags=/{MODULE}",
                "--max-cron-threads=0",
                # --test-enable starts the HTTP server (for HttpCase): never on 8069.
                "--http-interface=127.0.0.1",
                f"--http-port={free_port()}",
                "--log-level=info",
            ],
            timeout=INSTALL_TIMEOUT,
        )
    result = OdooInstall(
        env=env,
        db=db,
        data_dir=data_dir,
        log_path=log_path,
        returncode=returncode,
        seconds=time.monotonic() - started,
    )
    for key, value in parse_install_log(log_path.read_text(errors="replace")).items():
        setattr(result, key, value)
    return result


def drop_database(install: OdooInstall) -> None:
    odoo_local.drop_database(install.env, install.db, install.data_dir)


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


# -------------------------------------------------------------------- server


@dataclass
class OdooServer:
    install: OdooInstall
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    daemon_login: str = DAEMON_LOGIN
    daemon_password: str = DAEMON_PASSWORD
    daemon_api_key: str | None = None  # made from Odoo 19 on, for JSON-2
    customer_id: int = 0

    @property
    def db(self) -> str:
        return self.install.db

    def admin(self) -> odoorpc.ODOO:
        return rpc_login(self.url, self.db, ADMIN_LOGIN, ADMIN_PASSWORD)


def _prepare_database(server: OdooServer) -> None:
    """What a test database needs besides the install: URLs, sender, daemon user (and its
    API key where JSON-2 is served), customer."""
    odoo = server.admin()
    odoo_local.point_urls_at(odoo, server.url)
    odoo_local.configure_sender(odoo, SENDER, "Courier Test")
    daemon_uid = odoo_local.create_daemon_user(odoo, server.daemon_login, server.daemon_password)
    if server.install.env.version.major >= 19:
        server.daemon_api_key = odoo_local.create_daemon_api_key(odoo, daemon_uid)
    server.customer_id = odoo.execute(
        "res.partner",
        "create",
        {"name": "Courier Test Customer", "email": "customer@customer.example", "lang": "en_US"},
    )


def start_server(install: OdooInstall) -> tuple[OdooServer, IO[bytes]]:
    """odoo-bin serving the install's database, ready and set up; its log file is open."""
    if not install.installed:
        raise OdooStartError(f"invoice_courier did not install: {install.describe()}")
    port = free_port()
    log_path = artifact_path(f"odoo-server-{install.db}.log")
    log = log_path.open("ab")
    process = odoo_local.start_server(install.env, install.db, install.data_dir, port, log)
    server = OdooServer(install, process, f"http://127.0.0.1:{port}", log_path)
    try:
        odoo_local.wait_for_server(process, server.url, SERVER_START_TIMEOUT, log_path)
        _prepare_database(server)
    except BaseException:
        odoo_local.stop_process(process)
        log.close()
        raise
    return server, log


# ------------------------------------------------------------------- backend


class OdooBackend:
    """`ErpBackend` over the real addon; seeds and inspects as admin through odoorpc."""

    def __init__(self, server: OdooServer, transport: str = "jsonrpc") -> None:
        self.server = server
        self.url = server.url
        self.db = server.db
        self.login = server.daemon_login
        self.password = server.daemon_password
        self.api_key = server.daemon_api_key
        self.transport = transport
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
                    "body_html": (
                        f"<p>Dear customer, here is invoice {names[move_id]}.</p>"
                        f'<p><a href="{self.url}/my/invoices/{move_id}">View it online</a></p>'
                    ),
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

    def event_count(self) -> int:
        """Tracking events stored, all dispatches together."""
        return self._call("courier.event", "search_count", [])

    def activities(self, dispatch_id: int) -> list[str]:
        [dispatch] = self._call("courier.dispatch", "read", [dispatch_id], ["move_id"])
        return [
            f"{a['summary']}: {a['note']}"
            for a in self._call(
                "mail.activity",
                "search_read",
                [("res_model", "=", "account.move"), ("res_id", "=", dispatch["move_id"][0])],
                ["summary", "note"],
            )
        ]

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


# ------------------------------------------------------------------ sessions

INSTALLS: dict[str, OdooInstall] = {}  # by Odoo version: the session's installs, for summaries


class OdooStacks:
    """Per Odoo version: the checked Odoo, its install and its server, each made once.

    Made on first use and kept for the session (the fixtures of every version
    and `erp_backend` share them). What could not be made is remembered as the
    skip, failure or error it raised, so each later test gets the same at once.
    """

    def __init__(self) -> None:
        self._made: dict[tuple[str, str], Any] = {}
        self._servers: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def env(self, version: str) -> OdooEnv:
        return self._once("env", version, lambda: _checked_odoo(version))

    def install(self, version: str) -> OdooInstall:
        def install() -> OdooInstall:
            env = self.env(version)
            with paused_test_timeout():
                made = install_with_tests(env)
            INSTALLS[version] = made
            return made

        return self._once("install", version, install)

    def server(self, version: str) -> OdooServer:
        def serve() -> OdooServer:
            install = self.install(version)
            try:
                with paused_test_timeout():
                    server, log = start_server(install)
            except OdooStartError as exc:
                pytest.fail(f"{install.env.version.label}: {exc}", pytrace=False)
            self._servers.append((server.process, log))
            return server

        return self._once("server", version, serve)

    def backend(self, backend_key: str) -> OdooBackend:
        """A fresh view of `backend_key`'s server (earlier tests' dispatches removed)."""
        backend = OdooBackend(self.server(ODOO_BACKENDS[backend_key]), TRANSPORTS[backend_key])
        backend.reset()
        return backend

    def restart_server(self, version: str) -> None:
        """Stop `version`'s odoo-bin and serve the same database on the same port again.

        For tests of what survives an ERP restart; Odoo keeps its sessions on disk,
        so logged-in clients carry on.
        """
        server = self.server(version)
        log = next(log for process, log in self._servers if process is server.process)
        odoo_local.stop_process(server.process)
        port = int(server.url.rsplit(":", 1)[1])
        process = odoo_local.start_server(
            server.install.env, server.db, server.install.data_dir, port, log
        )
        self._servers = [(process if p is server.process else p, f) for p, f in self._servers]
        server.process = process
        with paused_test_timeout():
            odoo_local.wait_for_server(process, server.url, SERVER_START_TIMEOUT, server.log_path)

    def close(self) -> None:
        for process, log in self._servers:
            odoo_local.stop_process(process)
            log.close()
        if os.environ.get("COURIER_KEEP_ODOO_DB") != "1":
            for key, made in self._made.items():
                if key[0] == "install" and isinstance(made, OdooInstall):
                    drop_database(made)

    def _once(self, stage: str, version: str, make: Callable[[], T]) -> T:
        key = (stage, version)
        if key not in self._made:
            try:
                self._made[key] = make()
            except (Exception, pytest.skip.Exception, pytest.fail.Exception) as exc:
                self._made[key] = exc
        made = self._made[key]
        if isinstance(made, BaseException):
            raise made.with_traceback(None)
        return made


def skip_unless_installed(version: str) -> None:
    """Skip the test in one line without an Odoo of `version`; fail it if that one is required."""
    spec = ODOO_VERSIONS[version]
    missing = odoo_local.missing_odoo(version)
    if missing is None:
        return
    if spec.required():
        pytest.fail(f"{missing}; {spec.require_variable}=1 requires it", pytrace=False)
    pytest.skip(missing)


def _checked_odoo(version: str) -> OdooEnv:
    """The Odoo of `version`, or the test's skip (absent) or failure (broken, or required)."""
    skip_unless_installed(version)
    try:
        return detect_odoo(version)
    except OdooUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def odoo_stacks() -> Iterator[OdooStacks]:
    stacks = OdooStacks()
    try:
        yield stacks
    finally:
        stacks.close()


@pytest.fixture(scope="session", params=ODOO_TEST_VERSIONS)
def odoo_version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def odoo_env(odoo_stacks: OdooStacks, odoo_version: str) -> OdooEnv:
    return odoo_stacks.env(odoo_version)


@pytest.fixture(scope="session")
def odoo_install(odoo_stacks: OdooStacks, odoo_version: str) -> OdooInstall:
    return odoo_stacks.install(odoo_version)


@pytest.fixture(scope="session")
def odoo_server(odoo_stacks: OdooStacks, odoo_version: str) -> OdooServer:
    return odoo_stacks.server(odoo_version)


@pytest.fixture
def odoo_backend(odoo_stacks: OdooStacks, odoo_version: str) -> OdooBackend:
    return odoo_stacks.backend(_backend_of(odoo_version))


def _backend_of(version: str) -> str:
    """The first backend on `version` (Odoo 18 has one; later versions, one per transport)."""
    return next(key for key, on in ODOO_BACKENDS.items() if on == version)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One line per Odoo install, unless tests/support/run_summary.py prints it in its own."""
    if config.pluginmanager.has_plugin("tests.support.run_summary"):
        return
    for version, install in INSTALLS.items():
        terminalreporter.write_line(f"{ODOO_VERSIONS[version].label}: {install_summary(install)}")


def install_summary(install: OdooInstall) -> str:
    """What Odoo said of the addon's own tests during the install, in one line."""
    log = install.log_path.relative_to(ROOT)
    if not install.summary_found:
        return f"no test summary in Odoo's log (exit code {install.returncode}; log: {log})"
    return (
        f"Odoo ran {install.tests} of the addon's tests, {install.failed} failed, "
        f"{install.errors} error(s), in {install.seconds:.0f}s (log: {log})"
    )
