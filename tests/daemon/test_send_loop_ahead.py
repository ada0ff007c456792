"""The send loop renders the next batch's PDFs while it sends and reports the current one."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from courierd.domain.backoff import RetryPolicy
from courierd.mailjet.provider import MailjetSender
from courierd.ops.metrics import Health, Metrics
from courierd.storage.report_spool import ReportSpool
from courierd.workers.send_loop import LoopSettings, SendLoop
from tests.daemon.factories import make_dispatch
from tests.daemon.test_send_loop import NOW, FakeErp, FakeMailjet


class RecordingPdfs:
    """Renders at once; records starts, renders and forgets in one shared event list."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.started: set[int] = set()

    def start(self, dispatch_ids: Sequence[int]) -> None:
        self.events.append(("start", list(dispatch_ids)))
        self.started.update(dispatch_ids)

    def forget(self, dispatch_ids: Sequence[int]) -> None:
        self.events.append(("forget", list(dispatch_ids)))
        self.started.difference_update(dispatch_ids)

    def render(self, dispatch_ids: Sequence[int]) -> dict[int, dict[str, Any] | Exception]:
        self.events.append(("render", list(dispatch_ids)))
        return {
            i: {"filename": f"{i}.pdf", "content_type": "application/pdf", "base64": "JVBE"}
            for i in dispatch_ids
        }


def pending(*ids: int) -> list[dict[str, Any]]:
    return [make_dispatch(i, pdf_pending=True, attachments=[]) for i in ids]


@pytest.fixture
def parts(tmp_path):
    events: list[Any] = []
    erp = FakeErp([])
    erp.on_claim = lambda: events.append("claim")
    mailjet = FakeMailjet()
    mailjet.on_send = lambda: events.append("send")
    pdfs = RecordingPdfs(events)
    spool = ReportSpool(tmp_path)

    def make_loop(lease_seconds: int = 300) -> SendLoop:
        return SendLoop(
            LoopSettings(
                worker_id="w1",
                batch_size=2,
                lease_seconds=lease_seconds,
                idle_seconds=0.01,
                retry_policy=RetryPolicy(30, 3600),
            ),
            erp=erp,
            mail=MailjetSender(mailjet),
            pdfs=pdfs,
            spool=spool,
            metrics=Metrics(),
            health=Health(60),
            jitter=lambda: 1.0,
            clock=lambda: NOW,
        )

    yield erp, mailjet, pdfs, events, make_loop
    spool.close()


def sent_ids(mailjet: FakeMailjet) -> list[list[str]]:
    return [[m["CustomID"] for m in call] for call in mailjet.sent]


def test_next_batch_is_claimed_and_rendering_before_this_one_is_sent(parts):
    erp, mailjet, _, events, make_loop = parts
    erp.batches = [pending(1, 2), pending(3, 4), []]
    loop = make_loop()
    assert loop.turn() == 2
    # This batch's renders are queued first, the next batch's behind them, then the send.
    assert events[:5] == [
        "claim",
        ("start", [1, 2]),
        "claim",
        ("start", [3, 4]),
        ("render", [1, 2]),
    ]
    assert events[5] == "send"
    assert [r["id"] for r in erp.reported()] == [1, 2]
    assert loop.turn() == 2  # the batch claimed ahead, then one more claim ahead (empty)
    assert sent_ids(mailjet) == [["cid0001", "cid0002"], ["cid0003", "cid0004"]]
    assert erp.claims == 3
    assert [r["id"] for r in erp.reported()] == [1, 2, 3, 4]
    assert all(r["outcome"] == "transmitted" for r in erp.reported())


@pytest.mark.parametrize(
    "batch",
    [pending(1), [make_dispatch(1), make_dispatch(2)]],
    ids=["batch-not-full", "no-pdf-to-render"],
)
def test_no_claim_ahead_when_nothing_would_overlap(parts, batch):
    erp, mailjet, _, events, make_loop = parts
    erp.batches = [batch, pending(3, 4)]
    make_loop().turn()
    assert erp.claims == 1
    assert not any(e[0] == "start" for e in events if isinstance(e, tuple))
    assert len(mailjet.sent) == 1


def test_dispatches_checked_at_mailjet_first_are_not_rendered_ahead(parts):
    erp, _, _, events, make_loop = parts
    first = [*pending(1), make_dispatch(2, pdf_pending=True, check_mailjet_first=True)]
    erp.batches = [first, []]
    make_loop().turn()
    assert events[1] == ("start", [1])


def test_graceful_stop_sends_and_reports_the_batch_claimed_ahead(parts):
    erp, mailjet, _, _, make_loop = parts
    stop = threading.Event()
    erp.batches = [pending(1, 2), pending(3, 4), pending(5, 6)]
    mailjet.on_send = stop.set  # SIGTERM arrives while the first Send call is in flight
    make_loop().run(stop)
    assert sent_ids(mailjet) == [["cid0001", "cid0002"], ["cid0003", "cid0004"]]
    assert [r["id"] for r in erp.reported()] == [1, 2, 3, 4]
    assert erp.claims == 2  # nothing claimed once stopping
    assert erp.batches == [pending(5, 6)]


def test_stop_with_odoo_down_leaves_the_batch_ahead_to_its_lease(parts):
    erp, mailjet, pdfs, events, make_loop = parts
    stop = threading.Event()
    erp.batches = [pending(1, 2), pending(3, 4)]

    def odoo_dies_and_sigterm() -> None:
        erp.down = True
        stop.set()

    mailjet.on_send = odoo_dies_and_sigterm
    make_loop().run(stop)  # returns: nothing waits on Odoo coming back
    assert sent_ids(mailjet) == [["cid0001", "cid0002"]]
    assert ("forget", [3, 4]) in events
    assert not pdfs.started & {3, 4}


def test_a_batch_ahead_past_half_its_lease_is_not_sent(parts):
    erp, mailjet, _, events, make_loop = parts
    # A lease of 0 s: the batch claimed ahead is already past half of it at the next turn.
    erp.batches = [pending(1, 2), pending(3, 4), pending(5)]
    loop = make_loop(lease_seconds=0)
    loop.turn()
    loop.turn()
    assert ("forget", [3, 4]) in events
    assert sent_ids(mailjet) == [["cid0001", "cid0002"], ["cid0005"]]
