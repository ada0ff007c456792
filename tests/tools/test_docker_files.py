"""docker/: what can be checked without a Docker engine (none runs on these machines).

The compose file and the Dockerfile are read as data and held to the facts
they claim: the services and images, the addon mount, the non-root user and
the healthchecks, and every COURIER_* key being one courierd knows. Where a
compose CLI is installed, `config` validates the file too. The one-shot setup
script runs against the suite's real Odoo 18.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from typing import Any

import odoorpc
import pytest
import yaml

from courierd.config import ENV_PREFIX, Settings
from tests.support.odoo import OdooServer
from tests.support.processes import ROOT
from tools.odoo_local import DAEMON_GROUP, MODULE, groups_field, rpc_login

DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
COURIER_KEY = re.compile(rf"\b{ENV_PREFIX}[A-Z0-9_]+\b")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (DOCKER / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    result = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            result.append((instruction.upper(), arguments.strip()))
    return result


def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_compose_has_the_four_services_and_a_one_shot_setup() -> None:
    found = services()
    assert set(found) == {"postgres", "odoo", "setup", "sandbox", "courierd"}
    assert found["odoo"]["image"] == "odoo:18.0"
    assert found["postgres"]["image"].startswith("postgres:")
    assert found["postgres"]["environment"]["POSTGRES_USER"] == "odoo"
    assert found["odoo"]["environment"]["USER"] == "odoo"
    assert "8069:8069" in found["odoo"]["ports"]
    for name in ("setup", "sandbox", "courierd"):
        assert found[name]["build"]["dockerfile"] == "docker/Dockerfile"
        assert (DOCKER / found[name]["build"]["context"] / "pyproject.toml").is_file()
    assert found["sandbox"]["command"][0] == "sandbox"


def test_the_addon_is_mounted_read_only_where_the_odoo_image_looks() -> None:
    [mount] = [v for v in services()["odoo"]["volumes"] if ":/mnt/extra-addons" in v]
    source, target, mode = mount.split(":")
    assert (target, mode) == ("/mnt/extra-addons", "ro")
    assert (DOCKER / source / MODULE / "__manifest__.py").is_file()
    command = " ".join(services()["odoo"]["command"])
    assert f"--init={MODULE}" in command


def test_start_order_waits_for_health_and_for_the_setup() -> None:
    found = services()
    assert found["odoo"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert found["setup"]["depends_on"]["odoo"]["condition"] == "service_healthy"
    assert found["courierd"]["depends_on"] == {
        "sandbox": {"condition": "service_healthy"},
        "setup": {"condition": "service_completed_successfully"},
    }
    for name in ("postgres", "odoo", "sandbox"):
        assert found[name]["healthcheck"]["test"][0] == "CMD", name


def test_courierd_and_the_sandbox_meet_on_loopback_with_the_same_webhook() -> None:
    found = services()
    courierd, sandbox = found["courierd"], found["sandbox"]
    # mailjet-rest talks to loopback or mailjet.com only: courierd lives in the sandbox's netns.
    assert courierd["network_mode"] == "service:sandbox"
    assert courierd["environment"]["COURIER_MAILJET_API_URL"].startswith("http://127.0.0.1:8025")
    options = dict(arg.removeprefix("--").split("=", 1) for arg in sandbox["command"][1:])
    env = courierd["environment"]
    port = Settings.model_fields["webhook_port"].default
    assert options["webhook-url"] == f"http://127.0.0.1:{port}{env['COURIER_WEBHOOK_PATH']}"
    assert options["webhook-user"] == env["COURIER_WEBHOOK_USER"]
    assert sandbox["environment"]["COURIER_WEBHOOK_PASSWORD"] == env["COURIER_WEBHOOK_PASSWORD"]


def test_every_courier_key_in_the_docker_files_is_a_courierd_setting() -> None:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    texts = [COMPOSE_FILE.read_text(), ENV_EXAMPLE.read_text(), (DOCKER / "Dockerfile").read_text()]
    used = {key for text in texts for key in COURIER_KEY.findall(text)}
    assert used, "no COURIER_* key found: the pattern is wrong"
    assert used - known == set()


def test_secrets_come_from_the_env_file_and_the_example_holds_none() -> None:
    secret_keys = {
        "COURIER_ODOO_PASSWORD",
        "COURIER_MAILJET_API_KEY",
        "COURIER_MAILJET_API_SECRET",
        "COURIER_WEBHOOK_PASSWORD",
    }
    for name, service in services().items():
        for key, value in (service.get("environment") or {}).items():
            if key in secret_keys:
                assert str(value).startswith(f"${{{key}:?"), (name, key)
    example = env_example()
    assert {key for key in secret_keys if example[key].startswith("change-me")} == secret_keys
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "docker/.env"], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0, "docker/.env must be git-ignored: it holds the secrets"


def test_dockerfile_is_slim_non_root_with_a_healthcheck_and_courierd_run() -> None:
    instructions = dockerfile_instructions()
    by_name: dict[str, list[str]] = {}
    for name, arguments in instructions:
        by_name.setdefault(name, []).append(arguments)
    assert by_name["FROM"] == ["python:3.11-slim"]
    assert not any("[dev]" in run for run in by_name["RUN"])
    [user] = by_name["USER"]
    assert user not in ("root", "0")
    assert instructions[-2:] == [("ENTRYPOINT", '["courierd"]'), ("CMD", '["run"]')]
    [healthcheck] = by_name["HEALTHCHECK"]
    assert "urllib.request" in healthcheck and "/healthz" in healthcheck
    assert "curl" not in healthcheck
    ports = {int(p) for line in by_name["EXPOSE"] for p in line.split()}
    defaults = Settings.model_fields
    assert ports == {defaults["http_port"].default, defaults["webhook_port"].default}
    assert by_name["VOLUME"] == ['["/var/lib/courierd"]']


def test_dockerignore_keeps_the_build_context_to_the_package() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("*") :][:4] == ["*", "!pyproject.toml", "!README.md", "!daemon/"]


def compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_accepts_the_file_with_the_example_env() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no `docker compose` nor docker-compose here: the YAML checks above stand")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_setup_creates_the_daemon_user_and_is_idempotent(odoo_server: OdooServer) -> None:
    login, password = "courierd-docker-setup", "setup-test-password"
    env = {
        "ODOO_URL": odoo_server.url,
        "ODOO_DB": odoo_server.db,
        "ODOO_ADMIN_PASSWORD": "admin",
        "ODOO_PUBLIC_URL": odoo_server.url,
        "ODOO_SENDER_EMAIL": "",  # keep the suite's sender
        "COURIER_ODOO_LOGIN": login,
        "COURIER_ODOO_PASSWORD": password,
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
    }
    runs = [
        subprocess.run(
            [sys.executable, str(DOCKER / "setup_odoo.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 0], [run.stderr for run in runs]
    assert "created" in runs[0].stdout and "updated" in runs[1].stdout
    assert password not in runs[0].stdout + runs[1].stdout

    daemon = rpc_login(odoo_server.url, odoo_server.db, login, password)
    admin = odoo_server.admin()
    groups = groups_field(admin)
    [user] = admin.execute("res.users", "search_read", [("login", "=", login)], [groups])
    [group] = admin.execute(
        "ir.model.data",
        "search_read",
        [("module", "=", MODULE), ("name", "=", DAEMON_GROUP)],
        ["res_id"],
    )
    assert group["res_id"] in user[groups]
    # The contract's user reads no invoice directly.
    with pytest.raises(odoorpc.error.RPCError):
        daemon.execute("account.move", "search", [])
