"""No secret in any output of a real `courierd run` (issue 11).

Known secrets go in (Mailjet key and secret, Odoo password, webhook password, a
password in COURIER_ODOO_URL's user info); the daemon sends an invoice, refuses a
webhook call with swapped credentials and takes a good one. Then every log line,
GET /metrics, GET /healthz and the output of `courierd check-config` are searched
for each secret: none may appear.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mailjet_sandbox import SandboxServer
from standin_erp import StandinErp
from tests.support.processes import courierd_process, free_port, run_courierd, wait_until

MAILJET_KEY = "nosecret-mj-key-7f3a21"
MAILJET_SECRET = "nosecret-mj-secret-91bc55"
ODOO_PASSWORD = "nosecret-odoo-pw-5d2e84"
WEBHOOK_USER = "mailjet"
WEBHOOK_PASSWORD = "nosecret-hook-pw-8c4d07"
URL_PASSWORD = "nosecret-url-pw-3e9f62"
SECRETS = (MAILJET_KEY, MAILJET_SECRET, ODOO_PASSWORD, WEBHOOK_PASSWORD, URL_PASSWORD)
WEBHOOK_PATH = "/webhooks/mailjet"


@pytest.fixture
def erp() -> Iterator[StandinErp]:
    with StandinErp(password=ODOO_PASSWORD) as server:
        yield server


def test_no_secret_in_logs_metrics_health_or_check_config(erp: StandinErp, tmp_path: Path) -> None:
    webhook_port = free_port()
    webhook_url = f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}"
    with SandboxServer(
        tmp_path / "outbox",
        MAILJET_KEY,
        MAILJET_SECRET,
        webhook_url=webhook_url,
        webhook_auth=(WEBHOOK_USER, WEBHOOK_PASSWORD),
        sent_delay=0.2,
    ) as sandbox:
        # Every value spelt out here (not the e2e conftest's environment), so each
        # secret is one this test chose.
        env = {
            "COURIER_ODOO_URL": f"http://courierd:{URL_PASSWORD}@127.0.0.1:{erp.port}",
            "COURIER_ODOO_DB": erp.db,
            "COURIER_ODOO_LOGIN": erp.login,
            "COURIER_ODOO_PASSWORD": ODOO_PASSWORD,
            "COURIER_ODOO_TRANSPORT": "jsonrpc",
            "COURIER_MAILJET_API_KEY": MAILJET_KEY,
            "COURIER_MAILJET_API_SECRET": MAILJET_SECRET,
            "COURIER_MAILJET_API_URL": sandbox.url,
            "COURIER_WORKER_ID": "no-secrets",
            "COURIER_IDLE_SECONDS": "0.2",
            "COURIER_HTTP_PORT": str(free_port()),
            "COURIER_STATE_DIR": str(tmp_path / "state"),
            "COURIER_WEBHOOK_PORT": str(webhook_port),
            "COURIER_WEBHOOK_USER": WEBHOOK_USER,
            "COURIER_WEBHOOK_PASSWORD": WEBHOOK_PASSWORD,
            "COURIER_LOG_FORMAT": "json",
            "COURIER_LOG_LEVEL": "debug",
        }
        check = run_courierd(["check-config"], env)
        assert check.returncode == 0, check.stderr
        assert "COURIER_ODOO_URL = http://********@127.0.0.1:" in check.stdout

        [dispatch_id] = erp.seed_dispatches(1)
        with courierd_process(env, "e2e-no-secrets.log") as daemon:
            # A send, and the sandbox's good webhook call with its sent event.
            wait_until(
                lambda: erp.dispatches([dispatch_id])[0]["recipients"][0]["status"] == "delivered",
                60,
                "the invoice sent and its sent event delivered through the webhook",
            )
            # Swapped credentials: the password arrives as the user name.
            refused = requests.post(
                webhook_url, json=[], auth=(WEBHOOK_PASSWORD, WEBHOOK_USER), timeout=10
            )
            assert refused.status_code == 401
            wait_until(
                lambda: "webhook call refused" in daemon.log_text(), 10, "the 401 to be logged"
            )
            metrics = daemon.metrics()
            status, health = daemon.healthz()
            assert status == 200, health
        # The log file collects every run under this name: this run's part is after its header.
        log = daemon.log_path.read_text().rpartition("----- courierd run")[2]

    assert 'courier_webhook_requests_total{status="401"} 1.0' in metrics
    assert "courierd started" in log
    outputs = {
        "log": log,
        "/metrics": metrics,
        "/healthz": str(health),
        "check-config": check.stdout + check.stderr,
    }
    leaks = [
        (where, secret) for where, text in outputs.items() for secret in SECRETS if secret in text
    ]
    assert leaks == []
