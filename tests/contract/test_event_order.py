"""The final tracking state follows from the set of events, whatever their order (issue 10).

On every ERP backend, one seeded set of Mailjet events (over 2,000: deliveries,
opens, clicks on the invoice's web document by customers and by link scanners,
soft and hard bounces with different reasons, blocks, spam complaints,
unsubscriptions, some recipients whose delivery never comes) is normalized as
courierd does it (event normalizer and scanner guard) and ingested three times,
each time into its own identical batch of sends:

1. in order of event time;
2. shuffled, a third of the events twice, in batches of random sizes;
3. shuffled again with duplicates, the ERP restarted halfway and the batch
   before the restart sent again (its answer "lost").

Then every field is compared: recipients' statuses, status times and error
texts, dispatch and invoice states, viewed times, the invoice notes and
activities, and the stored events. On real Odoo the in-order result is also
compared with the stand-in's, which keeps the addon and the stand-in equal.
The test prints the figures.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from courierd.domain.scanner_guard import ScannerGuard
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.event_normalizer import normalize_mailjet_event
from standin_erp import StandinErp
from tests.contract.client import Contract, new_message_id, unique_email
from tests.support.erp_backends import ODOO_BACKENDS, ErpBackend, StandinBackend

INVOICES = 64  # every other one with two recipients: 96 recipients
T0 = 1_790_000_000  # 2026-09-21T14:13:20Z
REPORT_TIME = "2026-09-21T14:13:00Z"
PORTAL = "https://erp.example/my/invoices/{}?access_token=tok"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Mimecast URL protect)"
SEED = 1010
MAPPING = EventMapping()
GUARD: ScannerGuard = MAPPING.scanner_guard.rule()
WINDOW = GUARD.min_seconds_after_delivery


@dataclass
class Template:
    """The event set, without the run's MessageIDs: per invoice, per recipient, Mailjet objects."""

    recipients: list[int]  # recipients per invoice
    objects: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.objects)


def _distinct_times(rng: random.Random, low: int, high: int, count: int) -> list[int]:
    return sorted(rng.sample(range(low, high), count))


def make_template(seed: int = SEED) -> Template:
    rng = random.Random(seed)
    template = Template([2 if i % 2 == 0 else 1 for i in range(INVOICES)])
    for invoice, count in enumerate(template.recipients):
        for recipient in range(count):
            base = T0 + invoice * 3600 + recipient * 600
            objects: list[dict[str, Any]] = []
            add = objects.append
            delivered = rng.random() > 0.1  # one in ten: the delivery never comes
            sent_at = base + rng.randint(0, 30)
            if delivered:
                add({"event": "sent", "time": sent_at, "smtp_reply": "250 2.0.0 OK queued"})
            for at in _distinct_times(rng, sent_at + 30, sent_at + 9000, rng.randint(11, 19)):
                add({"event": "open", "time": at, "agent": BROWSER})
            portal = PORTAL.format(invoice)
            # Web-document clicks: scanners by time (within the window of the delivery)
            # and by user agent, and the customer's own, early and late.
            for at in rng.sample(range(sent_at + 1, sent_at + WINDOW), rng.randint(0, 2)):
                add({"event": "click", "time": at, "url": portal, "agent": BROWSER})
            if rng.random() < 0.5:
                at = sent_at + rng.randint(1, 4000)
                add({"event": "click", "time": at, "url": portal, "agent": SCANNER})
            for at in _distinct_times(rng, sent_at + WINDOW, sent_at + 9000, rng.randint(0, 3)):
                add({"event": "click", "time": at, "url": portal, "agent": BROWSER})
            for at in _distinct_times(rng, sent_at + 60, sent_at + 9000, rng.randint(1, 4)):
                add({"event": "click", "time": at, "url": "https://example.com/terms"})
            roll = rng.random()
            late = _distinct_times(rng, sent_at + 9001, sent_at + 20000, 4)
            if roll < 0.25:  # soft bounces, then maybe a hard one: the latest reason wins
                reasons = ["mailbox full", "greylisted", "try again later", "550 user unknown"]
                for number, at in enumerate(late[: rng.randint(2, 4)]):
                    add({"event": "bounce", "time": at, "hard_bounce": number == 3,
                         "comment": reasons[number], "error": "user"})  # fmt: skip
            elif roll < 0.35:
                add({"event": "blocked", "time": late[0], "error": "preblocked"})
                if rng.random() < 0.5:
                    add({"event": "bounce", "time": late[1], "hard_bounce": True})
            elif roll < 0.45:
                add({"event": "spam", "time": late[0], "source": "JMRPP"})
                add({"event": "unsub", "time": late[1]})
            elif roll < 0.5:
                add({"event": "unsub", "time": late[0]})
            template.objects += [(invoice, recipient, obj) for obj in objects]
    return template


