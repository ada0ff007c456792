"""The poller with fakes: rounds, backoff on Mailjet and Odoo trouble, quiet-round spacing."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

from courierd.domain.errors import (
    CallFailure,
    ErpUnavailable,
    FailureKind,
    MailProviderCallFailed,
)
from courierd.domain.tracking import TrackingEvent, iso_from_unix
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.provider import MailjetHistory
from courierd.ops import logs
from courierd.ops.metrics import Metrics
from courierd.workers.poller import BACKOFF, Poller

SENT_AT = 1_795_000_000
PORTAL = "https://erp.example.com/my/invoices/17?access_token=secret"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


class FakeErp:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[tuple[int, int]] = []
        self.down = False

    def open_tracking(self, limit: int, max_age_days: int) -> list[dict[str, Any]]:
        self.calls.append((limit, max_age_days))
        if self.down:
            raise ErpUnavailable("connection refused", "check that Odoo is running")
        return self.rows[:limit]


class FakeMailjet:
    def __init__(self) -> None:
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.clicks: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures: dict[str, CallFailure] = {}

    def _answer(self, what: str, message_id: str, table: dict[str, list[dict[str, Any]]]) -> Any:
        self.calls.append((what, message_id))
        failure = self.failures.get(message_id)
        if failure is not None:
            raise MailProviderCallFailed(failure)
        return table.get(message_id, [])

    def message_history(self, message_id: str) -> list[dict[str, Any]]:
        return self._answer("history", message_id, self.histories)

    def click_statistics(self, message_id: str) -> list[dict[str, Any]]:
        return self._answer("clicks", message_id, self.clicks)


class FakeSpool:
    """In memory, like the real spool: new = not already waiting."""

    def __init__(self) -> None:
        self.events: dict[str, TrackingEvent] = {}

    def add(self, events: Sequence[TrackingEvent], invalid: Sequence[Any] = ()) -> int:
        new = 0
        for event in events:
            if event.dedupe_key not in self.events:
                self.events[event.dedupe_key] = event
                new += 1
        return new


class Waits:
    """Records the waits of `run` and stops it after `rounds` of them (no real sleep)."""

    def __init__(self, rounds: int, on_wait: Any = None) -> None:
        self.rounds = rounds
        self.delays: list[float] = []
        self.on_wait = on_wait

    def __call__(self, stop: threading.Event, seconds: float) -> None:
        self.delays.append(seconds)
        if self.on_wait is not None:
            self.on_wait(len(self.delays))
        if len(self.delays) >= self.rounds:
            stop.set()


def _row(message_id: str, email: str = "anna@customer.example") -> dict[str, Any]:
    return {
        "recipient_id": int(message_id),
        "message_id": message_id,
        "custom_id": f"cid-{message_id}",
        "email": email,
        "status": "transmitted",
        "status_time": "2026-11-27T08:00:00Z",
    }


def _sent(at: int = SENT_AT) -> dict[str, Any]:
    return {"EventAt": at, "EventType": "sent", "Comment": "", "State": "", "Useragent": ""}


def _poller(
    erp: FakeErp, mailjet: FakeMailjet, spool: FakeSpool, **kw: Any
) -> tuple[Poller, Waits]:
    waits = kw.pop("waits", Waits(rounds=1))
    mapping = kw.pop("mapping", EventMapping())
    poller = Poller(
        erp,
        MailjetHistory(mailjet, mapping),
        spool,
        mapping.scanner_guard.rule(),
        interval_seconds=60,
        max_age_days=30,
        batch_size=kw.pop("batch_size", 100),
        wait=waits,
        jitter=lambda: 1.0,
        **kw,
    )
    return poller, waits


def test_a_round_spools_the_facts_of_every_open_recipient() -> None:
    erp = FakeErp([_row("101"), _row("102", "bob@customer.example")])
    mailjet = FakeMailjet()
    mailjet.histories["101"] = [_sent()]
    mailjet.histories["102"] = [
        _sent(),
        {"EventAt": SENT_AT + 60, "EventType": "opened", "Useragent": BROWSER},
    ]
    spool = FakeSpool()
    poller, _ = _poller(erp, mailjet, spool, batch_size=50)

    assert poller.poll_once() == 3

    assert erp.calls == [(50, 30)]
    assert mailjet.calls == [("history", "101"), ("history", "102")]
    assert sorted((e.message_id, e.type) for e in spool.events.values()) == [
        ("101", "delivered"),
        ("102", "delivered"),
        ("102", "opened"),
    ]


def test_click_statistics_are_read_only_for_clicked_messages_and_the_guard_applies() -> None:
    erp = FakeErp([_row("101"), _row("102")])
    mailjet = FakeMailjet()
    mailjet.histories["101"] = [_sent()]
    # A click 3 s after delivery: it carries the guard's window, and the ERP, which
    # has the delivery, does not count it as a view.
    mailjet.histories["102"] = [
        _sent(),
        {"EventAt": SENT_AT + 3, "EventType": "clicked", "Useragent": BROWSER},
    ]
    mailjet.clicks["102"] = [{"ClickedAt": iso_from_unix(SENT_AT + 3), "Url": PORTAL}]
    spool = FakeSpool()
    poller, _ = _poller(erp, mailjet, spool)

    poller.poll_once()

    assert ("clicks", "101") not in mailjet.calls
    assert ("clicks", "102") in mailjet.calls
    (click,) = [e for e in spool.events.values() if e.type == "clicked"]
    assert click.url == PORTAL
    assert click.web_document is True
    assert (
        click.min_seconds_after_delivery == EventMapping().scanner_guard.min_seconds_after_delivery
    )


def test_a_fact_already_spooled_by_this_poller_is_not_sent_again() -> None:
    erp = FakeErp([_row("101")])
    mailjet = FakeMailjet()
    mailjet.histories["101"] = [_sent()]
    spool = FakeSpool()
    poller, _ = _poller(erp, mailjet, spool)

    assert poller.poll_once() == 1
    spool.events.clear()  # forwarded to Odoo meanwhile
    assert poller.poll_once() == 0
    assert spool.events == {}


def test_429_stops_the_round_keeps_what_was_read_and_backs_off() -> None:
    erp = FakeErp([_row("101"), _row("102"), _row("103")])
    mailjet = FakeMailjet()
    mailjet.histories["101"] = [_sent()]
    mailjet.failures["102"] = CallFailure(FailureKind.RATE_LIMITED, "429", 429, retry_after=None)
    spool = FakeSpool()
    poller, waits = _poller(erp, mailjet, spool, waits=Waits(rounds=3))

    poller.run(threading.Event())

    assert ("history", "103") not in mailjet.calls
    assert [e.message_id for e in spool.events.values()] == ["101"]
    # jitter 1.0: 10 s, 20 s, 40 s.
    assert waits.delays == [10.0, 20.0, 40.0]


def test_retry_after_is_honoured_and_the_backoff_is_capped() -> None:
    poller, _ = _poller(FakeErp([]), FakeMailjet(), FakeSpool())

    assert poller.backoff(1, retry_after=120.0) == 120.0
    assert poller.backoff(30) == BACKOFF.max_seconds
    assert poller.backoff(30, retry_after=10_000.0) == BACKOFF.max_seconds


def test_a_refused_lookup_of_one_message_skips_it_and_the_round_goes_on() -> None:
    erp = FakeErp([_row("101"), _row("102")])
    mailjet = FakeMailjet()
    mailjet.failures["101"] = CallFailure(FailureKind.CLIENT_ERROR, "400 bad id", 400)
    mailjet.histories["102"] = [_sent()]
    spool = FakeSpool()
    poller, _ = _poller(erp, mailjet, spool)

    assert poller.poll_once() == 1
    assert [e.message_id for e in spool.events.values()] == ["102"]


def test_odoo_down_backs_off_then_polling_resumes() -> None:
    erp = FakeErp([_row("101")])
    erp.down = True
    mailjet = FakeMailjet()
    mailjet.histories["101"] = [_sent()]
    spool = FakeSpool()

    def odoo_back(waited: int) -> None:
        if waited == 2:
            erp.down = False

    poller, waits = _poller(erp, mailjet, spool, waits=Waits(rounds=3, on_wait=odoo_back))

    poller.run(threading.Event())

    assert waits.delays == [10.0, 20.0, 60.0]
    assert len(spool.events) == 1


def test_quiet_rounds_double_the_interval_up_to_8x_and_news_resets_it() -> None:
    erp = FakeErp([_row("101")])
    mailjet = FakeMailjet()
    spool = FakeSpool()

    def news_after_five_quiet_rounds(waited: int) -> None:
        if waited == 5:
            mailjet.histories["101"] = [_sent()]

    poller, waits = _poller(
        erp, mailjet, spool, waits=Waits(rounds=7, on_wait=news_after_five_quiet_rounds)
    )

    poller.run(threading.Event())

    assert waits.delays == [120, 240, 480, 480, 480, 60, 120]


def test_run_never_raises_out_on_an_unexpected_error() -> None:
    class BrokenSpool(FakeSpool):
        def add(self, events: Sequence[TrackingEvent]) -> int:
            raise RuntimeError("disk full")

    erp = FakeErp([_row("101")])
    mailjet = FakeMailjet()
    mailjet.histories["101"] = [_sent()]
    poller, waits = _poller(erp, mailjet, BrokenSpool(), waits=Waits(rounds=2))

    poller.run(threading.Event())

    assert waits.delays == [10.0, 20.0]


def test_recipients_are_spaced_by_the_configured_delay() -> None:
    erp = FakeErp([_row("101"), _row("102"), _row("103")])
    waits = Waits(rounds=100)
    poller, _ = _poller(erp, FakeMailjet(), FakeSpool(), waits=waits, recipient_delay_seconds=0.5)

    poller.poll_once()

    assert waits.delays == [0.5, 0.5]


def test_metrics_count_rounds_calls_events_and_errors() -> None:
    metrics = Metrics()
    erp = FakeErp([_row("101"), _row("102")])
    mailjet = FakeMailjet()
    mailjet.histories["101"] = [_sent()]
    mailjet.failures["102"] = CallFailure(FailureKind.SERVER_ERROR, "503", 503)
    poller, _ = _poller(erp, mailjet, FakeSpool(), metrics=metrics, waits=Waits(rounds=1))

    poller.run(threading.Event())

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert value("courier_poll_mailjet_calls_total") == 2
    assert value("courier_poll_events_total") == 1
    assert value("courier_poll_errors_total", kind="server_error") == 1
    assert value("courier_poll_rounds_total") == 0


class _Stream(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_the_waits_are_logged_with_what_to_check() -> None:
    stream = _Stream()
    logs.configure("info", "json", stream)
    try:
        erp = FakeErp([_row("101")])
        mailjet = FakeMailjet()
        mailjet.failures["101"] = CallFailure(FailureKind.RATE_LIMITED, "429", 429)

        def odoo_goes_down(waited: int) -> None:
            erp.down = True

        poller, _ = _poller(erp, mailjet, FakeSpool(), waits=Waits(2, on_wait=odoo_goes_down))
        poller.run(threading.Event())
    finally:
        logging.getLogger().handlers.clear()

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    throttled, odoo_down = [line for line in lines if line["level"] == "warning"]
    assert "polling again in 10s" in throttled["event"]
    assert "receive webhooks instead" in throttled["event"]
    assert throttled["kind"] == "rate_limited"
    assert "Odoo unreachable" in odoo_down["event"]
    assert "check that Odoo is running" in odoo_down["event"]


def test_a_stop_during_a_round_ends_it_and_keeps_what_was_read() -> None:
    erp = FakeErp([_row("101"), _row("102"), _row("103")])
    mailjet = FakeMailjet()
    mailjet.histories["101"] = [_sent()]
    spool = FakeSpool()
    stop = threading.Event()

    def stop_after_the_first_recipient(waited_stop: threading.Event, seconds: float) -> None:
        stop.set()

    poller, _ = _poller(
        erp, mailjet, spool, waits=stop_after_the_first_recipient, recipient_delay_seconds=1.0
    )
    poller.run(stop)

    assert mailjet.calls == [("history", "101")]
    assert [e.message_id for e in spool.events.values()] == ["101"]
