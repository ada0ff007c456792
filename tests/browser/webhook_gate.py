"""A gate between the sandbox's webhook and courierd's receiver, for the browser test.

The sandbox reports `sent` (Delivered) a moment after accepting an email; in
a browser that moment can pass before the page shows Transmitted. While the
gate is closed it answers 503, which the sandbox retries (as Mailjet does), so
the events wait in the sandbox; once opened it passes every POST through to
the receiver unchanged (body, Content-Type, the Basic auth header) and relays
the answer.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

FORWARDED_HEADERS = ("Authorization", "Content-Type")


class WebhookGate:
    def __init__(self, target_url: str) -> None:
        self.target_url = target_url
        self._open = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not gate._open.is_set():
                    self._answer(503, b"gate closed")
                    return
                status, answer = gate._forward(body, self.headers)
                self._answer(status, answer)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # the sandbox and courierd log both sides already

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def _forward(self, body: bytes, headers: HTTPMessage) -> tuple[int, bytes]:
        request = urllib.request.Request(self.target_url, data=body, method="POST")
        for name in FORWARDED_HEADERS:
            value = headers.get(name)
            if value:
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError as exc:
            return 502, str(exc).encode()

    def __enter__(self) -> WebhookGate:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
