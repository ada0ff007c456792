"""A bad configuration stops courierd at once, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import courierd_process, run_courierd, wait_until


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_missing_required_key_is_named(courier_env: dict[str, str], command: str) -> None:
    env = {k: v for k, v in courier_env.items() if k != "COURIER_ODOO_DB"}

    result = run_courierd([command], env)

    assert result.returncode != 0
    assert "COURIER_ODOO_DB" in result.stderr


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("COURIER_BATCH_SIZE", "500"),
        ("COURIER_MAILJET_API_URL", "http://mail.example.net/"),
        ("COURIER_ODOO_URL", "not a url"),
    ],
)
def test_invalid_value_is_named(courier_env: dict[str, str], key: str, value: str) -> None:
    result = run_courierd(["run"], courier_env | {key: value})

    assert result.returncode != 0
    assert key in result.stderr


def test_good_configuration_is_printed_with_secrets_masked(courier_env: dict[str, str]) -> None:
    result = run_courierd(["check-config"], courier_env)

    assert result.returncode == 0, result.stderr
    odoo_secret = courier_env.get("COURIER_ODOO_PASSWORD") or courier_env["COURIER_ODOO_API_KEY"]
    assert odoo_secret not in result.stdout
    assert courier_env["COURIER_MAILJET_API_SECRET"] not in result.stdout
    assert "COURIER_ODOO_URL" in result.stdout


# -- configuration mistakes (issue 11): exit 2 from both commands, naming the key --

MISTAKES = {
    "empty-mailjet-key": ({"COURIER_MAILJET_API_KEY": ""}, "COURIER_MAILJET_API_KEY"),
    "empty-mailjet-secret": ({"COURIER_MAILJET_API_SECRET": " "}, "COURIER_MAILJET_API_SECRET"),
    "odoo-port-out-of-range": (
        {"COURIER_ODOO_URL": "http://127.0.0.1:99999"},
        "COURIER_ODOO_URL (from the environment) is invalid: has an invalid port",
    ),
    "odoo-url-malformed": ({"COURIER_ODOO_URL": "http://[::1"}, "COURIER_ODOO_URL"),
    "empty-odoo-password": ({"COURIER_ODOO_PASSWORD": ""}, "COURIER_ODOO_PASSWORD"),
    "empty-odoo-db": ({"COURIER_ODOO_DB": ""}, "COURIER_ODOO_DB"),
    "retry-max-below-base": (
        {"COURIER_RETRY_BASE_SECONDS": "600", "COURIER_RETRY_MAX_SECONDS": "60"},
        "COURIER_RETRY_MAX_SECONDS (60) is below COURIER_RETRY_BASE_SECONDS (600)",
    ),
    "misspelt-variable": (
        {"COURIER_ODOO_PASWORD": "x"},
        "COURIER_ODOO_PASWORD is not a courierd setting (did you mean COURIER_ODOO_PASSWORD?)",
    ),
}


@pytest.mark.parametrize("command", ["check-config", "run"])
@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_configuration_mistake_exits_2_naming_the_key(
    courier_env: dict[str, str], command: str, mistake: str
) -> None:
    changes, says = MISTAKES[mistake]

    result = run_courierd([command], courier_env | changes)

    assert result.returncode == 2, result.stderr
    assert says in result.stderr
    assert "courierd started" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_empty_events_mapping_exits_2(
    courier_env: dict[str, str], tmp_path: Path, command: str
) -> None:
    empty = tmp_path / "events.yaml"
    empty.write_text("")

    result = run_courierd([command], courier_env | {"COURIER_EVENT_MAPPING": str(empty)})

    assert result.returncode == 2, result.stderr
    assert f"COURIER_EVENT_MAPPING: {empty} is empty" in result.stderr


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_webhook_port_equal_to_http_port_exits_2(courier_env: dict[str, str], command: str) -> None:
    port = courier_env["COURIER_HTTP_PORT"]
    env = courier_env | {"COURIER_WEBHOOK_PASSWORD": "hook-pass", "COURIER_WEBHOOK_PORT": port}

    result = run_courierd([command], env)

    assert result.returncode == 2, result.stderr
    assert f"COURIER_WEBHOOK_PORT and COURIER_HTTP_PORT are both {port}" in result.stderr


def test_wrong_odoo_db_says_the_database_does_not_exist(courier_env: dict[str, str]) -> None:
    env = courier_env | {"COURIER_ODOO_DB": "no-such-db"}
    with courierd_process(env, "e2e-wrong-odoo-db.log") as daemon:

        def this_run() -> str:  # the log file collects every run under its name
            return daemon.log_text().rpartition("----- courierd run")[2]

        wait_until(lambda: "Odoo unreachable, retrying in" in this_run(), 30, "the first wait")
        log = this_run()
    waits = [line for line in log.splitlines() if "retrying in" in line]
    assert waits
    for line in waits:
        assert "check COURIER_ODOO_DB" in line
        assert "check that Odoo runs" not in line
        if "COURIER_ODOO_API_KEY" not in env:  # JSON-RPC: Odoo's error names the database
            assert "the database does not exist: check COURIER_ODOO_DB" in line
