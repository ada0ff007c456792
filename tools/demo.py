"""`make demo`: a real Odoo (18 or 19) with invoice_courier, the Mailjet sandbox and courierd.

Uses the Odoo at $ODOO_HOME, else the first of /opt/odoo18, $ODOO19_HOME or
/opt/odoo19, whichever version it is, and says which it found. courierd speaks
JSON-RPC to Odoo 18, and JSON-2 with the daemon user's API key to Odoo 19.
Creates a fresh database `courier_demo_<time>` (generic chart of accounts, no
Odoo demo data) holding a sender company, a customer with three contacts (one
whose address bounces in the sandbox) and a posted invoice; starts odoo-bin,
`courierd sandbox` and `courierd run`, prints where to click, and supervises
the three until Ctrl-C (or SIGTERM), which stops them in order: courierd
(finishes and reports its batch), the sandbox, Odoo. The database is dropped
then, unless --keep-db; earlier demo databases are dropped at start.

Everything it writes is under var/demo/: outbox/ (the .eml files), logs/,
odoo-data/ (Odoo's filestore), courierd-state/ (the report spool).

    .venv/bin/python -m tools.demo [--port 8069] [--keep-db]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import odoorpc

from tools import odoo_local
from tools.odoo_local import ODOO_VERSIONS, ROOT, OdooEnv

DEMO_DIR = ROOT / "var" / "demo"
OUTBOX = DEMO_DIR / "outbox"
LOGS = DEMO_DIR / "logs"
ODOO_DATA = DEMO_DIR / "odoo-data"
COURIERD_STATE = DEMO_DIR / "courierd-state"
DB_PREFIX = "courier_demo_"

ADMIN_LOGIN = "admin"
# A French-speaking accountant: Odoo, the addon and its chatter notes in French.
FRENCH_USER = {"name": "Camille Martin", "login": "camille", "lang": "fr_FR"}
FRENCH_GROUPS = ("account.group_account_manager",)
DAEMON_LOGIN = "courierd"
SENDER = "billing@courier-demo.example"
SENDER_NAME = "Courier Demo"
MAILJET_KEY = "demo-key"
WEBHOOK_USER = "mailjet"
WEBHOOK_PATH = "/webhooks/mailjet"
START_TIMEOUT = 120

CUSTOMER = {"name": "Acme Corporation", "email": "accounts@acme.example", "lang": "en_US"}
CONTACTS = [
    {"name": "Anna Schmidt", "email": "anna@acme.example", "function": "Accountant"},
    {"name": "Ben Okafor", "email": "ben@acme.example", "function": "Purchasing"},
    # The sandbox bounces every address whose local part starts with "bounce".
    {"name": "Bounce Test", "email": "bounce@acme.example", "function": "Sandbox: bounces"},
]
INVOICE_LINES = [
    {"name": "Consulting, November (days)", "quantity": 3, "price_unit": 850.0},
    {"name": "Hosting, monthly plan", "quantity": 1, "price_unit": 120.0},
]


class DemoError(Exception):
    """Something the user must fix; the message says what."""


def say(line: str = "") -> None:
    print(line, flush=True)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class DemoSetup:
    url: str
    admin_password: str
    daemon_password: str
    invoice_id: int
    invoice_name: str
    daemon_api_key: str | None = None  # Odoo 19 and later: courierd speaks JSON-2 with it
    french_password: str = ""  # FRENCH_USER's


@dataclass(frozen=True)
class Wiring:
    """How the sandbox and courierd reach each other, with this run's secrets."""

    sandbox_port: int
    http_port: int
    webhook_port: int
    mailjet_secret: str
    webhook_password: str

    @classmethod
    def choose(cls) -> Wiring:
        """The usual ports where free (8025, 8790, 8791), and fresh secrets."""
        return cls(
            sandbox_port=preferred_port(8025),
            http_port=preferred_port(8790),
            webhook_port=preferred_port(8791),
            mailjet_secret=secrets.token_urlsafe(16),
            webhook_password=secrets.token_urlsafe(16),
        )

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}/"

    @property
    def courierd_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def receiver_url(self) -> str:
        """courierd's webhook receiver, where the sandbox POSTs Mailjet's events."""
        return f"http://127.0.0.1:{self.webhook_port}{WEBHOOK_PATH}"

    def sandbox_command(self) -> tuple[list[str], dict[str, str]]:
        """`courierd sandbox` arguments and COURIER_* environment."""
        args = ["sandbox", "--port", str(self.sandbox_port), "--outbox", str(OUTBOX),
                "--webhook-url", self.receiver_url, "--webhook-user", WEBHOOK_USER]  # fmt: skip
        # The secrets go through the environment: argv is visible to `ps`.
        env = {
            "COURIER_MAILJET_API_KEY": MAILJET_KEY,
            "COURIER_MAILJET_API_SECRET": self.mailjet_secret,
            "COURIER_WEBHOOK_PASSWORD": self.webhook_password,
        }
        return args, env

    def courierd_env(
        self, odoo_url: str, db: str, daemon_password: str, daemon_api_key: str | None = None
    ) -> dict[str, str]:
        """`courierd run`'s COURIER_* environment: this Odoo, the sandbox, the receiver.

        With an API key (Odoo 19) courierd gets the key alone: COURIER_ODOO_TRANSPORT's
        default, auto, then picks JSON-2, which needs no password.
        """
        odoo_secret = (
            {"COURIER_ODOO_API_KEY": daemon_api_key}
            if daemon_api_key
            else {"COURIER_ODOO_PASSWORD": daemon_password}
        )
        return odoo_secret | {
            "COURIER_ODOO_URL": odoo_url,
            "COURIER_ODOO_DB": db,
            "COURIER_ODOO_LOGIN": DAEMON_LOGIN,
            "COURIER_MAILJET_API_KEY": MAILJET_KEY,
            "COURIER_MAILJET_API_SECRET": self.mailjet_secret,
            "COURIER_MAILJET_API_URL": self.sandbox_url,
            "COURIER_STATE_DIR": str(COURIERD_STATE),
            "COURIER_HTTP_PORT": str(self.http_port),
            "COURIER_WEBHOOK_PORT": str(self.webhook_port),
            "COURIER_WEBHOOK_PATH": WEBHOOK_PATH,
            "COURIER_WEBHOOK_USER": WEBHOOK_USER,
            "COURIER_WEBHOOK_PASSWORD": self.webhook_password,
            "COURIER_IDLE_SECONDS": "1",
        }


