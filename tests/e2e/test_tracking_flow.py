"""Tracking end to end, on the stand-in ERP and (when found) the real addon in Odoo 18.

A real `courierd run` sends through the sandbox; the sandbox posts its Event API
callbacks to courierd's webhook receiver, which spools them and forwards them to
the ERP. Opens and clicks are made the way a mail client would: by fetching the
tracked URLs found in the .eml the sandbox wrote.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailjet_sandbox import SandboxServer, find_eml
from tests.e2e.conftest import API_KEY, API_SECRET, daemon_env
from tests.support.erp_backends import ErpBackend
from tests.support.processes import DaemonProcess, courierd_process, free_port, wait_until
from tests.support.sandbox_mail import open_pixel, read_email, tracked_links

WEBHOOK_USER = "mailjet"
BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER_AGENT = "Mozilla/5.0 (compatible; Mimecast URL protect)"
WAIT = 90  # the real Odoo shares two cores with everything else


@dataclass
class Tracked:
    erp: ErpBackend
    sandbox: SandboxServer
    env: dict[str, str]
    webhook_url: str
    password: str

    def post_events(self, events: list[dict[str, Any]], password: str | None = None) -> int:
        request = urllib.request.Request(
            self.webhook_url,
            data=json.dumps(events).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        token = f"{WEBHOOK_USER}:{self.password if password is None else password}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(token).decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def sandbox_events(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.sandbox.url + "_sandbox/messages", timeout=10) as r:
            messages = json.loads(r.read())
        return [event for message in messages for event in message["events"]]

    def eml(self, message_id: str) -> EmailMessage:
        path = find_eml(self.sandbox.outbox, message_id)
        return read_email(path)

    def recipient(self, dispatch_id: int, address: str) -> dict[str, Any]:
        [dispatch] = self.erp.dispatches([dispatch_id])
        return next(r for r in dispatch["recipients"] if r["email"] == address)

    def invoice_state(self, dispatch_id: int) -> str:
        return self.erp.dispatches([dispatch_id])[0]["invoice_state"]

    def wait_status(self, dispatch_id: int, address: str, status: str) -> None:
        wait_until(
            lambda: self.recipient(dispatch_id, address)["status"] == status,
            WAIT,
            f"{address} of dispatch {dispatch_id} to become {status}",
            interval=0.3,
        )


def fetch(url: str, agent: str) -> int:
    """A GET as a mail client would make it; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def tracked(erp_backend: ErpBackend, tmp_path: Path) -> Iterator[Tracked]:
    password = secrets.token_urlsafe(16)
    webhook_port = free_port()
    webhook_url = f"http://127.0.0.1:{webhook_port}/webhooks/mailjet"
    mapping = tmp_path / "events.yaml"
    # Clicks within the default 10 s of delivery would be taken for a scanner's: the
    # test clicks at once, so it lowers the window and tests the user-agent rule.
    mapping.write_text("scanner_guard:\n  min_seconds_after_delivery: 0\n")
    with SandboxServer(
        tmp_path / "outbox",
        API_KEY,
        API_SECRET,
        sent_delay=0.0,
        webhook_url=webhook_url,
        webhook_auth=(WEBHOOK_USER, password),
    ) as sandbox:
        env = daemon_env(erp_backend, sandbox.url, tmp_path / "state", "e2e-tracking") | {
            "COURIER_WEBHOOK_PORT": str(webhook_port),
            "COURIER_WEBHOOK_PASSWORD": password,
            "COURIER_EVENT_MAPPING": str(mapping),
        }
        yield Tracked(erp_backend, sandbox, env, webhook_url, password)


def _state(tracked: Tracked, ids: list[int]) -> list[Any]:
    """What a user sees: each recipient's status and each invoice's state, and the events."""
    dispatches = tracked.erp.dispatches(ids)
    return [
        (
            d["invoice_state"],
            [(r["email"], r["status"]) for r in d["recipients"]],
            sorted(e["dedupe_key"] for e in tracked.erp.events(d["id"])),
        )
        for d in dispatches
    ]


