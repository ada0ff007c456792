"""The browser test's world around a real Odoo (18 or 19): the Mailjet sandbox and `courierd run`.

`courier_stack_for(...)` starts the sandbox in-process with its webhook pointed
(through a `WebhookGate`) at courierd's receiver with Basic auth, and a real
`courierd run` subprocess as the Courier daemon user of that Odoo database,
over that Odoo's transport (JSON-RPC on 18, JSON-2 with the API key on 19).
`install_language` and `create_accountant` prepare the database over RPC as admin.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import odoorpc

from mailjet_sandbox import SandboxServer
from tests.browser.webhook_gate import WebhookGate
from tests.support.erp_backends import ErpBackend, courierd_odoo_env
from tests.support.processes import DaemonProcess, courierd_process, free_port
from tools import odoo_local

API_KEY = "browser-api-key"
API_SECRET = "browser-api-secret-" + secrets.token_hex(4)
WEBHOOK_USER = "mailjet"
WEBHOOK_PATH = "/webhooks/mailjet"


@dataclass
class CourierStack:
    odoo_url: str
    db: str
    sandbox: SandboxServer
    gate: WebhookGate
    courierd: DaemonProcess
    receiver_url: str


@contextmanager
def courier_stack_for(erp: ErpBackend, workdir: Path, log_name: str) -> Iterator[CourierStack]:
    """Sandbox (webhook -> gate -> courierd's receiver) and `courierd run` for one Odoo DB."""
    webhook_password = secrets.token_urlsafe(16)
    webhook_port = free_port()
    receiver_url = f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}"
    env = courierd_odoo_env(erp) | {
        "COURIER_MAILJET_API_KEY": API_KEY,
        "COURIER_MAILJET_API_SECRET": API_SECRET,
        "COURIER_HTTP_PORT": str(free_port()),
        "COURIER_STATE_DIR": str(workdir / "courierd-state"),
        "COURIER_IDLE_SECONDS": "0.5",
        "COURIER_WEBHOOK_PORT": str(webhook_port),
        "COURIER_WEBHOOK_PATH": WEBHOOK_PATH,
        "COURIER_WEBHOOK_USER": WEBHOOK_USER,
        "COURIER_WEBHOOK_PASSWORD": webhook_password,
        # Events reach Odoo through the webhook only: the gate decides when.
        "COURIER_POLL_INTERVAL_SECONDS": "0",
        "COURIER_LOG_FORMAT": "json",
    }
    with (
        WebhookGate(receiver_url) as gate,
        SandboxServer(
            workdir / "outbox",
            API_KEY,
            API_SECRET,
            webhook_url=gate.url,
            webhook_auth=(WEBHOOK_USER, webhook_password),
            sent_delay=0.2,
        ) as sandbox,
    ):
        env["COURIER_MAILJET_API_URL"] = sandbox.url
        with courierd_process(env, log_name, timeout=60) as courierd:
            yield CourierStack(erp.url, erp.db, sandbox, gate, courierd, receiver_url)


# ------------------------------------------------------------ Odoo setup


def install_language(odoo: odoorpc.ODOO, code: str) -> None:
    """Activate `code` and load every installed module's translations (the addon's fr.po too)."""
    odoo_local.install_language(odoo, code)


def create_accountant(odoo: odoorpc.ODOO, lang: str) -> tuple[str, str]:
    """An internal user with Invoicing's billing rights in `lang`; (login, password)."""
    login = f"accountant-{lang.lower()}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    odoo_local.create_accountant(
        odoo,
        f"Alex Accountant ({lang})",
        login,
        password,
        lang,
        ("account.group_account_invoice",),
    )
    return login, password
