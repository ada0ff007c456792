"""A bounded, seeded fuzzer against the real webhook receiver on its real server.

`FUZZ_BODIES` generated bodies (COURIER_FUZZ_SEED picks another seed; the
default is fixed, so a failure replays) go over loopback sockets to the
receiver on its `RouteServer`, as `courierd run` starts it: valid Mailjet
events, each field swapped for the values the validation must refuse, JSON
that Python's parser chokes on (huge integers, NaN, 2,000 levels), bytes that
are no JSON, bodies past 5 MB, Content-Length and chunked, wrong credentials.
For a stretch in the middle the spool cannot be written.

It asserts that no answer is a 5xx but the documented 503 while the spool
cannot be written, and that every answered body is accounted for; that the
server keeps serving (/healthz and a known-good POST between rounds); that
every event left in the spool passes checks written here independently of
the receiver; and that no valid event was lost: each one sent untouched in a
body answered 200 is in the spool. It prints the figures.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import sqlite3
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from courierd.domain.tracking import InvalidEvent, TrackingEvent
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.webhook_body import MAX_BODY_BYTES
from courierd.mailjet.webhook_receiver import WebhookReceiver
from courierd.ops.http_server import HttpServer, RouteServer
from courierd.ops.metrics import Health, Metrics
from courierd.storage.event_spool import EventSpool
from tests.daemon.http_wire import AUTH, PASSWORD, USER, post

FUZZ_BODIES = 600
SEED = int(os.environ.get("COURIER_FUZZ_SEED", "20261128"))
TYPES = ("sent", "open", "click", "bounce", "blocked", "spam", "unsub")
PORTAL = "https://erp.example/my/invoices/{}?access_token=t0k"
AGENTS = ("Mozilla/5.0 Firefox/128.0", "Mozilla/5.0 (Mimecast URL protect)", "Outlook")
EARLIEST, LATEST = 946_684_800, 4_102_444_800
NASTY_IDS = ["\u0661\u0662\u0663", "\u00b2", 0, -1, "0", "0123", " 123 ", "12ab", "", None,
             True, 1.5, 2**63, str(2**63), [1], {"id": 1}, "\u0000", "9" * 40]  # fmt: skip
NASTY_TIMES = [0.5, 1790000000.0, 0, -5, 946684799, 4102444800, 253402300800, "1790000000",
               None, True, [1], {"t": 1}]  # fmt: skip
NASTY_TEXTS = [42, 1.5, True, ["a"], {"a": 1}, "x" * 5000, "a\x00b", "\ud800", "\x1b[31m"]
# JSON tokens Python's parser takes but no event may hold (spliced in as raw text).
RAW_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "9" * 5000, "1" * 400, "1e20",
              "1e300"]  # fmt: skip
CONTRACT_TYPES = {"delivered", "opened", "clicked", "bounced", "blocked", "spam", "unsubscribed"}
KEY = re.compile(r"mj:(sent|open|click|bounce|blocked|spam|unsub):[1-9][0-9]{0,18}:[0-9]{9,10}"
                 r"(:[0-9a-f]{12})?")  # fmt: skip


class FlakySpool(EventSpool):
    """The real spool, made unwritable on demand (a full disk, a broken state dir)."""

    broken = False

    def add(self, events: Sequence[TrackingEvent], invalid: Sequence[InvalidEvent] = ()) -> int:
        if self.broken:
            raise sqlite3.OperationalError("disk I/O error")
        return super().add(events, invalid)


class Fuzzer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sent_valid: list[dict[str, Any]] = []  # untouched valid events, for duplicates

    # ------------------------------------------------------------- events

    def valid_event(self) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choice(TYPES)
        message_id = rng.choice([rng.randint(1, 10**6), rng.randint(1, 2**63 - 1)])
        event: dict[str, Any] = {
            "event": kind,
            "time": rng.randint(EARLIEST, LATEST - 1),
            "MessageID": rng.choice([message_id, str(message_id)]),
            "email": f"c{rng.randint(1, 999)}@customer.example",
            "CustomID": rng.choice(["", f"{rng.getrandbits(128):032x}"]),
            "Message_GUID": "guid",
            "mj_campaign_id": rng.randint(0, 10**9),
        }
        if kind == "click":
            event["url"] = rng.choice([PORTAL.format(rng.randint(1, 99)), "https://x.example/t"])
            event["agent"] = rng.choice(AGENTS)
        elif kind == "open":
            event["agent"] = rng.choice(AGENTS)
        elif kind == "bounce":
            event.update(hard_bounce=rng.random() < 0.5, comment="550 unknown", error="user")
        elif kind == "blocked":
            event["error"] = "preblocked"
        elif kind == "spam":
            event["source"] = "JMRPP"
        else:
            event["smtp_reply"] = "250 OK queued"
        return event

    def invalid_event(self) -> tuple[dict[str, Any], dict[str, str]]:
        """A valid event with one thing wrong; the raw tokens to splice into its JSON."""
        rng = self.rng
        event = self.valid_event()
        raw: dict[str, str] = {}
        choice = rng.randrange(7)
        if choice == 0:
            event["MessageID"] = rng.choice(NASTY_IDS)
        elif choice == 1:
            event["time"] = rng.choice(NASTY_TIMES)
        elif choice == 2:
            identifiers = ["email", "CustomID", "url"] if event["event"] == "click" else ["email"]
            field = rng.choice([*identifiers, "agent"])
            # A tab is fine in an agent, not in an identifier.
            event[field] = rng.choice(NASTY_TEXTS + (["a\tb"] if field != "agent" else []))
        elif choice == 3:
            field = rng.choice(["time", "MessageID", "mj_campaign_id"])
            placeholder = f"__raw_{len(raw)}__"
            raw[placeholder] = rng.choice(RAW_TOKENS)
            if field == "mj_campaign_id" and raw[placeholder] in ("1e20", "1e300"):
                raw[placeholder] = "NaN"  # finite floats are fine in an unread field
            event[field] = placeholder
        elif choice == 4:
            event["event"] = rng.choice(["forward", "", 7, None, "SENT", "x" * 100])
        elif choice == 5:
            nested: Any = 1
            for _ in range(rng.choice([5, 20, 200])):
                nested = [nested]
            event["geo"] = nested
        else:
            event[rng.choice(["MessageID", "time"])] = rng.choice([{}, [], "", None])
        return event, raw

    # ------------------------------------------------------------- bodies

    def body(self) -> tuple[bytes, list[dict[str, Any]], str, int]:
        """(bytes, the untouched valid events in it, a label, how many items it holds)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.06:
            return self.unreadable(), [], "unreadable", 0
        if roll < 0.08:
            return b"[" * 2000 + b"]" * 2000, [], "deep", 0
        if roll < 0.085:
            return b"[" + b" " * (MAX_BODY_BYTES + 10) + b"]", [], "too large", 0
        items: list[bytes] = []
        valid: list[dict[str, Any]] = []
        for _ in range(rng.choice([1, 1, 2, 5, 10, 30])):
            pick = rng.random()
            if pick < 0.55:
                event = self.valid_event()
                valid.append(event)
                items.append(json.dumps(event).encode())
            elif pick < 0.62 and self.sent_valid:
                event = rng.choice(self.sent_valid)  # a duplicate, as Mailjet's retries are
                valid.append(event)
                items.append(json.dumps(event).encode())
            elif pick < 0.67:
                items.append(json.dumps(rng.choice([42, "sent", None, [], [{}], True])).encode())
            else:
                event, raw = self.invalid_event()
                text = json.dumps(event)
                for placeholder, token in raw.items():
                    text = text.replace(f'"{placeholder}"', token)
                items.append(text.encode())
        if len(items) == 1 and items[0].startswith(b"{") and rng.random() < 0.3:
            return items[0], valid, "version 1", 1
        return b"[" + b", ".join(items) + b"]", valid, "version 2", len(items)

    def unreadable(self) -> bytes:
        rng = self.rng
        good = json.dumps([self.valid_event()]).encode()
        return rng.choice(
            [
                good[: rng.randrange(1, len(good))],  # cut short
                bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))),
                b"\xff\xfe" + good,
                b'"sent"',
                b"42",
                b"",
                good.replace(b'"', b"'"),
            ]
        )


