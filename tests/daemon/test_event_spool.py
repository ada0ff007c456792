import sqlite3
import threading
import time
from pathlib import Path

import pytest

from courierd.domain.tracking import InvalidEvent, TrackingEvent
from courierd.storage import event_spool
from courierd.storage.event_spool import INVALID_EXCERPT_CHARS, SPOOL_FILE, EventSpool


def event(
    key: str, type_: str = "opened", message_id: str = "1001", time: str = ""
) -> TrackingEvent:
    return TrackingEvent(
        dedupe_key=key,
        type=type_,  # type: ignore[arg-type]
        time=time or "2026-11-27T08:15:02Z",
        source="mailjet_webhook",
        message_id=message_id,
        payload={"event": "open", "nested": [1, 2]},
    )


@pytest.fixture
def spool(tmp_path: Path):
    spool = EventSpool(tmp_path)
    yield spool
    spool.close()


def test_events_survive_close_and_reopen(tmp_path: Path):
    first = EventSpool(tmp_path)
    assert first.add([event("a"), event("b")]) == 2
    first.close()
    again = EventSpool(tmp_path)
    try:
        assert [e for _, e in again.pending(10)] == [event("a"), event("b")]
        assert again.depth() == 2
    finally:
        again.close()


def test_file_is_sqlite_in_wal_mode(tmp_path: Path, spool: EventSpool):
    spool.add([event("a")])
    with sqlite3.connect(tmp_path / SPOOL_FILE) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_waiting_key_is_stored_once(spool: EventSpool):
    assert spool.add([event("a"), event("a")]) == 1
    assert spool.add([event("a"), event("b")]) == 1
    assert [e.dedupe_key for _, e in spool.pending(10)] == ["a", "b"]


def test_a_forwarded_key_can_be_spooled_again(spool: EventSpool):
    spool.add([event("a")])
    spool.remove([key for key, _ in spool.pending(10)])
    # Odoo's dedupe key makes the second forward a duplicate; the spool only guards its backlog.
    assert spool.add([event("a")]) == 1


def test_pending_is_oldest_first_and_limited(spool: EventSpool):
    spool.add([event("c")])
    spool.add([event("a"), event("b")])
    assert [e.dedupe_key for _, e in spool.pending(2)] == ["c", "a"]


def test_remove_takes_only_the_given_keys(spool: EventSpool):
    spool.add([event("a"), event("b"), event("c")])
    keys = [key for key, _ in spool.pending(10)]
    spool.remove([keys[0], keys[2]])
    assert [e.dedupe_key for _, e in spool.pending(10)] == ["b"]
    assert spool.depth() == 1


def test_invalid_events_are_recorded_apart_never_pending(spool: EventSpool):
    refused = [InvalidEvent(1, "the 'open' event has no MessageID", '{"event": "open"}')]
    assert spool.add([event("a")], refused) == 1
    assert [e.dedupe_key for _, e in spool.pending(10)] == ["a"]
    assert spool.invalid_events() == refused
    assert spool.add([], [InvalidEvent(0, "why", "x" * 5000)]) == 0
    assert len(spool.invalid_events()[-1].excerpt) == INVALID_EXCERPT_CHARS
    assert spool.depth() == 1


def test_the_record_of_invalid_events_is_bounded_in_rows_and_age(
    spool: EventSpool, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(event_spool, "INVALID_MAX_ROWS", 50)
    for batch in range(4):
        spool.add([], [InvalidEvent(i, f"reason {batch}-{i}", "{}") for i in range(30)])
    kept = spool.invalid_events()
    assert len(kept) == 50
    assert kept[-1].reason == "reason 3-29"
    # Older than the age bound: gone at the next write.
    clock = [time.time()]
    monkeypatch.setattr(event_spool.time, "time", lambda: clock[0])
    clock[0] += event_spool.INVALID_MAX_AGE_SECONDS + 1
    spool.add([], [InvalidEvent(0, "fresh", "{}")])
    assert [item.reason for item in spool.invalid_events()] == ["fresh"]


def test_the_delivery_table_of_older_releases_is_dropped(tmp_path: Path):
    # Older courierd kept every `sent` event's time here, for messages it never sent too.
    with sqlite3.connect(tmp_path / SPOOL_FILE) as db:
        db.execute("CREATE TABLE delivery (message_id TEXT PRIMARY KEY, delivered_at TEXT)")
        db.execute("INSERT INTO delivery VALUES ('77', '2026-11-27T08:00:05Z')")
    db.close()
    spool = EventSpool(tmp_path)
    spool.close()
    with sqlite3.connect(tmp_path / SPOOL_FILE) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert "delivery" not in tables


def test_reject_moves_the_event_aside_with_the_reason(spool: EventSpool):
    spool.add([event("a"), event("b")])
    key_a = spool.pending(10)[0][0]
    spool.reject(key_a, "ValidationError: bad time")
    assert [e.dedupe_key for _, e in spool.pending(10)] == ["b"]
    assert spool.rejected() == [(event("a"), "ValidationError: bad time")]


def test_concurrent_adds_lose_nothing(spool: EventSpool):
    threads, per_thread = 8, 100
    results: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(per_thread):
            new = spool.add([event(f"t{n}-{i}"), event(f"shared-{i}")])
            with lock:
                results.append(new)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    keys = {e.dedupe_key for _, e in spool.pending(10_000)}
    assert len(keys) == threads * per_thread + per_thread
    assert sum(results) == len(keys)


def test_add_raises_when_the_commit_fails(tmp_path: Path):
    spool = EventSpool(tmp_path)
    spool.close()
    with pytest.raises(sqlite3.ProgrammingError):
        spool.add([event("a")])
