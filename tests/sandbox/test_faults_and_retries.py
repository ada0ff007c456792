"""Injected faults, and what mailjet-rest 1.9.1 does with them (measured, not assumed)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import mailjet_rest
import pytest
import requests
from mailjet_rest import ApiError, ApiRateLimitError, Client

from mailjet_sandbox import SandboxServer

from .conftest import API_KEY, API_SECRET, admin, message

SEND = {"Messages": [message()]}


def inject(sandbox: SandboxServer, **fault: object) -> None:
    admin(sandbox, "faults", "POST", json={"path_prefix": "/v3.1/send", **fault})


def test_admin_health_and_fault_list(sandbox: SandboxServer) -> None:
    assert admin(sandbox, "health") == {"status": "ok"}
    inject(sandbox, status=503, times=2)
    assert admin(sandbox, "faults")["faults"] == [
        {"path_prefix": "/v3.1/send", "status": 503, "times": 2, "delay_seconds": 0.0}
    ]
    bad = requests.post(sandbox.url + "_sandbox/faults", json={"status": 200}, timeout=5)
    assert bad.status_code == 400
    assert admin(sandbox, "faults", "DELETE") == {"faults": []}


def test_over_http_mailjet_rest_does_not_retry_a_429(
    sandbox: SandboxServer, send_client: Client
) -> None:
    inject(sandbox, status=429, times=1)
    with pytest.raises(ApiRateLimitError) as caught:
        send_client.send.create(data=SEND)
    assert caught.value.status_code == 429
    assert "429 Too Many Requests" in caught.value.response_body
    assert admin(sandbox, "stats")["send_calls"] == 1
    # The fault is used up: the caller's own retry goes through.
    assert send_client.send.create(data=SEND).status_code == 200
    stats = admin(sandbox, "stats")
    assert stats["send_calls"] == 2
    assert stats["send_calls_by_status"] == {"200": 1, "429": 1}
    assert stats["emails_written"] == 1


def test_over_http_a_5xx_is_a_bare_api_error(sandbox: SandboxServer, send_client: Client) -> None:
    inject(sandbox, status=503, times=1)
    with pytest.raises(ApiError) as caught:
        send_client.send.create(data=SEND)
    # mailjet-rest maps only 400/401/403/404/429 to typed errors with a body.
    assert type(caught.value) is ApiError
    assert "503" in str(caught.value)
    assert admin(sandbox, "stats")["send_calls_by_status"] == {"503": 1}
    inject(sandbox, status=500, times=1)
    raw = requests.post(sandbox.url + "v3.1/send", json=SEND, auth=(API_KEY, API_SECRET), timeout=5)
    assert raw.status_code == 500
    assert set(raw.json()) == {"ErrorIdentifier", "StatusCode", "ErrorMessage"}


def test_latency_fault_trips_the_client_timeout(sandbox: SandboxServer) -> None:
    inject(sandbox, delay_seconds=1.5, times=1)
    client = Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=sandbox.url, timeout=0.3)
    with client, pytest.raises(mailjet_rest.TimeoutError):
        client.send.create(data=SEND)
    assert admin(sandbox, "faults") == {"faults": []}


def test_fault_applies_only_to_its_prefix(sandbox: SandboxServer, rest_client: Client) -> None:
    inject(sandbox, status=429, times=None)
    assert rest_client.message.get(filters={"CustomID": "x"}).status_code == 200


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the HTTPS sandbox")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_sandbox(
    tmp_path: Path, tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxServer]:
    # mailjet-rest forces verify=True; requests then trusts REQUESTS_CA_BUNDLE.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files[0]))
    with SandboxServer(tmp_path / "tls-outbox", API_KEY, API_SECRET, tls=tls_files) as server:
        yield server


def _tls_admin(server: SandboxServer, path: str, method: str = "GET", **kw: object) -> dict:
    response = requests.request(method, server.url + "_sandbox/" + path, timeout=5, **kw)
    response.raise_for_status()
    return response.json()


def test_over_https_mailjet_rest_retries_a_429_itself(tls_sandbox: SandboxServer) -> None:
    assert tls_sandbox.url.startswith("https://127.0.0.1:")
    _tls_admin(
        tls_sandbox, "faults", "POST", json={"path_prefix": "/v3.1/send", "status": 429, "times": 1}
    )
    with Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=tls_sandbox.url) as client:
        response = client.send.create(data=SEND)
    assert response.status_code == 200
    stats = _tls_admin(tls_sandbox, "stats")
    assert stats["send_calls_by_status"] == {"200": 1, "429": 1}
    assert stats["emails_written"] == 1


def test_over_https_four_calls_then_a_bare_api_error(tls_sandbox: SandboxServer) -> None:
    _tls_admin(
        tls_sandbox,
        "faults",
        "POST",
        json={"path_prefix": "/v3.1/send", "status": 503, "times": None},
    )
    client = Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=tls_sandbox.url)
    with client, pytest.raises(ApiError) as caught:
        client.send.create(data=SEND)
    # urllib3's RetryError: no status code, no body, not a typed subclass.
    assert type(caught.value) is ApiError
    assert "Max retries exceeded" in str(caught.value)
    assert _tls_admin(tls_sandbox, "stats")["send_calls_by_status"] == {"503": 4}