# ------------------------------------------------------------------ checks


def check_stored(event: TrackingEvent) -> None:
    """What any spooled event must be, checked apart from the receiver's own code."""
    assert KEY.fullmatch(event.dedupe_key), event.dedupe_key
    assert event.type in CONTRACT_TYPES
    assert event.message_id is not None and event.message_id.isascii()
    assert 0 < int(event.message_id) < 2**63 and str(int(event.message_id)) == event.message_id
    moment = datetime.strptime(event.time, "%Y-%m-%dT%H:%M:%SZ")
    assert 2000 <= moment.year < 2100
    for value, cap in (
        (event.email, 320),
        (event.custom_id, 255),
        (event.url, 4096),
        (event.user_agent, 1024),
        (event.detail, 2100),
    ):
        if value is not None:
            assert isinstance(value, str) and len(value) <= cap
            assert "\x00" not in value
            value.encode("utf-8")
    json.dumps(event.payload, allow_nan=False)
    for value in (event.payload or {}).values():
        assert not (isinstance(value, float) and not math.isfinite(value))


def dedupe_key(event: dict[str, Any]) -> str:
    """The key the receiver must give this untouched valid event (format pinned elsewhere)."""
    key = f"mj:{event['event']}:{int(event['MessageID'])}:{event['time']}"
    if event["event"] == "click":
        key += ":" + hashlib.sha1(event["url"].encode()).hexdigest()[:12]
    return key


