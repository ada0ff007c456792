"""``add_arguments``/``run`` as ``courierd sandbox`` uses them, in a real process."""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from mailjet_rest import Client

from mailjet_sandbox import add_arguments, find_eml

from .conftest import API_KEY, API_SECRET, message, wait_until

RUNNER = (
    "import argparse, sys\n"
    "from mailjet_sandbox import add_arguments, run\n"
    "parser = argparse.ArgumentParser()\n"
    "add_arguments(parser)\n"
    "sys.exit(run(parser.parse_args(sys.argv[1:])))\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_options_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURIER_MAILJET_API_KEY", "env-key")
    monkeypatch.setenv("COURIER_MAILJET_API_SECRET", "env-secret")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--outbox", "/tmp/x"])
    assert (args.host, args.port, args.sent_delay) == ("127.0.0.1", 8025, 0.2)
    assert (args.api_key, args.api_secret) == ("env-key", "env-secret")
    assert args.webhook_url is None and args.public_url is None
    with pytest.raises(SystemExit):
        parser.parse_args([])  # --outbox is required


def test_serves_until_sigterm_and_keeps_the_secret_out_of_logs(tmp_path: Path) -> None:
    port = free_port()
    outbox = tmp_path / "outbox"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, "--port", str(port), "--outbox", str(outbox),
         "--api-key", API_KEY, "--api-secret", API_SECRET, "--sent-delay", "0",
         "--public-url", "http://mail-sandbox.test:8025"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/"

        def healthy() -> bool:
            try:
                return requests.get(base + "_sandbox/health", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_until(healthy)
        with Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=base) as client:
            answer = client.send.create(data={"Messages": [message()]}).json()
        message_id = answer["Messages"][0]["To"][0]["MessageID"]
        assert answer["Messages"][0]["To"][0]["MessageHref"].startswith(
            "http://mail-sandbox.test:8025/v3/REST/message/"
        )
        eml = find_eml(outbox, message_id).read_text()
        assert "http://mail-sandbox.test:8025/t/o/" in eml.replace("=\r\n", "")
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "sandbox_started" in output
    assert API_SECRET not in output


def test_missing_credentials_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURIER_MAILJET_API_KEY", raising=False)
    monkeypatch.delenv("COURIER_MAILJET_API_SECRET", raising=False)
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, "--outbox", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
