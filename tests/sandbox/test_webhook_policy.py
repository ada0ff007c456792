"""Webhook batching, ordering and the end of the retry window."""

from __future__ import annotations

from pathlib import Path

from mailjet_rest import Client

from mailjet_sandbox import SandboxServer

from .conftest import API_KEY, API_SECRET, WebhookReceiver, admin, message, wait_until


def test_batches_keep_order_and_nothing_is_lost_across_failures(outbox: Path) -> None:
    receiver = WebhookReceiver(fail_first=3).start()
    try:
        with SandboxServer(
            outbox, API_KEY, API_SECRET, webhook_url=receiver.url, sent_delay=0.0
        ) as server:
            client = Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=server.url)
            batch = [message(to=f"spam{i}@customer.example") for i in range(10)]
            answer = client.send.create(data={"Messages": batch}).json()
            ids = [m["To"][0]["MessageID"] for m in answer["Messages"]]
            events = wait_until(lambda: len(receiver.events()) >= 20 and receiver.events())
            stats = admin(server, "stats")
        assert len(events) == 20
        for message_id in ids:
            assert [e["event"] for e in events if e["MessageID"] == message_id] == ["sent", "spam"]
        assert all(isinstance(batch, list) for batch in receiver.accepted)
        assert len(receiver.attempts) - len(receiver.accepted) == 3
        assert stats["webhook_failures"] == 3
    finally:
        receiver.stop()


def test_batch_dropped_after_the_retry_window(outbox: Path) -> None:
    receiver = WebhookReceiver(fail_first=10**6).start()
    try:
        with SandboxServer(
            outbox,
            API_KEY,
            API_SECRET,
            webhook_url=receiver.url,
            sent_delay=0.0,
            webhook_retry_seconds=0.5,
        ) as server:
            client = Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=server.url)
            client.send.create(data={"Messages": [message()]})
            stats = wait_until(lambda: (st := admin(server, "stats"))["webhook_dropped"] and st)
            assert stats["webhook_dropped"] == 1
            assert stats["webhook_posts"] == 0
            # Dropped from delivery, not from history.
            (listed,) = admin(server, "messages")
            assert [e["event"] for e in listed["events"]] == ["sent"]
    finally:
        receiver.stop()