@dataclass
class Demo:
    env: OdooEnv
    db: str
    port: int
    keep_db: bool
    children: list[Child] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)
    created_db: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self, name: str) -> tuple[Path, IO[bytes]]:
        path = LOGS / f"{name}.log"
        handle = path.open("wb")
        self.logs.append(handle)
        return path, handle

    def spawn(self, name: str, start: Callable[[IO[bytes]], subprocess.Popen[bytes]]) -> Child:
        path, handle = self.log(name)
        child = Child(name, start(handle), path)
        self.children.append(child)
        return child

    # ---------------------------------------------------------------- steps

    def create_database(self) -> None:
        for old in odoo_local.list_databases(self.env, DB_PREFIX):
            error = odoo_local.drop_database(self.env, old, ODOO_DATA / "filestore" / old)
            say(f"Could not drop the earlier demo database {old}: {error}" if error
                else f"Dropped the earlier demo database {old}.")  # fmt: skip
        say(
            f"Creating database {self.db} with invoice_courier and Odoo's demo payment "
            "provider (a minute or two)..."
        )
        log_path, log = self.log("odoo-install")
        self.created_db = True
        started = time.monotonic()
        code = odoo_local.install_module(
            self.env, self.db, ODOO_DATA, log, ["--max-cron-threads=0", "--log-level=warn"]
        )
        if code != 0 or not odoo_local.module_installed(self.env, self.db):
            raise DemoError(f"installing invoice_courier failed (exit {code}); log: {log_path}")
        say(f"Installed in {time.monotonic() - started:.0f}s.")

    def start_odoo(self) -> None:
        odoo = self.spawn(
            "odoo",
            lambda log: odoo_local.start_server(
                self.env, self.db, ODOO_DATA, self.port, log, log_level="info", **supervised()
            ),
        )
        try:
            odoo_local.wait_for_server(odoo.process, self.url, START_TIMEOUT, odoo.log_path)
        except odoo_local.OdooStartError as exc:
            raise DemoError(str(exc)) from exc

    def fill_database(self) -> DemoSetup:
        """Sender, daemon user, customer with contacts, a posted invoice, the demo payment
        provider, a French-speaking accountant, admin's password."""
        odoo = odoo_local.rpc_login(self.url, self.db, ADMIN_LOGIN, "admin")
        odoo_local.point_urls_at(odoo, self.url)
        odoo_local.configure_sender(odoo, SENDER, SENDER_NAME, {"name": "Courier Demo Ltd"})
        odoo_local.enable_demo_payment(odoo)
        say("Loading French (Odoo's and the addon's translations)...")
        odoo_local.install_language(odoo, FRENCH_USER["lang"])
        french_password = "demo-" + secrets.token_hex(4)
        odoo_local.create_accountant(
            odoo,
            FRENCH_USER["name"],
            FRENCH_USER["login"],
            french_password,
            FRENCH_USER["lang"],
            FRENCH_GROUPS,
        )
        daemon_password = secrets.token_urlsafe(16)
        daemon_uid = odoo_local.create_daemon_user(odoo, DAEMON_LOGIN, daemon_password)
        api_key = None
        if self.env.version.major >= 19:
            api_key = odoo_local.create_daemon_api_key(odoo, daemon_uid)
        invoice = post_invoice(odoo, create_customer(odoo))
        # Last: a new password ends this session.
        admin_password = "demo-" + secrets.token_hex(4)
        odoo.execute("res.users", "write", [odoo.env.uid], {"password": admin_password})
        odoo_local.rpc_login(self.url, self.db, ADMIN_LOGIN, admin_password)
        return DemoSetup(
            self.url,
            admin_password,
            daemon_password,
            invoice.id,
            invoice.name,
            api_key,
            french_password,
        )

    def start_sandbox(self, wiring: Wiring) -> None:
        """Events go to courierd's receiver; the sandbox retries them until it answers."""
        args, env = wiring.sandbox_command()
        self.spawn("sandbox", lambda log: courierd(args, env, log))
        self.wait_http("sandbox", wiring.sandbox_url + "_sandbox/health")

    def start_courierd(self, setup: DemoSetup, wiring: Wiring) -> None:
        env = wiring.courierd_env(self.url, self.db, setup.daemon_password, setup.daemon_api_key)
        self.spawn("courierd", lambda log: courierd(["run"], env, log))
        self.wait_http("courierd", wiring.courierd_url + "/healthz")

    def wait_http(self, name: str, url: str) -> None:
        child = next(c for c in self.children if c.name == name)
        deadline = time.monotonic() + START_TIMEOUT
        while odoo_local.http_status(url) != 200:
            if child.process.poll() is not None:
                raise DemoError(
                    f"{name} exited with {child.process.returncode} at start; log: {child.log_path}"
                )
            if time.monotonic() > deadline:
                raise DemoError(f"{name} did not answer {url}; log: {child.log_path}")
            time.sleep(0.2)

    def supervise(self) -> None:
        """Until Ctrl-C/SIGTERM (KeyboardInterrupt), or until a child exits on its own."""
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    raise DemoError(
                        f"{child.name} exited with {child.process.returncode}; "
                        f"log: {child.log_path}"
                    )
            time.sleep(0.5)

    def stop(self) -> None:
        """courierd first (it finishes its batch), then the sandbox, Odoo; then the database."""
        for child in reversed(self.children):
            code = odoo_local.stop_process(child.process)
            say(f"Stopped {child.name} (exit {code}).")
        for handle in self.logs:
            handle.close()
        if not self.created_db:
            return
        if self.keep_db:
            say(f"Kept database {self.db} (the next `make demo` drops it).")
        else:
            error = odoo_local.drop_database(self.env, self.db, ODOO_DATA / "filestore" / self.db)
            say(f"Could not drop database {self.db}: {error}" if error
                else f"Dropped database {self.db}.")  # fmt: skip