# ------------------------------------------------------------------- a run


@dataclass
class Run:
    dispatch_ids: list[int]
    events: list[dict[str, Any]]


def prepare_run(backend: ErpBackend, contract: Contract, template: Template) -> Run:
    """Its own sends (same shape as every run's), transmitted at the same time, and the
    template's events for them, normalized as courierd normalizes them."""
    emails = [
        [unique_email(f"o{i}r{r}") for r in range(n)] for i, n in enumerate(template.recipients)
    ]
    dispatch_ids = backend.seed_dispatches(len(emails), [", ".join(e) for e in emails])
    claimed = {d["id"]: d for d in contract.claim_ours(dispatch_ids)}
    message_ids: dict[tuple[int, int], str] = {}
    reports = []
    for invoice, dispatch_id in enumerate(dispatch_ids):
        dispatch = claimed[dispatch_id]
        recipients = []
        for number, address in enumerate(emails[invoice]):
            message_ids[invoice, number] = new_message_id()
            recipients.append(
                {
                    "email": address,
                    "message_id": message_ids[invoice, number],
                    "message_uuid": str(uuid.uuid4()),
                }
            )
        reports.append(
            {
                "id": dispatch_id,
                "custom_id": dispatch["custom_id"],
                "outcome": "transmitted",
                "time": REPORT_TIME,
                "recipients": recipients,
            }
        )
    for start in range(0, len(reports), 50):
        contract.report(reports[start : start + 50])
    events = []
    for invoice, number, obj in template.objects:
        mailjet = obj | {
            "MessageID": int(message_ids[invoice, number]),
            "email": emails[invoice][number],
            "CustomID": claimed[dispatch_ids[invoice]]["custom_id"],
        }
        event = normalize_mailjet_event(mailjet, MAPPING, "mailjet_webhook")
        assert event is not None
        events.append(dict(GUARD.check(event).to_contract()))
    return Run(dispatch_ids, events)