def test_fuzzed_bodies_never_get_a_5xx_and_store_only_valid_events(tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    fuzzer = Fuzzer(rng)
    spool = FlakySpool(tmp_path)
    metrics = Metrics()
    receiver = WebhookReceiver(
        path="/webhooks/mailjet",
        user=USER,
        password=SecretStr(PASSWORD),
        spool=spool,
        mapping=EventMapping(),
        metrics=metrics,
    )
    webhook = RouteServer(
        "127.0.0.1", 0, receiver.routes(), "webhook", quiet=True, max_body_bytes=MAX_BODY_BYTES
    )
    health = Health(max_age_seconds=3600)
    health.turned(spool_depth=0)
    http = HttpServer("127.0.0.1", 0, health, metrics)
    webhook.start()
    http.start()
    address = ("127.0.0.1", webhook.port)
    statuses: Counter[int] = Counter()
    expected: set[str] = set()
    retried_after_503: list[tuple[bytes, list[dict[str, Any]]]] = []
    events_posted = refused_events = 0
    broken = range(FUZZ_BODIES // 2, FUZZ_BODIES // 2 + 25)
    try:
        for n in range(FUZZ_BODIES):
            spool.broken = n in broken
            body, valid, label, count = fuzzer.body()
            wrong_password = rng.random() < 0.03
            status, answer = post(
                address,
                body,
                use_chunks=rng.random() < 0.3,
                authorization="Basic bWFpbGpldDpub3BlCg==" if wrong_password else AUTH,
            )
            statuses[status] += 1
            assert status < 500 or (status == 503 and spool.broken), (n, label, status, answer)
            if wrong_password:
                assert status == 401
            elif label == "too large":
                assert status == 413
            elif label in ("unreadable", "deep"):
                assert status == 400, (n, body[:80], answer)
            elif status == 503:
                retried_after_503.append((body, valid))
            else:
                assert status == 200, (n, label, answer)
                accounted = sum(answer[k] for k in ("stored", "duplicate", "ignored", "rejected"))
                assert accounted == count
                assert answer["rejected"] == len(answer.get("rejected_events", []))
                events_posted += count
                refused_events += answer["rejected"]
                expected |= {dedupe_key(event) for event in valid}
                fuzzer.sent_valid += valid
            if n % 50 == 49:
                # Still serving: /healthz, and a known-good event, after every 50 bodies.
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{http.port}/healthz", timeout=10
                ) as response:
                    assert response.status == 200
                good = fuzzer.valid_event()
                spool.broken = False
                status, answer = post(address, json.dumps([good]).encode())
                assert status == 200 and answer["rejected"] == 0
                expected.add(dedupe_key(good))
        # Mailjet retries what got 503: once the spool is back, those events are stored.
        spool.broken = False
        for body, valid in retried_after_503:
            status, _ = post(address, body)
            assert status == 200
            expected |= {dedupe_key(event) for event in valid}
        stored = [event for _, event in spool.pending(1_000_000)]
        for event in stored:
            check_stored(event)
        keys = {event.dedupe_key for event in stored}
        assert expected <= keys, f"valid events lost: {sorted(expected - keys)[:5]}"
        invalid = spool.invalid_events()
        assert all(len(item.excerpt) <= 1000 for item in invalid)
    finally:
        webhook.stop()
        http.stop()
        spool.close()
    seconds = time.monotonic() - started
    print(
        f"\nwebhook fuzz (seed {SEED}): {FUZZ_BODIES} bodies in {seconds:.1f} s; answers "
        + ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
        + f"; {events_posted} events in bodies answered 200, {len(stored)} distinct stored "
        f"(all valid), {refused_events} refused one by one, {len(invalid)} kept in the "
        f"invalid record; {len(retried_after_503)} bodies answered 503 while the spool was "
        "unwritable, all stored when retried"
    )
    assert statuses[503] == len(retried_after_503) > 0
    assert sum(statuses.values()) == FUZZ_BODIES
