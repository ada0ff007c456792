"""The compose file's one-shot `setup` service: make a fresh Odoo ready for courierd.

Waits until invoice_courier is installed in ODOO_DB (the odoo service installs
it on its first start), then, as admin: points Odoo's links at ODOO_PUBLIC_URL,
sets the company's sender, and creates the "Courier daemon" user
COURIER_ODOO_LOGIN with the addon's group (or, when it exists, gives it
COURIER_ODOO_PASSWORD again, so docker/.env stays the truth). Idempotent.

Reuses tools/odoo_local.py (mounted read-only at /opt/courier/tools); runs
with the courierd image's python, which has odoorpc.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
from urllib.parse import urlsplit

import odoorpc

from tools import odoo_local

WAIT_SECONDS = float(os.environ.get("SETUP_WAIT_SECONDS", "1200"))


def say(line: str) -> None:
    print(f"setup: {line}", flush=True)


def required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SystemExit(f"setup: {name} is not set (see docker/.env.example)")
    return value


def connect(url: str, db: str, login: str, password: str) -> odoorpc.ODOO:
    parts = urlsplit(url)
    protocol = "jsonrpc+ssl" if parts.scheme == "https" else "jsonrpc"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    odoo = odoorpc.ODOO(parts.hostname, protocol=protocol, port=port, timeout=120)
    odoo.login(db, login, password)
    return odoo


def wait_for_addon(url: str, db: str, password: str) -> odoorpc.ODOO:
    """Admin's connection once the module is installed; exit 1 after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            odoo = connect(url, db, "admin", password)
            state = odoo.execute(
                "ir.module.module",
                "search_read",
                [("name", "=", odoo_local.MODULE)],
                ["state"],
            )
            if state and state[0]["state"] == "installed":
                return odoo
            last = f"{odoo_local.MODULE} is {state[0]['state'] if state else 'unknown'}"
        except odoorpc.error.RPCError as exc:
            last = str(exc).splitlines()[0]
            if "password" in last:
                # Also seen briefly while the database is being created: keep waiting.
                last += " (check ODOO_ADMIN_PASSWORD in docker/.env)"
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        say(f"waiting for Odoo at {url} to finish installing {odoo_local.MODULE} ({last})")
        time.sleep(5)
    raise SystemExit(f"setup: gave up after {WAIT_SECONDS:.0f}s: {last}")


def ensure_daemon_user(odoo: odoorpc.ODOO, login: str, password: str) -> str:
    """Create the daemon user, or reset its password and group; what was done."""
    existing = odoo.execute("res.users", "search", [("login", "=", login)])
    if not existing:
        odoo_local.create_daemon_user(odoo, login, password)
        return "created"
    [group] = odoo.execute(
        "ir.model.data",
        "search_read",
        [("module", "=", odoo_local.MODULE), ("name", "=", odoo_local.DAEMON_GROUP)],
        ["res_id"],
    )
    odoo.execute(
        "res.users",
        "write",
        existing,
        {"password": password, odoo_local.groups_field(odoo): [(6, 0, [group["res_id"]])]},
    )
    return "updated"


def main() -> int:
    url = required("ODOO_URL")
    db = required("ODOO_DB")
    login = required("COURIER_ODOO_LOGIN")
    password = required("COURIER_ODOO_PASSWORD")
    odoo = wait_for_addon(url, db, required("ODOO_ADMIN_PASSWORD"))
    public_url = required("ODOO_PUBLIC_URL").rstrip("/")
    odoo_local.point_urls_at(odoo, public_url)
    sender = os.environ.get("ODOO_SENDER_EMAIL", "").strip()
    if sender:
        odoo_local.configure_sender(odoo, sender, os.environ.get("ODOO_SENDER_NAME") or sender)
    done = ensure_daemon_user(odoo, login, password)
    say(f"{odoo_local.MODULE} installed in {db}; links point at {public_url}")
    say(f'user "Courier daemon" ({login}) {done}; courierd can log in')
    return 0


if __name__ == "__main__":
    sys.exit(main())
