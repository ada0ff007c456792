"""The HTTP servers' limits on real sockets: body size, read deadlines, slow clients.

The webhook receiver on its own `RouteServer`, as `courierd run` starts it, and the
loopback /healthz server beside it (ops/bounded_server.py, ops/http_framing.py).
"""

from __future__ import annotations

import json
import select
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.webhook_body import MAX_BODY_BYTES
from courierd.mailjet.webhook_receiver import WebhookReceiver
from courierd.ops import bounded_server
from courierd.ops.http_server import HttpServer, RouteServer
from courierd.ops.metrics import Health, Metrics
from courierd.storage.event_spool import EventSpool
from tests.daemon.http_wire import AUTH, PASSWORD, PATH, USER, connect, head, post, read_answer

# Seconds: answered well before any slow connection's deadline (10 s), on a shared machine.
PROMPT = 5.0


@dataclass
class Servers:
    webhook: RouteServer
    health: HttpServer
    spool: EventSpool

    @property
    def webhook_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.webhook.port)


def start(tmp_path: Path, **limits: float) -> Servers:
    metrics = Metrics()
    spool = EventSpool(tmp_path)
    receiver = WebhookReceiver(
        path=PATH,
        user=USER,
        password=SecretStr(PASSWORD),
        spool=spool,
        mapping=EventMapping(),
        metrics=metrics,
    )
    webhook = RouteServer(
        "127.0.0.1", 0, receiver.routes(), "webhook", quiet=True,
        max_body_bytes=MAX_BODY_BYTES, **limits,  # type: ignore[arg-type]
    )  # fmt: skip
    health = Health(max_age_seconds=60)
    health.turned(spool_depth=0)
    http = HttpServer("127.0.0.1", 0, health, metrics)
    webhook.start()
    http.start()
    return Servers(webhook, http, spool)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    made = start(tmp_path, workers=2, request_seconds=30.0, idle_seconds=10.0)
    yield made
    made.webhook.stop()
    made.health.stop()
    made.spool.close()


def events_body(count: int) -> bytes:
    return json.dumps(
        [{"event": "open", "time": 1_764_230_000 + i, "MessageID": 1000 + i} for i in range(count)]
    ).encode()


def post_json(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Authorization", AUTH)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_a_chunked_body_is_framed_and_stored(servers: Servers) -> None:
    status, answer = post(servers.webhook_address, events_body(50), use_chunks=True)
    assert (status, answer["stored"]) == (200, 50)
    assert servers.spool.depth() == 50


def test_a_chunked_body_over_5_mb_is_413_and_the_connection_closed(servers: Servers) -> None:
    chunk = b" " * 65536
    with connect(servers.webhook_address) as sock:
        sock.sendall(head(chunked=True) + b"1\r\n[\r\n")
        sent = 1
        try:
            while sent <= MAX_BODY_BYTES + 65536:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed its side after answering
        status, answer, closed = read_answer(sock)
    assert status == 413
    assert "over 5242880 bytes" in answer["error"]
    assert closed
    assert servers.spool.depth() == 0


def test_a_content_length_over_5_mb_is_413_before_any_body_and_closed(servers: Servers) -> None:
    with connect(servers.webhook_address) as sock:
        started = time.monotonic()
        sock.sendall(head(length=MAX_BODY_BYTES + 1))
        status, answer, closed = read_answer(sock)
        elapsed = time.monotonic() - started
    assert status == 413 and closed
    assert "over 5242880 bytes" in answer["error"]
    # The answer came without the body ever being sent, and the connection did not
    # wait for it beyond the short linger.
    assert elapsed < bounded_server.LINGER_SECONDS + PROMPT


def test_without_credentials_a_large_body_is_401_first(servers: Servers) -> None:
    with connect(servers.webhook_address) as sock:
        sock.sendall(head(length=MAX_BODY_BYTES + 1).replace(AUTH.encode(), b"Basic eDp5"))
        status, _, _ = read_answer(sock)
    assert status == 401


def test_expect_100_continue_gets_its_interim_answer(servers: Servers) -> None:
    body = events_body(3)
    with connect(servers.webhook_address) as sock:
        sock.sendall(head(length=len(body), expect=True))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, answer, _ = read_answer(sock)
    assert (status, answer["stored"]) == (200, 3)


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /webhooks/mailjet HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST /webhooks/mailjet HTTP/1.1\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        b"POST /webhooks/mailjet HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST /webhooks/mailjet HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n",
        b"POST /webhooks/mailjet HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
        b"POST /webhooks/mailjet HTTP/1.1\r\n folded: header\r\n\r\n",
    ],
    ids=["two-lengths", "length-and-chunked", "gzip", "chunk-extension", "negative",
         "not-http", "folded"],
)  # fmt: skip
def test_framing_the_server_does_not_guess_is_400(servers: Servers, raw: bytes) -> None:
    with connect(servers.webhook_address) as sock:
        sock.sendall(raw)
        status, _, closed = read_answer(sock)
    assert status == 400 and closed


