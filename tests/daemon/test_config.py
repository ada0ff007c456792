import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from courierd.config import check_listen_ports, describe, load_settings
from courierd.domain.errors import ConfigError

REQUIRED = {
    "COURIER_ODOO_DB": "courier",
    "COURIER_ODOO_LOGIN": "courierd",
    "COURIER_ODOO_PASSWORD": "odoo-pass-123",
    "COURIER_MAILJET_API_KEY": "mj-key-456",
    "COURIER_MAILJET_API_SECRET": "mj-secret-789",
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def required_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("COURIER_"):
            monkeypatch.delenv(name)
    for key, value in REQUIRED.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_environment_only(required_env):
    required_env.setenv("COURIER_BATCH_SIZE", "20")
    settings, origins = load_settings(None)
    assert settings.odoo_db == "courier"
    assert settings.batch_size == 20
    assert settings.odoo_password.get_secret_value() == "odoo-pass-123"
    assert settings.odoo_url == "http://127.0.0.1:8069"
    assert origins["batch_size"] == "environment"
    assert origins["odoo_url"] == "default"


def test_file_values_and_environment_wins(tmp_path, required_env):
    config = _write(
        tmp_path / "courierd.toml",
        'odoo_db = "from-file"\nodoo_url = "https://erp.example.com"\nIDLE_SECONDS = 5\n',
    )
    required_env.delenv("COURIER_ODOO_DB")
    settings, origins = load_settings(config)
    assert settings.odoo_db == "from-file"
    assert settings.idle_seconds == 5
    assert origins["odoo_db"] == str(config)
    required_env.setenv("COURIER_ODOO_DB", "from-env")
    settings, origins = load_settings(config)
    assert settings.odoo_db == "from-env"
    assert origins["odoo_db"] == "environment"


def test_describe_masks_secrets(required_env):
    settings, origins = load_settings(None)
    text = "\n".join(describe(settings, origins))
    for secret in ("odoo-pass-123", "mj-key-456", "mj-secret-789"):
        assert secret not in text
    assert "COURIER_ODOO_PASSWORD = ********  (environment)" in text
    assert "COURIER_ODOO_DB = courier  (environment)" in text


def test_missing_keys_are_each_named(required_env):
    for key in REQUIRED:
        required_env.delenv(key)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    text = "\n".join(caught.value.problems)
    for key in REQUIRED:
        assert f"{key} is required" in text


def test_bad_key_in_file_names_the_key_and_the_file(tmp_path, required_env):
    config = _write(tmp_path / "c.toml", 'odoo_ulr = "http://x"\nbatch_size = 80\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    problems = caught.value.problems
    assert any("unknown key 'odoo_ulr'" in p and str(config) in p for p in problems)
    assert any("'batch_size'" in p and str(config) in p and "50" in p for p in problems)


def test_bad_value_in_environment_names_the_variable(required_env):
    required_env.setenv("COURIER_ODOO_URL", "ftp://odoo")
    required_env.setenv("COURIER_MAILJET_API_URL", "http://evil.example")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    text = "\n".join(caught.value.problems)
    assert "COURIER_ODOO_URL (from the environment) is invalid" in text
    assert "COURIER_MAILJET_API_URL (from the environment) is invalid" in text


def test_unreadable_or_broken_file(tmp_path, required_env):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    broken = _write(tmp_path / "broken.toml", "odoo_db = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def _courierd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    return subprocess.run(
        [sys.executable, "-m", "courierd.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_config_exits_0_and_prints_masked_values(tmp_path):
    config = _write(tmp_path / "c.toml", 'worker_id = "w-file"\n')
    done = _courierd("check-config", "--config", str(config), env=REQUIRED)
    assert done.returncode == 0, done.stderr
    assert f"COURIER_WORKER_ID = w-file  ({config})" in done.stdout
    assert "mj-secret-789" not in done.stdout + done.stderr


def test_check_config_exits_2_naming_the_problem(tmp_path):
    config = _write(tmp_path / "c.toml", "lease_seconds = 5\n")
    env = {k: v for k, v in REQUIRED.items() if k != "COURIER_MAILJET_API_SECRET"}
    done = _courierd("check-config", env={**env, "COURIER_CONFIG_FILE": str(config)})
    assert done.returncode == 2
    assert "COURIER_MAILJET_API_SECRET is required" in done.stderr
    assert f"key 'lease_seconds' in config file {config} is invalid" in done.stderr


def test_run_with_bad_config_exits_2_without_starting():
    done = _courierd("run", env={})
    assert done.returncode == 2
    assert "COURIER_ODOO_DB is required" in done.stderr


def test_version():
    done = _courierd("--version", env={})
    assert done.returncode == 0
    assert done.stdout.startswith("courierd ")


def test_the_example_config_file_is_valid(required_env):
    example = Path(__file__).parents[2] / "daemon" / "courierd.example.toml"
    settings, origins = load_settings(example)
    assert settings.odoo_db == "courier"  # the environment wins over the example's value
    assert origins["odoo_login"] == "environment"
    assert origins["pdf_concurrency"] == str(example)


def test_an_api_key_alone_is_enough_and_masked(required_env):
    required_env.delenv("COURIER_ODOO_PASSWORD")
    required_env.setenv("COURIER_ODOO_API_KEY", "odoo-key-abc")
    required_env.setenv("COURIER_ODOO_TRANSPORT", "json2")
    settings, origins = load_settings(None)
    assert settings.odoo_api_key.get_secret_value() == "odoo-key-abc"
    assert settings.odoo_password is None
    assert settings.odoo_transport == "json2"
    text = "\n".join(describe(settings, origins))
    assert "odoo-key-abc" not in text
    assert "COURIER_ODOO_API_KEY = ********  (environment)" in text
    assert "COURIER_ODOO_TRANSPORT = json2  (environment)" in text


def test_neither_password_nor_api_key_names_both(required_env):
    required_env.delenv("COURIER_ODOO_PASSWORD")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert caught.value.problems == [
        "COURIER_ODOO_PASSWORD is required (or COURIER_ODOO_API_KEY): set it in the environment"
    ]


def test_json2_without_an_api_key_is_refused(required_env):
    required_env.setenv("COURIER_ODOO_TRANSPORT", "json2")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    [problem] = caught.value.problems
    assert problem.startswith("COURIER_ODOO_TRANSPORT (from the environment) is invalid")
    assert "COURIER_ODOO_API_KEY" in problem


@pytest.mark.parametrize(("key", "value"), [("TRANSPORT", "xmlrpc"), ("API_KEY", " ")])
def test_bad_transport_or_empty_key_is_named(required_env, key, value):
    required_env.setenv(f"COURIER_ODOO_{key}", value)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert any(p.startswith(f"COURIER_ODOO_{key} ") for p in caught.value.problems)


# -- configuration mistakes (issue 11): each names its key and what to do --


def _problems(config: Path | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize("key", ["COURIER_MAILJET_API_KEY", "COURIER_MAILJET_API_SECRET"])
@pytest.mark.parametrize("value", ["", "   "])
def test_empty_mailjet_credential_is_refused(required_env, key, value):
    required_env.setenv(key, value)
    text = _problems()
    assert f"{key} (from the environment) is invalid: must not be empty" in text
    assert "Mailjet: Account settings > API keys" in text


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("COURIER_ODOO_PASSWORD", "password of the Courier daemon user"),
        ("COURIER_ODOO_DB", "name of the Odoo database"),
        ("COURIER_ODOO_LOGIN", "login of the Courier daemon user"),
    ],
)
def test_empty_odoo_setting_is_refused(required_env, key, hint):
    required_env.setenv(key, "")
    text = _problems()
    assert f"{key} (from the environment) is invalid: must not be empty" in text
    assert hint in text


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:99999", "invalid port (Port out of range 0-65535)"),
        ("http://127.0.0.1:80a", "invalid port"),
        ("http://127.0.0.1:0", "port 0"),
        ("http://[::1", "is not a URL (Invalid IPv6 URL)"),
        ("erp.example.com:8069", "must be an http:// or https:// URL"),
    ],
)
def test_malformed_odoo_url_is_refused_without_repeating_it(required_env, url, says):
    required_env.setenv("COURIER_ODOO_URL", url)
    text = _problems()
    assert "COURIER_ODOO_URL (from the environment) is invalid" in text
    assert says in text
    assert url not in text  # a URL may hold a password: the message never repeats it


def test_mailjet_url_with_invalid_port_is_refused(required_env):
    required_env.setenv("COURIER_MAILJET_API_URL", "http://127.0.0.1:70000/")
    assert "COURIER_MAILJET_API_URL (from the environment) is invalid: has an invalid port" in (
        _problems()
    )


def test_retry_max_below_retry_base_names_both(required_env):
    required_env.setenv("COURIER_RETRY_BASE_SECONDS", "600")
    required_env.setenv("COURIER_RETRY_MAX_SECONDS", "60")
    text = _problems()
    assert "COURIER_RETRY_MAX_SECONDS (60) is below COURIER_RETRY_BASE_SECONDS (600)" in text
    assert "raise COURIER_RETRY_MAX_SECONDS or lower COURIER_RETRY_BASE_SECONDS" in text
    required_env.setenv("COURIER_RETRY_MAX_SECONDS", "600")
    assert load_settings(None)[0].retry_max_seconds == 600  # equal is fine


def test_claim_wait_must_leave_room_within_the_odoo_timeout(required_env):
    assert load_settings(None)[0].claim_wait_seconds == 10  # the long poll is on by default
    required_env.setenv("COURIER_ODOO_TIMEOUT", "12")
    text = _problems()
    assert "COURIER_CLAIM_WAIT_SECONDS (10) leaves no time within COURIER_ODOO_TIMEOUT (12)" in text
    required_env.setenv("COURIER_CLAIM_WAIT_SECONDS", "0")
    assert load_settings(None)[0].claim_wait_seconds == 0  # 0: no wait, no constraint


@pytest.mark.parametrize("content", ["", "\n  \n", "# only a comment\n"])
@pytest.mark.parametrize("key", ["COURIER_EVENT_MAPPING", "COURIER_MESSAGE_MAPPING"])
def test_empty_mapping_file_is_refused(tmp_path, required_env, key, content):
    mapping = _write(tmp_path / "mapping.yaml", content)
    required_env.setenv(key, str(mapping))
    text = _problems()
    assert f"{key}: {mapping} is empty" in text
    assert "unset it to use the built-in mapping" in text


def test_misspelt_variable_is_named_with_the_closest_setting(required_env):
    required_env.delenv("COURIER_ODOO_PASSWORD")
    required_env.setenv("COURIER_ODOO_PASWORD", "odoo-pass-123")
    text = _problems()
    assert (
        "COURIER_ODOO_PASWORD is not a courierd setting (did you mean COURIER_ODOO_PASSWORD?)"
    ) in text
    assert "COURIER_ODOO_PASSWORD is required" in text  # and what is missing because of it
    assert "odoo-pass-123" not in text


def test_unknown_variable_without_a_close_setting_is_refused_too(required_env):
    required_env.setenv("COURIER_BANANA", "1")
    text = _problems()
    assert "COURIER_BANANA is not a courierd setting: rename or unset it" in text


def test_the_project_tools_variables_are_not_settings_but_allowed(required_env):
    required_env.setenv("COURIER_PG_USER", "courier_odoo")
    required_env.setenv("COURIER_KEEP_ODOO_DB", "1")
    settings, _ = load_settings(None)
    assert settings.odoo_db == "courier"


def test_misspelt_file_key_is_named_with_the_closest_key(tmp_path, required_env):
    config = _write(tmp_path / "c.toml", 'odoo_ulr = "http://x"\n')
    text = _problems(config)
    assert f"unknown key 'odoo_ulr' in config file {config} (did you mean 'odoo_url'?)" in text


def test_webhook_port_equal_to_http_port_is_refused(required_env):
    required_env.setenv("COURIER_WEBHOOK_PASSWORD", "hook-pass")
    required_env.setenv("COURIER_HTTP_PORT", "8790")
    required_env.setenv("COURIER_WEBHOOK_PORT", "8790")
    text = _problems()
    assert "COURIER_WEBHOOK_PORT and COURIER_HTTP_PORT are both 8790" in text
    assert "set COURIER_WEBHOOK_PORT to another one (default 8791)" in text
    required_env.setenv("COURIER_WEBHOOK_HOST", "0.0.0.0")  # all addresses: still the same
    assert "are both 8790" in _problems()


def test_same_port_on_other_addresses_or_without_webhook_is_fine(required_env):
    required_env.setenv("COURIER_HTTP_PORT", "8790")
    required_env.setenv("COURIER_WEBHOOK_PORT", "8790")
    assert load_settings(None)[0].webhook_port == 8790  # no password: no receiver
    required_env.setenv("COURIER_WEBHOOK_PASSWORD", "hook-pass")
    required_env.setenv("COURIER_WEBHOOK_HOST", "127.0.0.2")
    assert load_settings(None)[0].webhook_host == "127.0.0.2"


def test_port_in_use_names_its_setting(required_env):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        required_env.setenv("COURIER_HTTP_PORT", str(port))
        settings, _ = load_settings(None)
        [problem] = check_listen_ports(settings)
        assert problem.startswith(f"COURIER_HTTP_PORT: port {port} on 127.0.0.1 is already in use")
        assert "set COURIER_HTTP_PORT to a free port" in problem

        required_env.setenv("COURIER_HTTP_PORT", str(_free_port()))
        required_env.setenv("COURIER_WEBHOOK_PORT", str(port))
        assert check_listen_ports(load_settings(None)[0]) == []  # no password: no receiver
        required_env.setenv("COURIER_WEBHOOK_PASSWORD", "hook-pass")
        [problem] = check_listen_ports(load_settings(None)[0])
        assert problem.startswith(f"COURIER_WEBHOOK_PORT: port {port} on 127.0.0.1")


def test_unusable_listen_address_names_the_host_setting(required_env):
    required_env.setenv("COURIER_HTTP_HOST", "192.0.2.1")  # TEST-NET-1: not this machine's
    [problem] = check_listen_ports(load_settings(None)[0])
    assert problem.startswith("COURIER_HTTP_HOST '192.0.2.1' is not an address of this machine")


def test_describe_masks_the_user_info_of_urls(required_env):
    required_env.setenv("COURIER_ODOO_URL", "https://courierd:url-pass-42@erp.example.com")
    text = "\n".join(describe(*load_settings(None)))
    assert "url-pass-42" not in text
    assert "COURIER_ODOO_URL = https://********@erp.example.com  (environment)" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
