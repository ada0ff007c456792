"""The send loop with fake ERP, Mailjet and PDF adapters (no network)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from courierd.domain.backoff import RetryPolicy
from courierd.domain.errors import (
    CallFailure,
    ErpCallError,
    ErpUnavailable,
    FailureKind,
    MailProviderCallFailed,
)
from courierd.mailjet.client import SendResponse
from courierd.mailjet.provider import MailjetSender
from courierd.ops.metrics import Health, Metrics
from courierd.storage.report_spool import ReportSpool
from courierd.workers.send_loop import LoopSettings, SendLoop
from tests.daemon.factories import make_dispatch

NOW = datetime(2026, 11, 27, 8, 15, 2, tzinfo=UTC)


class FakeErp:
    def __init__(self, batches: list[list[dict[str, Any]]]) -> None:
        self.batches = batches
        self.reports: list[list[dict[str, Any]]] = []
        self.down = False
        self.claims = 0
        self.on_claim: Any = None

    def claim(self, worker_id: str, limit: int, lease_seconds: int) -> list[dict[str, Any]]:
        if self.down:
            raise ErpUnavailable("Odoo unreachable", "check COURIER_ODOO_URL")
        self.claims += 1
        if self.on_claim:
            self.on_claim()
        return self.batches.pop(0) if self.batches else []

    def report(self, results: list[dict[str, Any]]) -> dict[str, int]:
        if self.down:
            raise ErpUnavailable("Odoo unreachable", "check COURIER_ODOO_URL")
        self.reports.append(results)
        return {"transmitted": len(results), "retry": 0, "failed": 0, "ignored": 0}

    def reported(self) -> list[dict[str, Any]]:
        return [r for report in self.reports for r in report]


class FakeMailjet:
    api_url = "http://127.0.0.1:9/"
    sandbox_mode = False

    def __init__(self) -> None:
        self.sent: list[list[dict[str, Any]]] = []
        self.found: dict[str, list[dict[str, Any]]] = {}
        self.failure: CallFailure | None = None
        self.on_send: Any = None

    def send(self, messages):
        self.sent.append(list(messages))
        if self.on_send:
            self.on_send()
        if self.failure:
            raise MailProviderCallFailed(self.failure)
        return SendResponse(
            200,
            {
                "Messages": [
                    {
                        "Status": "success",
                        "CustomID": m["CustomID"],
                        "To": [
                            {"Email": t["Email"], "MessageID": 1000 + i, "MessageUUID": f"u{i}"}
                            for i, t in enumerate(m["To"])
                        ],
                    }
                    for m in messages
                ]
            },
        )

    def find_by_custom_id(self, custom_id):
        return self.found.get(custom_id, [])


class FakePdfs:
    def __init__(self) -> None:
        self.rendered: list[int] = []

    def render(self, dispatch_ids):
        self.rendered.extend(dispatch_ids)
        return {
            i: {"filename": f"{i}.pdf", "content_type": "application/pdf", "base64": "JVBE"}
            for i in dispatch_ids
        }


@pytest.fixture
def parts(tmp_path):
    erp = FakeErp([])
    mailjet = FakeMailjet()
    pdfs = FakePdfs()
    spool = ReportSpool(tmp_path)
    metrics = Metrics()

    def make_loop() -> SendLoop:
        return SendLoop(
            LoopSettings(worker_id="w1", idle_seconds=0.01, retry_policy=RetryPolicy(30, 3600)),
            erp=erp,
            mail=MailjetSender(mailjet),
            pdfs=pdfs,
            spool=spool,
            metrics=metrics,
            health=Health(60),
            jitter=lambda: 1.0,
            clock=lambda: NOW,
        )

    yield erp, mailjet, pdfs, spool, metrics, make_loop
    spool.close()


def test_a_turn_sends_the_batch_in_one_call_and_reports_transmitted(parts):
    erp, mailjet, _, spool, metrics, make_loop = parts
    erp.batches = [[make_dispatch(1), make_dispatch(2)]]
    loop = make_loop()
    statuses: list[str] = []
    loop._on_status = statuses.append
    assert loop.turn() == 2
    assert statuses == ["last batch: 2 transmitted, 0 to retry, 0 failed; 0 waiting for Odoo"]
    assert len(mailjet.sent) == 1
    assert [m["CustomID"] for m in mailjet.sent[0]] == ["cid0001", "cid0002"]
    assert [r["outcome"] for r in erp.reported()] == ["transmitted", "transmitted"]
    assert erp.reported()[0]["time"] == "2026-11-27T08:15:02Z"
    assert spool.depth() == 0
    assert metrics.sent._value.get() == 2


def test_nothing_claimed_sends_nothing(parts):
    erp, mailjet, _, _, _, make_loop = parts
    assert make_loop().turn() == 0
    assert mailjet.sent == []
    assert erp.reports == []


def test_check_mailjet_first_found_reports_transmitted_without_sending(parts):
    erp, mailjet, _, _, _, make_loop = parts
    erp.batches = [[make_dispatch(1, attempts=2, check_mailjet_first=True), make_dispatch(2)]]
    mailjet.found["cid0001"] = [{"ID": 77, "ContactAlt": "anna@customer.example", "UUID": "u"}]
    make_loop().turn()
    assert [m["CustomID"] for batch in mailjet.sent for m in batch] == ["cid0002"]
    first = erp.reported()[0]
    assert first["outcome"] == "transmitted"
    assert first["recipients"][0]["message_id"] == "77"


def test_check_mailjet_first_not_found_sends(parts):
    erp, mailjet, _, _, _, make_loop = parts
    erp.batches = [[make_dispatch(1, attempts=2, check_mailjet_first=True)]]
    make_loop().turn()
    assert [m["CustomID"] for batch in mailjet.sent for m in batch] == ["cid0001"]


def test_check_mailjet_first_lookup_failure_retries_without_sending(parts):
    erp, mailjet, _, _, _, make_loop = parts
    erp.batches = [[make_dispatch(1, attempts=2, check_mailjet_first=True)]]

    def broken(_custom_id):
        raise MailProviderCallFailed(CallFailure(FailureKind.SERVER_ERROR, "boom", 500))

    mailjet.find_by_custom_id = broken
    make_loop().turn()
    assert mailjet.sent == []
    assert erp.reported()[0]["outcome"] == "retry"


def test_pending_pdfs_are_rendered_and_attached(parts):
    erp, mailjet, pdfs, _, _, make_loop = parts
    erp.batches = [[make_dispatch(1, pdf_pending=True, attachments=[]), make_dispatch(2)]]
    make_loop().turn()
    assert pdfs.rendered == [1]
    sent = {m["CustomID"]: m for m in mailjet.sent[0]}
    assert sent["cid0001"]["Attachments"][0]["Filename"] == "1.pdf"


def test_whole_call_failure_retries_the_batch_then_next_claim_checks_first(parts):
    """A 5xx that came after Mailjet accepted: retried, and the re-claim does not re-send."""
    erp, mailjet, _, _, metrics, make_loop = parts
    erp.batches = [[make_dispatch(1)]]
    mailjet.failure = CallFailure(FailureKind.SERVER_ERROR, "502 Bad Gateway", 502)
    loop = make_loop()
    loop.turn()
    (retry,) = erp.reported()
    assert retry["outcome"] == "retry"
    assert retry["error"]["status"] == 502
    assert metrics.send_errors.labels(kind="server_error")._value.get() == 1
    # Mailjet had in fact accepted it; Odoo hands it back with check_mailjet_first.
    mailjet.failure = None
    mailjet.found["cid0001"] = [{"ID": 9, "ContactAlt": "anna@customer.example"}]
    erp.batches = [[make_dispatch(1, attempts=2, check_mailjet_first=True)]]
    loop.turn()
    assert len(mailjet.sent) == 1  # only the first, failed call
    assert erp.reported()[-1]["outcome"] == "transmitted"


def test_odoo_down_during_report_spools_and_reports_on_the_next_turn(parts):
    erp, mailjet, _, spool, metrics, make_loop = parts
    erp.batches = [[make_dispatch(1)]]
    mailjet.on_send = lambda: setattr(erp, "down", True)  # Odoo dies while we send
    loop = make_loop()
    loop.turn()
    assert erp.reports == []
    assert spool.depth() == 1
    assert metrics.spool_depth._value.get() == 1
    assert loop.health.snapshot().spool_depth == 1
    with pytest.raises(ErpUnavailable):
        loop.turn()  # still down: the flush fails, nothing is claimed
    assert erp.claims == 1
    erp.down = False
    loop.turn()
    assert [r["outcome"] for r in erp.reported()] == ["transmitted"]
    assert spool.depth() == 0
    assert len(mailjet.sent) == 1


def test_spool_left_by_a_crash_is_reported_at_startup(parts):
    erp, _, _, spool, _, make_loop = parts
    result = {
        "id": 5,
        "custom_id": "cid0005",
        "outcome": "transmitted",
        "time": "t",
        "recipients": [],
    }
    spool.add([result])
    loop = make_loop()
    loop.turn()
    assert erp.reports[0] == [result]
    assert spool.depth() == 0


def test_run_waits_while_odoo_is_down_and_never_raises(parts):
    erp, _, _, _, _, make_loop = parts
    erp.down = True
    stop = threading.Event()
    loop = make_loop()
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 3:
            stop.set()
        return stop.is_set()

    stop.wait = wait  # type: ignore[method-assign]
    loop.run(stop)
    assert waits == [2.0, 4.0, 8.0]  # growing back-off (jitter fixed at 100 %)


def test_graceful_stop_finishes_and_reports_the_batch_in_flight(parts):
    erp, mailjet, _, spool, _, make_loop = parts
    stop = threading.Event()
    erp.batches = [[make_dispatch(1), make_dispatch(2)], [make_dispatch(3)]]
    mailjet.on_send = stop.set  # SIGTERM arrives while the Send call is in flight
    make_loop().run(stop)
    assert [r["id"] for r in erp.reported()] == [1, 2]
    assert all(r["outcome"] == "transmitted" for r in erp.reported())
    assert erp.claims == 1  # nothing more was claimed after the stop
    assert spool.depth() == 0


def test_graceful_stop_with_odoo_down_keeps_the_results_spooled(parts):
    erp, mailjet, _, spool, _, make_loop = parts
    stop = threading.Event()
    erp.batches = [[make_dispatch(1)]]

    def odoo_dies_and_sigterm() -> None:
        erp.down = True
        stop.set()

    mailjet.on_send = odoo_dies_and_sigterm
    make_loop().run(stop)
    assert spool.depth() == 1
    assert spool.pending()[0][1]["outcome"] == "transmitted"


def test_invalid_dispatch_fails_without_blocking_the_batch(parts):
    erp, mailjet, _, _, _, make_loop = parts
    erp.batches = [[make_dispatch(1, recipients=[]), make_dispatch(2)]]
    make_loop().turn()
    outcomes = {r["id"]: r["outcome"] for r in erp.reported()}
    assert outcomes == {1: "failed", 2: "transmitted"}
    assert [m["CustomID"] for m in mailjet.sent[0]] == ["cid0002"]


def test_queue_lag_uses_the_oldest_queued_time(parts):
    erp, _, _, _, metrics, make_loop = parts
    erp.batches = [
        [
            make_dispatch(1, queued_at="2026-11-27T08:14:02Z"),
            make_dispatch(2, queued_at="2026-11-27T08:10:02Z"),
        ]
    ]
    make_loop().turn()
    assert metrics.queue_lag._value.get() == 300.0


def test_a_result_odoo_refuses_for_good_does_not_block_the_spool(parts):
    erp, _, _, spool, _, make_loop = parts
    good = {"id": 1, "custom_id": "cid0001", "outcome": "transmitted", "time": "t"}
    poison = {"id": 2, "custom_id": "cid0002", "outcome": "bogus", "time": "t"}
    spool.add([good, poison])
    real_report = erp.report

    def picky_report(results):
        if any(r["outcome"] == "bogus" for r in results):
            raise ErpCallError("ValueError: unknown outcome")
        return real_report(results)

    erp.report = picky_report
    make_loop().turn()
    assert erp.reported() == [good]
    assert spool.depth() == 0


def test_transmitted_at_is_when_mailjet_answered_not_when_the_turn_began(parts, tmp_path):
    erp, mailjet, pdfs, _, metrics, _ = parts
    answered = datetime(2026, 11, 27, 8, 15, 12, tzinfo=UTC)
    clock = [NOW]
    # The Send call takes ten seconds (a slow Mailjet, big PDFs).
    mailjet.on_send = lambda: clock.__setitem__(0, answered)
    spool = ReportSpool(tmp_path / "own")
    loop = SendLoop(
        LoopSettings(worker_id="w1", idle_seconds=0.01, retry_policy=RetryPolicy(30, 3600)),
        erp=erp,
        mail=MailjetSender(mailjet),
        pdfs=pdfs,
        spool=spool,
        metrics=metrics,
        health=Health(60),
        jitter=lambda: 1.0,
        clock=lambda: clock[0],
    )
    erp.batches = [[make_dispatch(1)]]
    loop.turn()
    spool.close()
    [result] = erp.reported()
    assert result["time"] == "2026-11-27T08:15:02Z"
    assert result["transmitted_at"] == "2026-11-27T08:15:12Z"


def test_each_recipient_gets_their_own_email_in_one_call(parts):
    erp, mailjet, _, _, _, make_loop = parts
    recipients = [
        {"id": 1, "email": "anna@customer.example", "name": "Anna"},
        {"id": 2, "email": "typed@elsewhere.example", "name": ""},
    ]
    erp.batches = [[make_dispatch(1, recipients=recipients), make_dispatch(2)]]
    make_loop().turn()
    [call] = mailjet.sent
    assert [[t["Email"] for t in m["To"]] for m in call] == [
        ["anna@customer.example"],
        ["typed@elsewhere.example"],
        ["anna@customer.example"],
    ]
    first, second = erp.reported()
    assert [r["email"] for r in first["recipients"]] == [r["email"] for r in recipients]
    assert second["outcome"] == "transmitted"