def test_a_silent_connection_gets_408_and_is_closed(tmp_path: Path) -> None:
    made = start(tmp_path, workers=1, request_seconds=2.0, idle_seconds=0.5)
    try:
        with connect(made.webhook_address) as sock:
            sock.sendall(head(length=100))  # then nothing
            started = time.monotonic()
            status, _, closed = read_answer(sock)
            waited = time.monotonic() - started
        assert status == 408 and closed
        assert 0.4 < waited < 0.5 + PROMPT
        # A trickle (a byte every 0.3 s) does not reset the whole-request deadline.
        with connect(made.webhook_address) as sock:
            started = time.monotonic()
            sock.sendall(head(length=100))
            for _ in range(20):
                if select.select([sock], [], [], 0.3)[0]:
                    break  # the answer is there
                sock.sendall(b" ")
            answered = time.monotonic() - started
            status, _, _ = read_answer(sock)
        assert status == 408
        assert 2.0 <= answered < 2.0 + PROMPT
    finally:
        made.webhook.stop()
        made.health.stop()
        made.spool.close()


def test_slow_clients_never_starve_the_webhook_or_healthz(servers: Servers) -> None:
    # Twelve clients hold connections open mid-request (six times the two workers):
    # one sent half a head, one a head and part of its body, and so on.
    slow = []
    for n in range(12):
        sock = connect(servers.webhook_address)
        partial = head(length=1000) + b"[" * n if n % 2 else head(length=1000)[: 20 + n]
        sock.sendall(partial)
        slow.append(sock)
    try:
        time.sleep(0.3)
        started = time.monotonic()
        with urllib.request.urlopen(
            f"http://127.0.0.1:{servers.health.port}/healthz", timeout=10
        ) as response:
            assert response.status == 200
        health_seconds = time.monotonic() - started
        started = time.monotonic()
        status, answer = post_json(f"http://127.0.0.1:{servers.webhook.port}{PATH}", events_body(2))
        post_seconds = time.monotonic() - started
        assert (status, answer["stored"]) == (200, 2)
        assert health_seconds < PROMPT and post_seconds < PROMPT
        print(
            f"\n12 slow webhook connections, 2 workers: /healthz in {health_seconds * 1000:.0f} ms,"
            f" a good webhook POST in {post_seconds * 1000:.0f} ms"
        )
        # The slow ones are still open, each waiting for its own deadline.
        for sock in slow:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    finally:
        for sock in slow:
            sock.close()


def test_connections_beyond_the_cap_drop_the_oldest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bounded_server, "MAX_READING", 4)
    made = start(tmp_path, workers=1, request_seconds=30.0, idle_seconds=30.0)
    try:
        socks = [connect(made.webhook_address) for _ in range(4)]
        for sock in socks:
            sock.sendall(head(length=10))
            time.sleep(0.05)
        status, answer = post_json(f"http://127.0.0.1:{made.webhook.port}{PATH}", events_body(1))
        assert (status, answer["stored"]) == (200, 1)
        oldest_status, _, _ = read_answer(socks[0])
        assert oldest_status == 503
        for sock in socks:
            sock.close()
    finally:
        made.webhook.stop()
        made.health.stop()
        made.spool.close()
