"""A werkzeug WSGI server whose threads never wait for a client.

One thread (`serve_forever`) accepts the connections and reads each request in
full with a selector; only a complete request goes to one of a fixed number of
worker threads, which run the app and write the answer. A slow or stalled
client therefore holds a socket and a buffer, never a thread: whatever their
number, slow clients cannot starve the webhook or /healthz.

Limits, all enforced by the reading thread:

- a read deadline per connection: the request must arrive within
  `request_seconds`, with no pause over `idle_seconds`; else 408 and close;
- the body (`max_body_bytes`), for Content-Length and chunked bodies alike
  (ops/http_framing.py): the app gets the head alone, flagged `BODY_TOO_LARGE`,
  answers 413, and the connection is closed after a short linger that lets
  the client read the answer instead of a reset;
- `MAX_READING` connections being read (a new one drops the oldest, 503) and
  `MAX_BUFFERED_BYTES` buffered for all of them (the oldest is dropped, 503);
- complete requests waiting for a worker: 4 per worker, beyond that 503 at once.

One request per connection: werkzeug answers `Connection: close` anyway.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import queue
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from courierd.ops.http_framing import Framing, RequestFramer
from courierd.ops.logs import get_logger

log = get_logger(__name__)

BODY_TOO_LARGE = "courierd.body_too_large"  # WSGI environ key: the body was not read
MAX_READING = 256
MAX_LINGERING = 256
MAX_BUFFERED_BYTES = 64 * 1024 * 1024
QUEUED_PER_WORKER = 4
LINGER_SECONDS = 2.0
LINGER_BYTES = 16 * 1024 * 1024
WRITE_SECONDS = 10.0
_LISTENER = object()
_WAKE = object()


@dataclass(frozen=True)
class _Job:
    """A request read in full, for a worker: what the handler sees as its `request`."""

    sock: socket.socket
    address: Any
    data: bytes
    too_large: bool


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    address: Any
    framer: RequestFramer
    started: float
    last_read: float
    counted: int = 0  # bytes of this connection in the server's buffered total
    continued: bool = False  # "100 Continue" sent
    linger_until: float = 0.0  # non-zero: answered, draining until then
    lingered: int = 0


class _SocketWriter(io.BufferedIOBase):
    """wfile: every write goes out whole (sendall), under the socket's write timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._sock.sendall(data)
        return len(memoryview(data))

    def fileno(self) -> int:
        return self._sock.fileno()


class BufferedRequestHandler(WSGIRequestHandler):
    """werkzeug's handler over a request the reading thread has already received."""

    request: _Job

    def setup(self) -> None:
        self.connection = self.request.sock
        self.rfile = io.BytesIO(self.request.data)
        self.wfile = _SocketWriter(self.request.sock)

    def handle_expect_100(self) -> bool:
        return True  # the reading thread sent "100 Continue" when the client waited for it

    def make_environ(self) -> Any:
        environ = super().make_environ()
        if self.request.too_large:
            environ[BODY_TOO_LARGE] = True
        return environ