def batches(events: list[dict[str, Any]], rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    start = 0
    while start < len(events):
        size = rng.randint(50, 500)
        yield events[start : start + size]
        start += size


def with_duplicates(events: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    shuffled = events + [dict(e) for e in rng.sample(events, len(events) // 3)]
    rng.shuffle(shuffled)
    return shuffled


@dataclass
class Ingested:
    label: str
    calls: int = 0
    sent: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "duplicate": 0, "unmatched": 0}
    )
    seconds: float = 0.0

    def add(self, answer: dict[str, int], size: int) -> None:
        self.calls += 1
        self.sent += size
        for key in self.counts:
            self.counts[key] += answer.get(key, 0)

    def line(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        return (
            f"{self.label}: {self.sent} events in {self.calls} calls ({counts}) "
            f"in {self.seconds:.1f} s"
        )


def ingest_all(contract: Contract, chunks: list[list[dict[str, Any]]], label: str) -> Ingested:
    outcome = Ingested(label)
    started = time.monotonic()
    for chunk in chunks:
        outcome.add(contract.ingest(chunk), len(chunk))
    outcome.seconds = time.monotonic() - started
    return outcome


# --------------------------------------------------------------- the state


def tracking_state(backend: ErpBackend, dispatch_ids: list[int]) -> dict[str, Any]:
    """Every tracking field of the run's sends, per invoice in seeding order.

    Ids, keys and MessageIDs differ between runs by construction and are left out.
    """
    dispatches = backend.dispatches(dispatch_ids)
    if isinstance(backend, StandinBackend):
        extra = _standin_extra(backend.erp, dispatch_ids)
    else:
        extra = _odoo_extra(backend, [d["invoice_id"] for d in dispatches], dispatch_ids)
    return {
        "dispatches": [(d["state"], d["invoice_state"], d["is_move_sent"]) for d in dispatches],
        "recipients": [
            [(r["status"], r["status_time"], r["error_text"]) for r in d["recipients"]]
            for d in dispatches
        ],
        **extra,
    }


def _standin_extra(erp: StandinErp, dispatch_ids: list[int]) -> dict[str, Any]:
    notes = [erp.store.notes(d) for d in dispatch_ids]
    return {
        "viewed_at": [erp.store.viewed_at(d) for d in dispatch_ids],
        "viewed_notes": [sum(n["body"] == "Viewed by the customer" for n in ns) for ns in notes],
        "alerts": [sum(n["kind"] == "activity" for n in ns) for ns in notes],
        "notes": [len(ns) for ns in notes],
        "events": [
            sorted((e["type"], e["event_time"], e["web_document"]) for e in erp.events(d))
            for d in dispatch_ids
        ],
    }


def _odoo_extra(backend: Any, move_ids: list[int], dispatch_ids: list[int]) -> dict[str, Any]:
    call = backend.admin.execute_kw
    moves = {m["id"]: m for m in call("account.move", "read", [move_ids, ["courier_viewed_at"]])}
    [root] = call(
        "ir.model.data",
        "search_read",
        [[("module", "=", "base"), ("name", "=", "partner_root")], ["res_id"]],
    )
    messages: dict[int, list[str]] = {m: [] for m in move_ids}
    for message in call(
        "mail.message",
        "search_read",
        [
            [("model", "=", "account.move"), ("res_id", "in", move_ids),
             ("author_id", "=", root["res_id"]), ("message_type", "=", "comment")],
            ["res_id", "body"],
        ],
    ):  # fmt: skip
        messages[message["res_id"]].append(message["body"] or "")
    activities = {m: 0 for m in move_ids}
    for activity in call(
        "mail.activity",
        "search_read",
        [[("res_model", "=", "account.move"), ("res_id", "in", move_ids)], ["res_id"]],
    ):
        activities[activity["res_id"]] += 1
    events: dict[int, list[tuple[str, str, bool]]] = {d: [] for d in dispatch_ids}
    for event in call(
        "courier.event",
        "search_read",
        [
            [("dispatch_id", "in", dispatch_ids)],
            ["type", "event_time", "web_document", "dispatch_id"],
        ],
    ):
        when = event["event_time"].replace(" ", "T") + "Z"
        events[event["dispatch_id"][0]].append((event["type"], when, event["web_document"]))
    viewed = [moves[m]["courier_viewed_at"] for m in move_ids]
    return {
        "viewed_at": [v.replace(" ", "T") + "Z" if v else None for v in viewed],
        "viewed_notes": [sum("Viewed by the customer" in b for b in messages[m]) for m in move_ids],
        "alerts": [activities[m] for m in move_ids],
        "notes": [len(messages[m]) for m in move_ids],
        "events": [sorted(events[d]) for d in dispatch_ids],
    }


def differences(first: dict[str, Any], other: dict[str, Any], keys: list[str]) -> list[str]:
    """Where `other` differs from `first`: field and invoice, with both values."""
    found = []
    for key in keys:
        for invoice, (a, b) in enumerate(zip(first[key], other[key], strict=True)):
            if a != b:
                found.append(f"{key}, invoice {invoice}: {a!r} != {b!r}")
    return found


def counted_fields(state: dict[str, Any]) -> int:
    """How many values a comparison of two states looks at."""
    total = 0
    for value in state.values():
        for item in value:
            if isinstance(item, list):
                total += sum(len(x) if isinstance(x, tuple) else 1 for x in item)
            else:
                total += len(item) if isinstance(item, tuple) else 1
    return total


# ---------------------------------------------------------------- the test


def restart(backend: ErpBackend, request: pytest.FixtureRequest) -> None:
    if isinstance(backend, StandinBackend):
        backend.erp.restart()
        return
    key = request.node.callspec.params["erp_backend"]
    request.getfixturevalue("odoo_stacks").restart_server(ODOO_BACKENDS[key])


def test_the_same_events_in_any_order_give_the_same_state(
    erp_backend: ErpBackend, request: pytest.FixtureRequest
) -> None:
    template = make_template()
    assert template.size >= 2000
    rng = random.Random(SEED)
    contract = Contract(erp_backend)
    started = time.monotonic()
    try:
        runs = [prepare_run(erp_backend, contract, template) for _ in range(3)]
        prepare_seconds = time.monotonic() - started
        in_order = sorted(runs[0].events, key=lambda e: (e["time"], e["dedupe_key"]))
        results = [
            ingest_all(
                contract, [in_order[i : i + 500] for i in range(0, len(in_order), 500)], "in order"
            )
        ]
        shuffled = list(batches(with_duplicates(runs[1].events, rng), rng))
        results.append(ingest_all(contract, shuffled, "shuffled with duplicates"))
        again = list(batches(with_duplicates(runs[2].events, rng), rng))
        half = len(again) // 2
        first = ingest_all(contract, again[:half], "")
    finally:
        contract.close()
    restarted = time.monotonic()
    restart(erp_backend, request)
    restart_seconds = time.monotonic() - restarted
    # After the restart, as courierd: a new session, and the batch whose answer was lost again.
    contract = Contract(erp_backend)
    try:
        second = ingest_all(contract, again[half - 1 :], "")
    finally:
        contract.close()
    third = Ingested("shuffled again, ERP restarted halfway")
    third.calls, third.sent = first.calls + second.calls, first.sent + second.sent
    third.seconds = first.seconds + second.seconds
    third.counts = {k: first.counts[k] + second.counts[k] for k in first.counts}
    results.append(third)

    started = time.monotonic()
    states = [tracking_state(erp_backend, run.dispatch_ids) for run in runs]
    read_seconds = time.monotonic() - started
    keys = list(states[0])
    for result, state in zip(results[1:], states[1:], strict=True):
        found = differences(states[0], state, keys)
        assert not found, f"{result.label} differs from in order:\n" + "\n".join(found[:20])
    for result in results:
        assert result.counts["created"] == template.size, result.line()
        assert result.counts["unmatched"] == 0, result.line()

    compared = counted_fields(states[0])
    summary = [
        f"{template.size} events, {INVOICES} invoices, {sum(template.recipients)} recipients; "
        f"three batches of sends made and transmitted in {prepare_seconds:.1f} s",
        *(result.line() for result in results),
        f"ERP restart: {restart_seconds:.1f} s",
        f"{compared} fields per run, equal in the three runs (read in {read_seconds:.1f} s)",
    ]
    final = states[0]
    with_error = sum(bool(r[2]) for d in final["recipients"] for r in d)
    summary.append(
        f"outcome: {sum(s == 'viewed' for _, s, _ in final['dispatches'])} invoices viewed, "
        f"{sum(s == 'bounced' for _, s, _ in final['dispatches'])} bounced, "
        f"{sum(final['alerts'])} undeliverable alerts, "
        f"{with_error} recipients with an error text"
    )
    if not isinstance(erp_backend, StandinBackend):
        # The addon and the stand-in agree: the same events in order on a fresh stand-in.
        with StandinErp(password="courierd-test-password") as erp:
            standin = StandinBackend(erp)
            standin_contract = Contract(standin)
            try:
                run = prepare_run(standin, standin_contract, template)
                ordered = sorted(run.events, key=lambda e: (e["time"], e["dedupe_key"]))
                ingest_all(standin_contract, [ordered], "stand-in")
            finally:
                standin_contract.close()
            reference = tracking_state(standin, run.dispatch_ids)
        shared = ["dispatches", "recipients", "viewed_at", "viewed_notes", "alerts", "events"]
        found = differences(reference, final, shared)
        assert not found, "the addon differs from the stand-in:\n" + "\n".join(found[:20])
        summary.append("equal to the stand-in's state for the same events")
    print("\nevent order test: " + "\n  ".join(summary))
