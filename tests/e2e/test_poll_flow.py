"""End to end without a webhook: courierd sends, the poller reads Mailjet, the ERP gets the facts.

On the stand-in ERP and (when found) the real addon in Odoo 18. The sandbox has no
webhook URL; a real `courierd run` sends, then the poller runs in-process against
the ERP and the sandbox, and the real event spool and forwarder take its events to
`courier_ingest`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from courierd.mailjet.client import MailjetClient
from courierd.mailjet.event_mapping import EventMapping, ScannerGuardSettings
from courierd.mailjet.provider import MailjetHistory
from courierd.ops.metrics import Metrics
from courierd.storage.event_spool import EventSpool
from courierd.workers.event_forwarder import EventForwarder
from courierd.workers.poller import Poller
from mailjet_sandbox import find_eml
from tests.e2e.conftest import API_KEY, API_SECRET, Mailjet, daemon_env
from tests.support.erp_backends import ErpBackend, erp_client
from tests.support.processes import courierd_process, wait_until
from tests.support.sandbox_mail import open_pixel, read_email, tracked_links

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
WAIT = 90  # the real Odoo shares two cores with everything else


@dataclass
class PollPath:
    poller: Poller
    forwarder: EventForwarder
    spool: EventSpool

    def round(self) -> int:
        """One polling round, then everything it spooled forwarded to the ERP."""
        added = self.poller.poll_once()
        self.forwarder.flush()
        assert self.spool.depth() == 0
        return added


@pytest.fixture
def send_env(erp_backend: ErpBackend, mailjet: Mailjet, tmp_path: Path) -> dict[str, str]:
    return daemon_env(erp_backend, mailjet.url, tmp_path / "state", "e2e-poll")


@pytest.fixture
def poll_path(erp_backend: ErpBackend, mailjet: Mailjet, tmp_path: Path) -> Iterator[PollPath]:
    erp = erp_client(erp_backend)
    api = MailjetClient(
        api_key=SecretStr(API_KEY), api_secret=SecretStr(API_SECRET), api_url=mailjet.url
    )
    spool = EventSpool(tmp_path / "poll-state")
    metrics = Metrics()
    # Clicks come seconds after delivery here: the delay rule of the guard is off,
    # the user-agent rule stays on.
    mapping = EventMapping(scanner_guard=ScannerGuardSettings(min_seconds_after_delivery=0))
    poller = Poller(
        erp,
        MailjetHistory(api, mapping),
        spool,
        mapping.scanner_guard.rule(),
        interval_seconds=1,
        max_age_days=30,
        batch_size=50,
        metrics=metrics,
    )
    forwarder = EventForwarder(spool=spool, erp=erp, metrics=metrics, batch_size=100)
    yield PollPath(poller, forwarder, spool)
    spool.close()
    api.close()


def _tracking_urls(eml: Path) -> tuple[str, str]:
    """The email's one tracked link (to the web document) and its open pixel."""
    message = read_email(eml)
    [click] = tracked_links(message).values()
    return click, open_pixel(message)


def _recipient(erp: ErpBackend, dispatch_id: int) -> dict:
    (dispatch,) = erp.dispatches([dispatch_id])
    return dispatch["recipients"][0] | {"invoice_state": dispatch["invoice_state"]}


def test_poll_brings_delivery_open_web_document_click_and_bounce(
    erp_backend: ErpBackend, mailjet: Mailjet, send_env: dict[str, str], poll_path: PollPath
) -> None:
    anna_id, bounce_id = erp_backend.seed_dispatches(
        2, ["anna@customer.example", "bounce@customer.example"]
    )
    with courierd_process(send_env, "e2e-poll-flow.log"):
        wait_until(
            lambda: (
                {d["state"] for d in erp_backend.dispatches([anna_id, bounce_id])}
                == {"transmitted"}
            ),
            WAIT,
            "2 dispatches to be transmitted",
        )

    assert poll_path.round() == 2
    assert _recipient(erp_backend, anna_id)["status"] == "delivered"
    bounced = _recipient(erp_backend, bounce_id)
    assert bounced["status"] == "bounced"
    assert bounced["invoice_state"] == "bounced"

    message_id = _recipient(erp_backend, anna_id)["message_id"]
    click_url, pixel_url = _tracking_urls(find_eml(mailjet.outbox, message_id))
    assert requests.get(pixel_url, headers={"User-Agent": BROWSER}, timeout=5).status_code == 200

    assert poll_path.round() == 1
    assert _recipient(erp_backend, anna_id)["status"] == "opened"
    assert _recipient(erp_backend, anna_id)["invoice_state"] != "viewed"

    clicked = requests.get(
        click_url, headers={"User-Agent": BROWSER}, allow_redirects=False, timeout=5
    )
    assert clicked.status_code == 302
    assert "/my/invoices/" in clicked.headers["Location"]

    assert poll_path.round() == 1
    anna = _recipient(erp_backend, anna_id)
    assert anna["status"] == "clicked"
    assert anna["invoice_state"] == "viewed"
    events = erp_backend.events(anna_id)
    assert {e["source"] for e in events if e["type"] != "transmitted"} == {"mailjet_poll"}
    assert [e["web_document"] for e in events if e["type"] == "clicked"] == [True]

    # Clicked and bounced recipients are closed: nothing is left to poll.
    assert poll_path.round() == 0


def test_a_link_scanner_click_found_by_polling_is_not_a_view(
    erp_backend: ErpBackend, mailjet: Mailjet, send_env: dict[str, str], poll_path: PollPath
) -> None:
    (dispatch_id,) = erp_backend.seed_dispatches(1, ["carla@customer.example"])
    with courierd_process(send_env, "e2e-poll-scanner.log"):
        wait_until(
            lambda: erp_backend.dispatches([dispatch_id])[0]["state"] == "transmitted",
            WAIT,
            "the dispatch to be transmitted",
        )
    message_id = _recipient(erp_backend, dispatch_id)["message_id"]
    click_url, _ = _tracking_urls(find_eml(mailjet.outbox, message_id))

    scanner = {"User-Agent": "Mozilla/5.0 (compatible; Barracuda LinkProtect)"}
    assert requests.get(click_url, headers=scanner, allow_redirects=False, timeout=5).ok

    assert poll_path.round() == 2
    recipient = _recipient(erp_backend, dispatch_id)
    assert recipient["status"] == "clicked"
    assert recipient["invoice_state"] != "viewed"