class BoundedWSGIServer(BaseWSGIServer):
    multithread = True

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        handler: type[BufferedRequestHandler],
        fd: int,
        *,
        name: str,
        max_body_bytes: int,
        workers: int,
        request_seconds: float,
        idle_seconds: float,
    ) -> None:
        # Before werkzeug's __init__, which calls server_close() once.
        self._wake_r, self._wake_w = socket.socketpair()
        super().__init__(host, port, app, handler=handler, fd=fd)
        self.max_body_bytes = max_body_bytes
        self.request_seconds = request_seconds
        self.idle_seconds = idle_seconds
        self._name = name
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=workers * QUEUED_PER_WORKER)
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}-worker-{n}", daemon=True)
            for n in range(workers)
        ]
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._handed_back: collections.deque[_Job] = collections.deque()
        self._connections: set[_Connection] = set()
        self._buffered = 0
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._selector: selectors.BaseSelector | None = None
        self._ready = True

    # ------------------------------------------------------------ lifecycle

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        for worker in self._workers:
            worker.start()
        selector = self._selector = selectors.DefaultSelector()
        self.socket.setblocking(False)
        selector.register(self.socket, selectors.EVENT_READ, _LISTENER)
        selector.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select(self._timeout(poll_interval)):
                    if key.data is _LISTENER:
                        self._accept()
                    elif key.data is _WAKE:
                        self._drain_wake()
                    else:
                        self._readable(key.data)
                self._take_handed_back()
                self._expire()
        finally:
            for connection in list(self._connections):
                self._close(connection)
            selector.close()
            for _ in self._workers:
                self._jobs.put(None)
            for worker in self._workers:
                worker.join(timeout=WRITE_SECONDS)
            self._stopped.set()

    def shutdown(self) -> None:
        self._stopping.set()
        self._wake()
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        if getattr(self, "_ready", False):  # not the call inside werkzeug's __init__
            self._wake_r.close()
            self._wake_w.close()

    def _wake(self) -> None:
        # OSError: already awake (buffer full), or closed at shutdown.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _timeout(self, poll_interval: float) -> float:
        now = time.monotonic()
        deadlines = [self._deadline(c) for c in self._connections]
        return max(0.0, min([poll_interval, *(d - now for d in deadlines)]))

    def _deadline(self, connection: _Connection) -> float:
        if connection.linger_until:
            return connection.linger_until
        return min(
            connection.started + self.request_seconds, connection.last_read + self.idle_seconds
        )

    # -------------------------------------------------------------- reading

    def _accept(self) -> None:
        while True:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # Out of file descriptors, usually: the next round tries again.
                log.warning(
                    "cannot accept an HTTP connection; check the open-files limit (ulimit -n)",
                    server=self._name,
                    error=str(exc),
                )
                time.sleep(0.05)
                return
            sock.setblocking(False)
            reading = [c for c in self._connections if not c.linger_until]
            if len(reading) >= MAX_READING:
                oldest = min(reading, key=lambda c: c.started)
                self._refuse(oldest, 503, "too many connections; retry later")
            now = time.monotonic()
            connection = _Connection(sock, address, RequestFramer(self.max_body_bytes), now, now)
            self._connections.add(connection)
            self._register(connection)

    def _register(self, connection: _Connection) -> None:
        assert self._selector is not None
        self._selector.register(connection.sock, selectors.EVENT_READ, connection)

    def _readable(self, connection: _Connection) -> None:
        try:
            data = connection.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if connection.linger_until:
            connection.lingered += len(data)
            if not data or connection.lingered > LINGER_BYTES:
                self._close(connection)
            return
        if not data:
            self._close(connection)  # the client went away before its request was complete
            return
        framer = connection.framer
        connection.last_read = time.monotonic()
        framer.feed(data)
        self._buffered += framer.buffered - connection.counted
        connection.counted = framer.buffered
        if framer.state is Framing.BAD:
            self._refuse(connection, framer.status, framer.reason)
        elif framer.done:
            self._dispatch(connection)
        else:
            if (
                framer.expects_continue
                and not connection.continued
                and framer.state
                in (
                    Framing.BODY,
                    Framing.CHUNK_SIZE,
                )
            ):
                connection.continued = True
                self._send_quietly(connection.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            if self._buffered > MAX_BUFFERED_BYTES:
                oldest = min(
                    (c for c in self._connections if not c.linger_until), key=lambda c: c.started
                )
                self._refuse(oldest, 503, "the server is busy; retry later")

    def _dispatch(self, connection: _Connection) -> None:
        """The request is read: to a worker, or 503 when they all have enough waiting."""
        self._forget(connection)
        framer = connection.framer
        job = _Job(
            connection.sock,
            connection.address,
            framer.request_bytes(),
            framer.state is Framing.TOO_LARGE,
        )
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            self._connections.add(connection)
            self._register(connection)
            self._refuse(connection, 503, "the server is busy; retry later")

    def _expire(self) -> None:
        now = time.monotonic()
        for connection in [c for c in self._connections if self._deadline(c) <= now]:
            if connection.linger_until:
                self._close(connection)
            else:
                log.info(
                    "HTTP request not received in time; connection closed (408)",
                    server=self._name,
                    remote=_host(connection.address),
                    request_seconds=self.request_seconds,
                    idle_seconds=self.idle_seconds,
                )
                self._refuse(connection, 408, "the request did not arrive in time")

    # -------------------------------------------------------------- closing

    def _refuse(self, connection: _Connection, status: int, reason: str) -> None:
        """Answer from the reading thread, then linger and close."""
        body = json.dumps({"error": reason}).encode()
        phrase = HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self._send_quietly(connection.sock, head.encode() + body)
        self._linger(connection)

    def _linger(self, connection: _Connection) -> None:
        """Half-close, then read and drop what the client still sends, for a short while.

        Closing with unread bytes would reset the connection, and the client could
        lose the answer (a 413, typically) it has not read yet.
        """
        self._buffered -= connection.counted
        connection.counted = 0
        lingering = sum(1 for c in self._connections if c.linger_until)
        try:
            connection.sock.shutdown(socket.SHUT_WR)
        except OSError:
            lingering = MAX_LINGERING  # already gone: nothing to wait for
        if lingering >= MAX_LINGERING:
            self._close(connection)
            return
        connection.linger_until = time.monotonic() + LINGER_SECONDS

    def _take_handed_back(self) -> None:
        while self._handed_back:
            job = self._handed_back.popleft()
            now = time.monotonic()
            connection = _Connection(
                job.sock, job.address, RequestFramer(self.max_body_bytes), now, now
            )
            job.sock.setblocking(False)
            self._connections.add(connection)
            self._register(connection)
            self._linger(connection)

    def _forget(self, connection: _Connection) -> None:
        self._connections.discard(connection)
        self._buffered -= connection.counted
        connection.counted = 0
        assert self._selector is not None
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)

    def _close(self, connection: _Connection) -> None:
        self._forget(connection)
        connection.sock.close()

    @staticmethod
    def _send_quietly(sock: socket.socket, data: bytes) -> None:
        """Best effort from the reading thread: a client that does not read loses it."""
        with contextlib.suppress(OSError):
            sock.send(data)

    # -------------------------------------------------------------- working

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job.sock.setblocking(True)
                job.sock.settimeout(WRITE_SECONDS)
                self.finish_request(job, job.address)  # type: ignore[arg-type]
            except Exception as exc:
                log.error(
                    "HTTP request failed in its handler; the connection is closed",
                    server=self._name,
                    error=repr(exc),
                )
            if job.too_large and not self._stopping.is_set():
                self._handed_back.append(job)  # the client may still be sending: linger
                self._wake()
            else:
                job.sock.close()


def _host(address: Any) -> str:
    return str(address[0]) if isinstance(address, tuple) else str(address)
