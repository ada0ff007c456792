"""`run_daemon`'s one lifecycle: whatever fails, every piece it started is stopped.

In-process, with Odoo and Mailjet unreachable (nothing listens on their ports):
no test here needs them to answer.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from courierd.config import Settings
from courierd.daemon import run_daemon
from courierd.ops import logs
from courierd.workers.send_loop import SendLoop


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "odoo_url": f"http://127.0.0.1:{_free_port()}",
        "odoo_db": "courier",
        "odoo_login": "courierd",
        "odoo_password": SecretStr("odoo-pass-123"),
        "mailjet_api_key": SecretStr("mj-key"),
        "mailjet_api_secret": SecretStr("mj-secret"),
        "mailjet_api_url": "http://127.0.0.1:9/",
        "state_dir": tmp_path / "state",
        "http_port": _free_port(),
        "webhook_port": _free_port(),
        "webhook_password": SecretStr("hook-pass"),
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(autouse=True)
def _no_courier_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read the environment first: only what the test gives counts.
    for name in list(os.environ):
        if name.startswith("COURIER_") or name == "NOTIFY_SOCKET":
            monkeypatch.delenv(name)


def _daemon_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.is_alive()} - {"MainThread"}


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class _Stream(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_a_piece_that_cannot_start_stops_what_was_started(tmp_path: Path) -> None:
    before = _daemon_threads()
    stream = _Stream()
    logs.configure("info", "json", stream)
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            settings = _settings(tmp_path, webhook_port=taken.getsockname()[1])
            # The spools, the HTTP listener and the forwarder are up when the webhook fails.
            assert run_daemon(settings) == 1
    finally:
        logging.getLogger().handlers.clear()
    assert _daemon_threads() == before
    assert _port_is_free(settings.http_port)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [error] = [line for line in lines if line["level"] == "error"]
    assert f"cannot listen on 127.0.0.1:{settings.webhook_port}" in error["event"]
    assert "check COURIER_WEBHOOK_HOST / COURIER_WEBHOOK_PORT" in error["event"]
    assert lines[-1]["event"] == "courierd stopped"


def test_whatever_fails_in_the_loop_everything_started_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _daemon_threads()
    settings = _settings(tmp_path, poll_interval_seconds=60.0)
    seen_running: set[str] = set()

    def broken_run(self: SendLoop, stop: threading.Event) -> None:
        seen_running.update(_daemon_threads())
        raise RuntimeError("the loop broke")

    monkeypatch.setattr(SendLoop, "run", broken_run)
    with pytest.raises(RuntimeError, match="the loop broke"):
        run_daemon(settings)
    assert {"http", "webhook", "event-forwarder", "poller"} <= seen_running
    assert _daemon_threads() == before
    assert _port_is_free(settings.http_port)
    assert _port_is_free(settings.webhook_port)
