"""A bad configuration stops courierd at once, naming the key."""

from __future__ import annotations

import pytest

from tests.support.processes import run_courierd


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
    assert courier_env["COURIER_ODOO_PASSWORD"] not in result.stdout
    assert courier_env["COURIER_MAILJET_API_SECRET"] not in result.stdout
    assert "COURIER_ODOO_URL" in result.stdout