# ------------------------------------------------------------------ seeding


@dataclass(frozen=True)
class PostedInvoice:
    id: int
    name: str


def create_customer(odoo: odoorpc.ODOO) -> int:
    """The demo customer (CUSTOMER) with its CONTACTS; its id."""
    return int(
        odoo.execute(
            "res.partner",
            "create",
            {
                **CUSTOMER,
                "is_company": True,
                "child_ids": [(0, 0, {**contact, "lang": "en_US"}) for contact in CONTACTS],
            },
        )
    )


def post_invoice(odoo: odoorpc.ODOO, customer_id: int) -> PostedInvoice:
    """A posted customer invoice of INVOICE_LINES; DemoError if Odoo did not post it."""
    invoice_id = odoo.execute(
        "account.move",
        "create",
        {
            "move_type": "out_invoice",
            "partner_id": customer_id,
            "invoice_line_ids": [(0, 0, line) for line in INVOICE_LINES],
        },
    )
    odoo.execute("account.move", "action_post", [invoice_id])
    [invoice] = odoo.execute("account.move", "read", [invoice_id], ["name", "state"])
    if invoice["state"] != "posted":
        raise DemoError(f"the demo invoice was not posted (state {invoice['state']})")
    return PostedInvoice(int(invoice_id), invoice["name"])


