"""The send loop's waiting claim (COURIER_CLAIM_WAIT_SECONDS): a long poll instead of a pause.

Fake ERP, Mailjet and PDFs; the loop's monotonic clock is a fake one the fake
ERP moves forward by the time its claim "waited", so nothing here sleeps.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from courierd.domain.backoff import RetryPolicy
from courierd.mailjet.provider import MailjetSender
from courierd.ops.metrics import Health, Metrics
from courierd.storage.report_spool import ReportSpool
from courierd.workers import send_loop
from courierd.workers.send_loop import LoopSettings, SendLoop
from tests.daemon.factories import make_dispatch
from tests.daemon.test_send_loop import NOW, FakeMailjet, FakePdfs


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class WaitingErp:
    """Answers each claim from `batches`; an empty answer to a waiting claim takes its wait."""

    def __init__(self, clock: FakeClock, batches: list[list[dict[str, Any]]]) -> None:
        self.clock = clock
        self.batches = batches
        self.claims: list[float] = []  # the wait_seconds of each claim (0: none asked)
        self.reports: list[dict[str, Any]] = []

    def claim(
        self, worker_id: str, limit: int, lease_seconds: int, wait_seconds: float = 0.0
    ) -> list[dict[str, Any]]:
        self.claims.append(wait_seconds)
        batch = self.batches.pop(0) if self.batches else []
        if not batch:
            self.clock.now += wait_seconds
        return batch

    def report(self, results: list[dict[str, Any]]) -> dict[str, int]:
        self.reports += results
        return {"transmitted": len(results), "retry": 0, "failed": 0, "ignored": 0}


class ImpatientErp(WaitingErp):
    """Answers every claim at once, whatever it was asked to wait."""

    def claim(
        self, worker_id: str, limit: int, lease_seconds: int, wait_seconds: float = 0.0
    ) -> list[dict[str, Any]]:
        self.claims.append(wait_seconds)
        return []


class QueuedPdfs(FakePdfs):
    """FakePdfs that also takes renders ahead (PdfQueue.start) and forgets them."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[int] = []

    def start(self, dispatch_ids: Any) -> None:
        self.started.extend(dispatch_ids)

    def forget(self, dispatch_ids: Any) -> None:
        pass


class StopAfter(threading.Event):
    """A stop event recording each pause of the loop; set after `turns` pauses."""

    def __init__(self, turns: int) -> None:
        super().__init__()
        self.turns = turns
        self.pauses: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.pauses.append(timeout or 0.0)
        if len(self.pauses) >= self.turns:
            self.set()
        return self.is_set()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(send_loop.time, "monotonic", fake.monotonic)
    return fake


def make_loop(tmp_path: Any, erp: WaitingErp, wait: float, batch_size: int = 50) -> SendLoop:
    return SendLoop(
        LoopSettings(
            worker_id="w1",
            batch_size=batch_size,
            idle_seconds=2.0,
            claim_wait_seconds=wait,
            retry_policy=RetryPolicy(30, 3600),
        ),
        erp=erp,
        mail=MailjetSender(FakeMailjet()),
        pdfs=QueuedPdfs(),
        spool=ReportSpool(tmp_path),
        metrics=Metrics(),
        health=Health(60),
        jitter=lambda: 1.0,
        clock=lambda: NOW,
    )


def test_an_empty_claim_that_waited_is_followed_by_the_next_claim_at_once(tmp_path, clock):
    erp = WaitingErp(clock, [[], [], [make_dispatch(1)]])
    stop = StopAfter(turns=3)

    make_loop(tmp_path, erp, wait=10.0).run(stop)

    assert erp.claims[:3] == [10.0, 10.0, 10.0]
    # The two empty claims waited 10 s in Odoo each: no pause on top of that.
    assert stop.pauses[:2] == [0.0, 0.0]
    assert [r["outcome"] for r in erp.reports] == ["transmitted"]


def test_without_a_wait_the_loop_pauses_idle_seconds_between_empty_claims(tmp_path, clock):
    erp = WaitingErp(clock, [])
    stop = StopAfter(turns=2)

    make_loop(tmp_path, erp, wait=0.0).run(stop)

    assert erp.claims == [0.0, 0.0]
    assert stop.pauses == [2.0, 2.0]


def test_an_empty_answer_sooner_than_the_pause_is_topped_up_to_it(tmp_path, clock):
    """A claim answered empty before its wait (another daemon took the send it woke
    for) never makes the loop spin: the pause makes up the rest of idle_seconds."""
    erp = ImpatientErp(clock, [])
    stop = StopAfter(turns=2)

    make_loop(tmp_path, erp, wait=10.0).run(stop)

    assert stop.pauses == [2.0, 2.0]


def test_the_batch_claimed_ahead_never_waits(tmp_path, clock):
    """A full batch with renders claims the next one ahead: that claim must not hold the
    batch in hand for a wait."""
    pending = [make_dispatch(i, pdf_pending=True) for i in (1, 2)]
    erp = WaitingErp(clock, [pending, []])
    loop = make_loop(tmp_path, erp, wait=10.0, batch_size=2)

    assert loop.turn() == 2

    assert erp.claims == [10.0, 0.0]


def test_no_wait_once_a_stop_is_requested(tmp_path, clock):
    erp = WaitingErp(clock, [])
    loop = make_loop(tmp_path, erp, wait=10.0)
    stopping = threading.Event()
    stopping.set()
    loop._stop = stopping

    assert loop.turn() == 0

    assert erp.claims == [0.0]
