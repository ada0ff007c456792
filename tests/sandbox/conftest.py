"""Fixtures: a sandbox on a free loopback port, real mailjet-rest clients, a webhook receiver."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from mailjet_rest import Client
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from mailjet_sandbox import SandboxServer

API_KEY = "sandbox-key"
API_SECRET = "sandbox-secret-not-logged"


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until ``predicate`` returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def message(to: str = "anna@customer.example", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "From": {"Email": "billing@company.example", "Name": "Billing"},
        "To": [{"Email": to, "Name": "Anna"}],
        "Subject": "Invoice INV/2026/00017",
        "TextPart": "Your invoice is attached.",
        "HTMLPart": '<p>See <a href="https://erp.example.com/my/invoices/17?access_token=x">it</a></p>',
    }
    body.update(extra)
    return body


class WebhookReceiver:
    """Records POSTed batches; answers ``fail_first`` 500s before 200s."""

    def __init__(self, fail_first: int = 0, auth: tuple[str, str] | None = None) -> None:
        self.fail_first = fail_first
        self.auth = auth
        self.attempts: list[list[dict[str, Any]]] = []
        self.accepted: list[list[dict[str, Any]]] = []
        self.authorizations: list[str] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/mailjet/events"

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        batch = json.loads(request.get_data())
        with self._lock:
            self.attempts.append(batch)
            self.authorizations.append(request.headers.get("Authorization", ""))
            if self.auth is not None:
                expected = "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()
                if request.headers.get("Authorization") != expected:
                    return Response("no", status=401)(environ, start_response)
            if len(self.attempts) <= self.fail_first:
                return Response("try later", status=500)(environ, start_response)
            self.accepted.append(batch)
        return Response("ok", status=200)(environ, start_response)

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [event for batch in self.accepted for event in batch]

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    rec = WebhookReceiver(fail_first=1, auth=("hook-user", "hook-pass")).start()
    yield rec
    rec.stop()


@pytest.fixture
def sandbox(outbox: Path, receiver: WebhookReceiver) -> Iterator[SandboxServer]:
    with SandboxServer(
        outbox,
        API_KEY,
        API_SECRET,
        webhook_url=receiver.url,
        webhook_auth=("hook-user", "hook-pass"),
        sent_delay=0.05,
    ) as server:
        yield server


@pytest.fixture
def send_client(sandbox: SandboxServer) -> Iterator[Client]:
    with Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=sandbox.url) as client:
        yield client


@pytest.fixture
def rest_client(sandbox: SandboxServer) -> Iterator[Client]:
    with Client(auth=(API_KEY, API_SECRET), version="v3", api_url=sandbox.url) as client:
        yield client


def admin(sandbox: SandboxServer, path: str, method: str = "GET", **kwargs: Any) -> Any:
    response = requests.request(method, sandbox.url + "_sandbox/" + path, timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()
