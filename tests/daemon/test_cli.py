"""`courierd` as a subprocess: help, delegated commands, and a run stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REQUIRED = {
    "COURIER_ODOO_DB": "courier",
    "COURIER_ODOO_LOGIN": "courierd",
    "COURIER_ODOO_PASSWORD": "odoo-pass-123",
    "COURIER_MAILJET_API_KEY": "mj-key-456",
    "COURIER_MAILJET_API_SECRET": "mj-secret-789",
}


def _env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    clean.pop("NOTIFY_SOCKET", None)
    return {**clean, **extra}


def _courierd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "courierd.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_lists_the_commands():
    done = _courierd("--help", env=_env())
    assert done.returncode == 0
    for command in ("run", "check-config", "sandbox", "standin-erp"):
        assert command in done.stdout


def test_delegated_commands_parse_their_own_options():
    sandbox = _courierd("sandbox", "--help", env=_env())
    assert sandbox.returncode == 0
    assert "--outbox" in sandbox.stdout
    standin = _courierd("standin-erp", "--help", env=_env())
    assert standin.returncode == 0
    assert "--seed" in standin.stdout


def test_unwritable_state_dir_exits_1_saying_what_to_check(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = _env(**REQUIRED, COURIER_STATE_DIR=str(blocker / "state"), COURIER_LOG_FORMAT="json")
    done = _courierd("run", env=env)
    assert done.returncode == 1
    assert "COURIER_STATE_DIR" in done.stderr


def test_run_with_odoo_down_stays_up_and_exits_0_on_sigterm(tmp_path: Path):
    port = _free_port()
    env = _env(
        **REQUIRED,
        COURIER_ODOO_URL=f"http://127.0.0.1:{_free_port()}",  # nothing listens there
        COURIER_MAILJET_API_URL="http://127.0.0.1:9/",
        COURIER_STATE_DIR=str(tmp_path / "state"),
        COURIER_HTTP_PORT=str(port),
        COURIER_IDLE_SECONDS="0.1",
    )
    log_path = tmp_path / "courierd.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "courierd.cli", "run"], env=env, stderr=log_file
        )
    try:
        health = None
        deadline = time.monotonic() + 60
        while health is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert health is not None, f"courierd did not serve /healthz: {log_path.read_text()}"
        assert health["spool_depth"] == 0
        # The loop meets the missing Odoo, waits, and keeps running.
        while "Odoo unreachable, retrying in" not in log_path.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    stderr = log_path.read_text()
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert "courierd started" in events
    assert events[-1] == "courierd stopped"
    assert "odoo-pass-123" not in stderr
    assert "mj-secret-789" not in stderr
    # One clear warning per wait, never a traceback (the retries inside a wait are info).
    assert [line for line in lines if "exception" in line] == []
    warnings = [line["event"] for line in lines if line["level"] in ("warning", "error")]
    waits = [w for w in warnings if w.startswith("Odoo unreachable, retrying in")]
    assert waits, warnings
    assert all("check that Odoo runs and COURIER_ODOO_URL points at it" in w for w in waits)
    assert [
        w for w in warnings if w not in waits and not w.startswith("webhook receiver off")
    ] == []


def test_check_config_says_which_odoo_transport_and_why():
    no_key = _courierd("check-config", env=_env(**REQUIRED))
    assert no_key.returncode == 0, no_key.stderr
    assert "Odoo transport: jsonrpc: " in no_key.stdout
    assert "COURIER_ODOO_API_KEY is not set" in no_key.stdout
    down = _courierd(
        "check-config",
        env=_env(
            **REQUIRED,
            COURIER_ODOO_API_KEY="odoo-key-abc",
            COURIER_ODOO_URL=f"http://127.0.0.1:{_free_port()}",  # nothing listens there
        ),
    )
    assert down.returncode == 0, down.stderr
    assert "Odoo transport: not decided yet: " in down.stdout
    assert "odoo-key-abc" not in down.stdout + down.stderr


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_port_in_use_exits_2_naming_the_setting(tmp_path: Path, command: str):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _env(**REQUIRED, COURIER_HTTP_PORT=str(port), COURIER_STATE_DIR=str(tmp_path))
        done = _courierd(command, env=env)
    assert done.returncode == 2, done.stderr
    assert f"COURIER_HTTP_PORT: port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "courierd started" not in done.stderr


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_webhook_port_in_use_or_equal_to_http_port_exits_2(tmp_path: Path, command: str):
    http_port = _free_port()
    base = {
        **REQUIRED,
        "COURIER_HTTP_PORT": str(http_port),
        "COURIER_WEBHOOK_PASSWORD": "hook-pass-456",
        "COURIER_STATE_DIR": str(tmp_path),
    }
    same = _courierd(command, env=_env(**base, COURIER_WEBHOOK_PORT=str(http_port)))
    assert same.returncode == 2, same.stderr
    assert f"COURIER_WEBHOOK_PORT and COURIER_HTTP_PORT are both {http_port}" in same.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = _courierd(command, env=_env(**base, COURIER_WEBHOOK_PORT=str(port)))
    assert taken.returncode == 2, taken.stderr
    assert f"COURIER_WEBHOOK_PORT: port {port} on 127.0.0.1 is already in use" in taken.stderr