def test_send_deliver_open_click_view_and_bounce(tracked: Tracked) -> None:
    customer = "anna@customer.example"
    [sent_id, bounce_id] = tracked.erp.seed_dispatches(2, [customer, "bounce@customer.example"])

    with courierd_process(tracked.env, "e2e-tracking-flow.log") as daemon:
        tracked.wait_status(sent_id, customer, "delivered")
        recipient = tracked.recipient(sent_id, customer)
        assert tracked.invoice_state(sent_id) == "sent"
        message = tracked.eml(recipient["message_id"])

        assert fetch(open_pixel(message), BROWSER_AGENT) == 200
        tracked.wait_status(sent_id, customer, "opened")
        assert tracked.invoice_state(sent_id) == "sent"  # an open is not a view

        [web_link] = [
            url for target, url in tracked_links(message).items() if "/my/invoices/" in target
        ]
        # A mail gateway's scanner follows the link first: a click, not a view.
        assert fetch(web_link, SCANNER_AGENT) == 302
        tracked.wait_status(sent_id, customer, "clicked")
        assert tracked.invoice_state(sent_id) == "sent"
        # Then the customer does, in a later second: Mailjet's events carry whole
        # seconds, and the same link clicked in the same second is the same fact.
        time.sleep(1.0)
        assert fetch(web_link, BROWSER_AGENT) == 302
        wait_until(lambda: tracked.invoice_state(sent_id) == "viewed", WAIT, "invoice viewed")

        tracked.wait_status(bounce_id, "bounce@customer.example", "bounced")
        assert tracked.invoice_state(bounce_id) == "bounced"
        [activity] = tracked.erp.activities(bounce_id)
        assert "bounce@customer.example" in activity

        events = tracked.erp.events(sent_id)
        clicks = [e for e in events if e["type"] == "clicked"]
        assert len(clicks) == 2
        assert sorted(e["web_document"] for e in clicks) == [False, True]
        assert {e["source"] for e in events} == {"daemon", "mailjet_webhook"}
        assert [e["type"] for e in events if e["source"] == "daemon"] == ["transmitted"]

        # Mailjet retries and reorders: every callback again, shuffled, in two posts.
        before = _state(tracked, [sent_id, bounce_id])
        everything = tracked.sandbox_events()
        # anna: sent, open, the scanner's click, the customer's click; bounce@: bounce.
        assert sorted(e["event"] for e in everything) == [
            "bounce",
            "click",
            "click",
            "open",
            "sent",
        ]
        shuffled = everything * 2
        random.Random(7).shuffle(shuffled)
        assert tracked.post_events(shuffled[:5]) == 200
        assert tracked.post_events(shuffled[5:]) == 200
        wait_until(
            lambda: (daemon.metric("courier_event_spool_depth") or 0) == 0,
            WAIT,
            "the re-posted events to be forwarded",
        )
        assert _state(tracked, [sent_id, bounce_id]) == before


def test_wrong_password_is_refused_and_nothing_stored(tracked: Tracked) -> None:
    customer = "ben@customer.example"
    [dispatch_id] = tracked.erp.seed_dispatches(1, [customer])
    with courierd_process(tracked.env, "e2e-tracking-password.log"):
        tracked.wait_status(dispatch_id, customer, "delivered")
        message_id = tracked.recipient(dispatch_id, customer)["message_id"]
        forged = {"event": "bounce", "time": 1790000000, "MessageID": int(message_id),
                  "email": customer, "hard_bounce": True, "error": "user unknown"}  # fmt: skip
        assert tracked.post_events([forged], password="not-the-password") == 401
        assert tracked.post_events([forged], password="") == 401
        types = [e["type"] for e in tracked.erp.events(dispatch_id)]
    assert types == ["transmitted", "delivered"]
    assert tracked.recipient(dispatch_id, customer)["status"] == "delivered"


def test_killed_after_answering_200_the_event_still_reaches_the_erp(tracked: Tracked) -> None:
    customer = "carl@customer.example"
    [dispatch_id] = tracked.erp.seed_dispatches(1, [customer])
    with courierd_process(tracked.env, "e2e-tracking-kill.log"):
        tracked.wait_status(dispatch_id, customer, "delivered")
    message_id = tracked.recipient(dispatch_id, customer)["message_id"]
    opened = {"event": "open", "time": 1790000100, "MessageID": int(message_id),
              "email": customer, "agent": BROWSER_AGENT, "ip": "192.0.2.1", "geo": ""}  # fmt: skip

    # The ERP cannot be reached (nothing listens there): the event can only be spooled.
    unreachable = tracked.env | {"COURIER_ODOO_URL": f"http://127.0.0.1:{free_port()}"}
    daemon: DaemonProcess
    with courierd_process(unreachable, "e2e-tracking-kill.log") as daemon:
        assert tracked.post_events([opened]) == 200
        daemon.kill()  # answered 200, never forwarded
    assert tracked.recipient(dispatch_id, customer)["status"] == "delivered"

    with courierd_process(tracked.env, "e2e-tracking-kill.log"):
        tracked.wait_status(dispatch_id, customer, "opened")
    assert [e["type"] for e in tracked.erp.events(dispatch_id)].count("opened") == 1


def test_without_a_webhook_the_poller_brings_the_events(tracked: Tracked) -> None:
    customer = "dora@customer.example"
    [dispatch_id] = tracked.erp.seed_dispatches(1, [customer])
    polling = {k: v for k, v in tracked.env.items() if k != "COURIER_WEBHOOK_PASSWORD"}
    polling["COURIER_POLL_INTERVAL_SECONDS"] = "0.5"
    with courierd_process(polling, "e2e-tracking-poll.log") as daemon:
        tracked.wait_status(dispatch_id, customer, "delivered")
        message = tracked.eml(tracked.recipient(dispatch_id, customer)["message_id"])
        assert fetch(open_pixel(message), BROWSER_AGENT) == 200
        tracked.wait_status(dispatch_id, customer, "opened")
        assert (daemon.metric("courier_poll_rounds_total") or 0) >= 2
    sources = {e["type"]: e["source"] for e in tracked.erp.events(dispatch_id)}
    assert sources == {
        "transmitted": "daemon", "delivered": "mailjet_poll", "opened": "mailjet_poll",
    }  # fmt: skip
