"""The webhook receiver in a real `courierd run`: sandbox callbacks, auth, kill -9, bad mapping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from mailjet_sandbox import SandboxServer
from standin_erp import StandinErp
from tests.e2e.conftest import API_KEY, API_SECRET
from tests.support.processes import (
    courierd_process,
    free_port,
    run_courierd,
    start_courierd,
    wait_until,
)

WEBHOOK_PATH = "/webhooks/mailjet"
WEBHOOK_USER = "mailjet"
WEBHOOK_PASSWORD = "e2e-webhook-password"


@pytest.fixture
def webhook_env(courier_env: dict[str, str]) -> dict[str, str]:
    return courier_env | {
        "COURIER_WEBHOOK_PORT": str(free_port()),
        "COURIER_WEBHOOK_PASSWORD": WEBHOOK_PASSWORD,
    }


def webhook_url(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['COURIER_WEBHOOK_PORT']}{WEBHOOK_PATH}"


@contextmanager
def sandbox_posting_to(
    env: dict[str, str], tmp_path: Path, password: str
) -> Iterator[SandboxServer]:
    with SandboxServer(
        tmp_path / "webhook-outbox",
        API_KEY,
        API_SECRET,
        webhook_url=webhook_url(env),
        webhook_auth=(WEBHOOK_USER, password),
        sent_delay=0.3,
    ) as server:
        yield server


def recipient(erp: StandinErp, dispatch_id: int) -> dict:
    [state] = erp.dispatches([dispatch_id])
    return state["recipients"][0]


def test_sandbox_sent_event_makes_the_recipient_delivered(
    standin_erp: StandinErp, webhook_env: dict[str, str], tmp_path: Path
) -> None:
    with sandbox_posting_to(webhook_env, tmp_path, WEBHOOK_PASSWORD) as sandbox:
        env = webhook_env | {"COURIER_MAILJET_API_URL": sandbox.url}
        [dispatch_id] = standin_erp.seed_dispatches(1)
        with courierd_process(env, "e2e-webhook-delivered.log") as daemon:
            wait_until(
                lambda: recipient(standin_erp, dispatch_id)["status"] == "delivered",
                60,
                "the sandbox's sent event to reach the ERP",
            )
            events = standin_erp.events(dispatch_id)
            assert [e["source"] for e in events if e["type"] == "delivered"] == ["mailjet_webhook"]
            assert daemon.metric('courier_webhook_requests_total{status="200"}')
            assert WEBHOOK_PASSWORD not in daemon.log_text()
            assert webhook_url(env) in daemon.log_text()


def test_wrong_webhook_password_gets_401_and_nothing_reaches_odoo(
    standin_erp: StandinErp, webhook_env: dict[str, str], tmp_path: Path
) -> None:
    with sandbox_posting_to(webhook_env, tmp_path, "not-the-password") as sandbox:
        env = webhook_env | {"COURIER_MAILJET_API_URL": sandbox.url}
        [dispatch_id] = standin_erp.seed_dispatches(1)
        with courierd_process(env, "e2e-webhook-401.log") as daemon:
            wait_until(
                lambda: (daemon.metric('courier_webhook_requests_total{status="401"}') or 0) >= 2,
                60,
                "the sandbox's refused callbacks",
            )
            assert daemon.metric("courier_event_spool_depth") == 0
            assert recipient(standin_erp, dispatch_id)["status"] == "transmitted"
            assert [e["type"] for e in standin_erp.events(dispatch_id)] == ["transmitted"]
            assert "not-the-password" not in daemon.log_text()


def test_killed_after_answering_200_with_odoo_down_forwards_after_restart(
    standin_erp: StandinErp, webhook_env: dict[str, str]
) -> None:
    [dispatch_id] = standin_erp.seed_dispatches(1)
    daemon = start_courierd(webhook_env, "e2e-webhook-kill.log")
    try:
        wait_until(
            lambda: recipient(standin_erp, dispatch_id)["message_id"], 60, "the transmitted report"
        )
        sent = recipient(standin_erp, dispatch_id)
        standin_erp.go_down("refuse")
        callback = [
            {
                "event": "sent",
                "time": int(time.time()),
                "MessageID": int(sent["message_id"]),
                "email": sent["email"],
                "smtp_reply": "250 OK",
            }
        ]
        answer = requests.post(
            webhook_url(webhook_env),
            json=callback,
            auth=(WEBHOOK_USER, WEBHOOK_PASSWORD),
            timeout=10,
        )
        assert answer.status_code == 200
        assert daemon.metric("courier_event_spool_depth") == 1
        assert daemon.healthz()[1]["event_spool_depth"] == 1  # type: ignore[index]
    finally:
        daemon.kill()
        daemon.close_log()

    standin_erp.come_back()
    with courierd_process(webhook_env, "e2e-webhook-kill.log") as restarted:
        wait_until(
            lambda: recipient(standin_erp, dispatch_id)["status"] == "delivered",
            60,
            "the spooled event to reach the ERP after the restart",
        )
        wait_until(lambda: restarted.metric("courier_event_spool_depth") == 0, 10, "an empty spool")


def test_without_a_password_the_receiver_is_off_and_says_so(
    courier_env: dict[str, str],
) -> None:
    env = courier_env | {"COURIER_WEBHOOK_PORT": str(free_port())}
    with courierd_process(env, "e2e-webhook-off.log") as daemon:
        assert "COURIER_WEBHOOK_PASSWORD" in daemon.log_text()
        with pytest.raises(requests.ConnectionError):
            requests.post(webhook_url(env), json=[], timeout=5)


def test_a_broken_events_mapping_stops_check_config_and_run_with_exit_2(
    courier_env: dict[str, str], tmp_path: Path
) -> None:
    mapping = tmp_path / "events.yaml"
    mapping.write_text("statuses:\n  open: seen\n", encoding="utf-8")
    env = courier_env | {"COURIER_EVENT_MAPPING": str(mapping)}
    for command in (["check-config"], ["run"]):
        result = run_courierd(command, env)
        assert result.returncode == 2, result.stderr
        assert str(mapping) in result.stderr
        assert "statuses.open" in result.stderr