# ------------------------------------------------------------------ helpers


def supervised() -> dict[str, Any]:
    """Popen options for a child the demo stops itself.

    Its own process group keeps a terminal's Ctrl-C away from it, so the
    demo stops the children in order; on Linux it also gets SIGTERM if the
    demo dies without cleaning up (kill -9).
    """
    options: dict[str, Any] = {"process_group": 0}
    if sys.platform == "linux":
        options["preexec_fn"] = _term_with_parent
    return options


def _term_with_parent() -> None:
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def courierd(args: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """`courierd <args>` with exactly `env` as its COURIER_* settings."""
    script = Path(sys.executable).with_name("courierd")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "courierd.cli"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    return subprocess.Popen(
        [*command, *args],
        env=base | env,
        stdout=log,
        stderr=subprocess.STDOUT,
        **supervised(),
    )


def preferred_port(port: int) -> int:
    return port if odoo_local.port_is_free(port) else odoo_local.free_port()


def fresh_directories() -> None:
    """Each demo starts with an empty outbox and spool (the old ones belong to a dropped DB)."""
    for directory in (OUTBOX, COURIERD_STATE):
        shutil.rmtree(directory, ignore_errors=True)
    for directory in (OUTBOX, COURIERD_STATE, LOGS, ODOO_DATA):
        directory.mkdir(parents=True, exist_ok=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def transport_of(env: OdooEnv) -> str:
    """How courierd speaks to that Odoo in the demo, in words."""
    if env.version.major >= 19:
        return "JSON-2, with the Courier daemon user's API key"
    return "JSON-RPC, with the Courier daemon user's password"


def print_ready(demo: Demo, setup: DemoSetup, wiring: Wiring) -> None:
    say()
    say("Invoice Courier demo is ready.")
    say(f"  Odoo      {demo.env.version.label} at {demo.env.home}")
    say(f"            courierd speaks {transport_of(demo.env)} (see its log)")
    say(f"  Open      {setup.url}/web/login")
    say(f"  Log in    {ADMIN_LOGIN} / {setup.admin_password}")
    say(f"  French    {FRENCH_USER['login']} / {setup.french_password}  ({FRENCH_USER['name']}, "
        "Odoo in French)")  # fmt: skip
    say(f"  Invoice   {setup.url}/odoo/customer-invoices/{setup.invoice_id}")
    say(f"            {setup.invoice_name} for {CUSTOMER['name']}")
    say("            click the envelope, pick recipients, then Send the document")
    for index, contact in enumerate(CONTACTS):
        label = "  Contacts" if index == 0 else ""
        note = "  (bounces in the sandbox)" if contact["email"].startswith("bounce") else ""
        say(f"{label:<12}{contact['name']} <{contact['email']}>{note}")
    say(f"  Outbox    {OUTBOX}  (one .eml per recipient: <time>-<address>-<MessageID>.eml)")
    say(f"  Sandbox   {wiring.sandbox_url}_sandbox/messages  (each email and its events)")
    say(f"  courierd  {wiring.courierd_url}/healthz, {wiring.courierd_url}/metrics")
    say(f"  Webhook   {wiring.receiver_url}  (user {WEBHOOK_USER}, password made for this run)")
    say("  Tracking  the invoice turns Sent when Mailjet accepted the email (Transmitted);")
    say("            the sandbox posts Delivered, Opened, Clicked, Bounce... to courierd's")
    say("            webhook, courierd writes them to the Email history tab: the open invoice")
    say("            updates itself. The email's link opens the invoice's web page: view,")
    say("            download, and Pay Now with Odoo's demo provider (any card number).")
    say(f"  Logs      {LOGS}/  (odoo.log, sandbox.log, courierd.log)")
    keep = "kept (--keep-db)" if demo.keep_db else "dropped when you stop"
    say(f"  Database  {demo.db}, {keep}")
    say("  Stop      Ctrl-C stops courierd, the sandbox and Odoo")
    say()


# --------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make demo",
        description="Odoo (18 or 19: $ODOO_HOME, else /opt/odoo18, else /opt/odoo19) with "
        "invoice_courier, the Mailjet sandbox and courierd, ready to click through.",
    )
    parser.add_argument(
        "--port", type=int, help="Odoo's HTTP port (default 8069, or a free one if taken)"
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the demo database when the demo stops (the next demo drops it)",
    )
    return parser.parse_args(argv)


def odoo_homes() -> list[Path]:
    """Where the demo looks for Odoo: $ODOO_HOME alone when set, else each version's home."""
    if os.environ.get("ODOO_HOME"):
        return [Path(os.environ["ODOO_HOME"])]
    return [version.home() for version in ODOO_VERSIONS.values()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    homes = [home for home in odoo_homes() if (home / "src" / "odoo-bin").is_file()]
    if not homes:
        looked = ", ".join(str(home) for home in odoo_homes())
        print(
            "make demo needs an Odoo 18 or 19 at $ODOO_HOME, else /opt/odoo18 or /opt/odoo19 "
            f"(see docs/odoo-setup.md); there is none at {looked} (src/odoo-bin, "
            "venv/bin/python); or run the whole stack in containers: docker/README.md",
            file=sys.stderr,
        )
        return 1
    subprocess.run([str(ROOT / "scripts" / "start-postgres.sh")], check=False)
    try:
        found = odoo_local.detect_odoo_at(homes[0])
    except odoo_local.OdooUnavailable as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return 1
    say(f"Found {found.version.label} at {found.home}: courierd will speak {transport_of(found)}.")
    if args.port is not None and not odoo_local.port_is_free(args.port):
        print(f"make demo: port {args.port} is taken; choose another with --port", file=sys.stderr)
        return 1
    port = args.port or preferred_port(8069)
    if port != (args.port or 8069):
        say(f"Port 8069 is taken: Odoo gets port {port} (or choose one with --port).")

    # Set both explicitly: started in the background, a shell hands SIGINT down ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    fresh_directories()
    db = DB_PREFIX + datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    demo = Demo(found, db, port, args.keep_db)
    code = 0
    try:
        demo.create_database()
        say(f"Starting Odoo on {demo.url} ...")
        demo.start_odoo()
        setup = demo.fill_database()
        wiring = Wiring.choose()
        demo.start_sandbox(wiring)
        demo.start_courierd(setup, wiring)
        print_ready(demo, setup, wiring)
        demo.supervise()
    except KeyboardInterrupt:
        say()
        say("Stopping...")
    except (DemoError, odoorpc.error.Error, OSError) as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        code = 1
    finally:
        # Stopping takes a few seconds; a second Ctrl-C must not leave orphans behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
