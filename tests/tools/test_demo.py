"""`make demo` (tools/demo.py): without an Odoo, one line saying what it needs; the
sandbox and courierd wired so that Mailjet's events reach courierd's webhook receiver.

The demo with a real Odoo 18 is a long-running interactive command; it was
verified by hand (README.md, "The two commands"). Its seeding functions run
in the browser test (tests/browser/).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from courierd.config import load_settings
from mailjet_sandbox import add_arguments
from tests.support.processes import ROOT
from tools import demo
from tools.odoo_local import OdooEnv

WIRING = demo.Wiring(
    sandbox_port=8025,
    http_port=8790,
    webhook_port=8791,
    mailjet_secret="mailjet-secret-of-this-run",
    webhook_password="webhook-password-of-this-run",
)


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ODOO_HOME": str(tmp_path / "no-odoo-here")}
    return subprocess.run(
        [sys.executable, "-m", "tools.demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_odoo_it_says_what_it_needs_in_one_line(tmp_path: Path) -> None:
    result = run_demo(tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "needs an Odoo 18 or 19 at $ODOO_HOME, else /opt/odoo18 or /opt/odoo19" in line
    assert "docs/odoo-setup.md" in line
    assert "docker/README.md" in line  # the route that brings an Odoo along
    assert str(tmp_path / "no-odoo-here") in line


def test_help_names_the_options(tmp_path: Path) -> None:
    result = run_demo(tmp_path, "--help")
    assert result.returncode == 0
    assert "--port" in result.stdout
    assert "--keep-db" in result.stdout


def test_the_sandbox_posts_its_events_to_courierds_receiver_with_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args, sandbox_env = WIRING.sandbox_command()
    assert WIRING.webhook_password not in args and WIRING.mailjet_secret not in args
    for key in [k for k in os.environ if k.startswith("COURIER_")]:
        monkeypatch.delenv(key)
    for key, value in sandbox_env.items():
        monkeypatch.setenv(key, value)
    parser = argparse.ArgumentParser()
    add_arguments(parser)  # the sandbox's own options, defaults read from the environment
    assert args[0] == "sandbox"
    sandbox = parser.parse_args(args[1:])

    for key in sandbox_env:
        monkeypatch.delenv(key)
    for key, value in WIRING.courierd_env("http://127.0.0.1:8069", "courier_demo_x", "pw").items():
        monkeypatch.setenv(key, value)
    settings, _origins = load_settings(None)

    assert settings.webhook_password is not None
    receiver = f"http://{settings.webhook_host}:{settings.webhook_port}{settings.webhook_path}"
    assert sandbox.webhook_url == receiver == WIRING.receiver_url
    assert sandbox.webhook_user == settings.webhook_user
    assert sandbox.webhook_password == settings.webhook_password.get_secret_value()
    assert settings.mailjet_api_url == f"http://127.0.0.1:{sandbox.port}/"
    assert sandbox.api_key == settings.mailjet_api_key.get_secret_value()
    assert sandbox.api_secret == settings.mailjet_api_secret.get_secret_value()


def test_ready_message_names_the_receiver_but_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odoo = OdooEnv(tmp_path, tmp_path / "py", tmp_path / "odoo-bin", "localhost", 5432, "u", "p")
    setup = demo.DemoSetup("http://127.0.0.1:8069", "admin-pw", "daemon-pw", 7, "INV/2026/00001")
    demo.print_ready(demo.Demo(odoo, "courier_demo_x", 8069, keep_db=False), setup, WIRING)
    out = capsys.readouterr().out
    assert f"Webhook   {WIRING.receiver_url}" in out
    for secret in (WIRING.webhook_password, WIRING.mailjet_secret, setup.daemon_password):
        assert secret not in out
    assert "Odoo 18 at " in out and "JSON-RPC" in out


def test_with_odoo_19_courierd_gets_the_api_key_and_no_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = WIRING.courierd_env("http://127.0.0.1:8069", "courier_demo_x", "pw", "odoo-19-key")
    assert "COURIER_ODOO_PASSWORD" not in env
    for key in [k for k in os.environ if k.startswith("COURIER_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings, _origins = load_settings(None)
    assert settings.odoo_transport == "auto"  # JSON-2 once courierd sees Odoo 19 serve it
    assert settings.odoo_api_key is not None
    assert settings.odoo_api_key.get_secret_value() == "odoo-19-key"
