"""courierd's configuration: environment variables (prefix COURIER_) over an optional TOML file.

`load_settings` is the only entry point. It turns every validation problem into a
`ConfigError` whose lines name the key, where the bad value came from (environment
or file) and what is expected, so `courierd check-config` can print them as they are.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from courierd.domain.errors import ConfigError, MappingError
from courierd.mailjet.event_mapping import load_event_mapping
from courierd.mailjet.message_mapping import load_message_mapping
from courierd.odoo.transport import TransportSetting

ENV_PREFIX = "COURIER_"
CONFIG_FILE_ENV = "COURIER_CONFIG_FILE"

# mailjet-rest refuses any other host (SSRF guard); checking here gives a plain message.
_MAILJET_HOSTS = {"mailjet.com", "localhost", "127.0.0.1", "::1"}


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    """Every key of the daemon; see docs/architecture.md "Daemon configuration"."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", case_sensitive=False, validate_default=True
    )

    odoo_url: str = "http://127.0.0.1:8069"
    odoo_db: str
    odoo_login: str
    # The Courier daemon user's API key: JSON-2 needs it; JSON-RPC takes it as the password.
    odoo_api_key: SecretStr | None = None
    odoo_password: SecretStr | None = None
    odoo_transport: TransportSetting = "auto"
    odoo_timeout: float = Field(60.0, gt=0, le=600)
    mailjet_api_key: SecretStr
    mailjet_api_secret: SecretStr
    mailjet_api_url: str = "https://api.mailjet.com/"
    mailjet_sandbox_mode: bool = False
    mailjet_timeout: float = Field(30.0, gt=0, le=300)
    worker_id: str = Field(default_factory=_default_worker_id, min_length=1)
    batch_size: int = Field(50, ge=1, le=50)
    lease_seconds: int = Field(300, ge=30)
    idle_seconds: float = Field(2.0, gt=0, le=300)
    pdf_concurrency: int = Field(8, ge=1, le=32)
    pdf_batch_size: int = Field(5, ge=1, le=50)
    retry_base_seconds: int = Field(30, ge=1)
    retry_max_seconds: int = Field(3600, ge=1)
    http_host: str = "127.0.0.1"
    http_port: int = Field(8790, ge=1, le=65535)
    health_max_age_seconds: float = Field(120.0, gt=0)
    state_dir: Path = Path("/var/lib/courierd")
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(8791, ge=1, le=65535)
    webhook_path: str = "/webhooks/mailjet"
    webhook_user: str = Field("mailjet", min_length=1)
    webhook_password: SecretStr | None = None
    event_mapping: Path | None = None
    message_mapping: Path | None = None
    forward_batch_size: int = Field(500, ge=1, le=5000)
    poll_interval_seconds: float = Field(0.0, ge=0)
    poll_max_age_days: int = Field(30, ge=1, le=365)
    poll_batch_size: int = Field(100, ge=1, le=500)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file's values arrive as init kwargs; listing the environment first
        # makes it win over the file.
        return (env_settings, init_settings)

    @field_validator("odoo_url")
    @classmethod
    def _check_odoo_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL such as http://127.0.0.1:8069")
        if parts.path not in {"", "/"}:
            raise ValueError("must not have a path: Odoo's JSON-RPC lives at the server root")
        return value

    @field_validator("odoo_api_key")
    @classmethod
    def _check_odoo_api_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty; leave it unset to log in with a password")
        return value

    @field_validator("odoo_password")
    @classmethod
    def _check_odoo_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and info.data.get("odoo_api_key") is None:
            raise PydanticCustomError(
                "missing", "Field required", {"alternative": "COURIER_ODOO_API_KEY"}
            )
        return value

    @field_validator("odoo_transport")
    @classmethod
    def _check_odoo_transport(cls, value: str, info: ValidationInfo) -> str:
        if value == "json2" and info.data.get("odoo_api_key") is None:
            raise ValueError(
                "json2 needs COURIER_ODOO_API_KEY, an API key of the Courier daemon user"
            )
        return value

    @field_validator("webhook_path")
    @classmethod
    def _check_webhook_path(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in "?#<> "):
            raise ValueError("must be a URL path starting with '/', such as /webhooks/mailjet")
        return value

    @field_validator("webhook_password")
    @classmethod
    def _check_webhook_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("must not be empty; leave it unset to run without the webhook")
        return value

    @field_validator("mailjet_api_url")
    @classmethod
    def _check_mailjet_url(cls, value: str) -> str:
        parts = urlsplit(value)
        host = parts.hostname or ""
        allowed = host in _MAILJET_HOSTS or host.endswith(".mailjet.com")
        if parts.scheme not in {"http", "https"} or not allowed:
            raise ValueError(
                "must be https://api.mailjet.com/ or a loopback URL of the sandbox "
                "(localhost, 127.0.0.1, ::1); mailjet-rest refuses any other host"
            )
        return value if value.endswith("/") else value + "/"


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML file's keys, lower-cased (`odoo_url = ...`; `ODOO_URL` works too)."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError([f"config file {path} does not exist"]) from exc
    except OSError as exc:
        raise ConfigError([f"config file {path} cannot be read: {exc.strerror}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"config file {path} is not valid TOML: {exc}"]) from exc
    problems = [
        f"key {key!r} in config file {path} is a table; courierd expects flat keys"
        for key, value in data.items()
        if isinstance(value, dict)
    ]
    if problems:
        raise ConfigError(problems)
    return {key.lower(): value for key, value in data.items()}


def resolve_config_file(cli_value: str | None, environ: Mapping[str, str]) -> Path | None:
    raw = cli_value or environ.get(CONFIG_FILE_ENV) or None
    return Path(raw) if raw else None


def load_settings(config_file: Path | None) -> tuple[Settings, dict[str, str]]:
    """Settings plus, per key, where its value came from (default, environment, file path)."""
    present = {name.upper() for name in os.environ}
    file_values = read_config_file(config_file) if config_file else {}
    known = set(Settings.model_fields)
    env_keys = {key for key in known if env_name(key) in present}
    try:
        settings = Settings(**file_values)
    except ValidationError as exc:
        raise ConfigError(_describe_errors(exc, config_file, set(file_values), env_keys)) from None
    problems = []
    for key, load in (
        ("event_mapping", load_event_mapping),
        ("message_mapping", load_message_mapping),
    ):
        try:
            load(getattr(settings, key))
        except MappingError as exc:
            problems += [f"{env_name(key)}: {p}" for p in exc.problems]
    if problems:
        raise ConfigError(problems)
    origins = {
        key: "environment"
        if key in env_keys
        else (str(config_file) if key in file_values else "default")
        for key in known
    }
    return settings, origins


def _describe_errors(
    exc: ValidationError, config_file: Path | None, file_keys: set[str], env_keys: set[str]
) -> list[str]:
    problems = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else "?"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            problems.append(
                f"unknown key {key!r} in config file {config_file}; "
                f"see docs/architecture.md for the keys courierd knows"
            )
        elif error["type"] == "missing":
            where = f" or as {key!r} in {config_file}" if config_file else ""
            alternative = (error.get("ctx") or {}).get("alternative")
            either = f" (or {alternative})" if alternative else ""
            problems.append(
                f"{env_name(key)} is required{either}: set it in the environment{where}"
            )
        elif key in env_keys:
            problems.append(f"{env_name(key)} (from the environment) is invalid: {message}")
        elif key in file_keys:
            problems.append(f"key {key!r} in config file {config_file} is invalid: {message}")
        else:
            problems.append(f"{env_name(key)} is invalid: {message}")
    return problems


def describe(settings: Settings, origins: Mapping[str, str]) -> list[str]:
    """One line per key, secrets masked, for `courierd check-config`."""
    lines = []
    for key in Settings.model_fields:
        value = getattr(settings, key)
        shown = "********" if isinstance(value, SecretStr) else str(value)
        lines.append(f"{env_name(key)} = {shown}  ({origins.get(key, 'default')})")
    return lines
