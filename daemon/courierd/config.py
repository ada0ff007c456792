"""courierd's configuration: environment variables (prefix COURIER_) over an optional TOML file.

`load_settings` is the only entry point. It turns every validation problem into a
`ConfigError` whose lines name the key, where the bad value came from (environment
or file) and what is expected, so `courierd check-config` can print them as they are.
A misspelt variable (COURIER_ODOO_PASWORD) or file key is reported with the closest
valid name. `check_listen_ports` is the pre-flight both `check-config` and `run` do:
it binds the ports courierd will listen on, so a port in use names its setting.
"""

from __future__ import annotations

import difflib
import errno
import os
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from courierd.domain.errors import ConfigError, MappingError
from courierd.mailjet.event_mapping import load_event_mapping
from courierd.mailjet.message_mapping import load_message_mapping
from courierd.odoo.transport import TransportSetting
from courierd.ops.logs import mask_url

ENV_PREFIX = "COURIER_"
CONFIG_FILE_ENV = "COURIER_CONFIG_FILE"

# COURIER_* variables that are not settings of the daemon: read by the project's own
# tools (tools/odoo_local.py, tests/support/odoo.py, scripts/start-postgres.sh), so a
# developer's shell that exports them can still run courierd.
NOT_SETTINGS = frozenset(
    {
        CONFIG_FILE_ENV,
        "COURIER_PG_HOST",
        "COURIER_PG_PORT",
        "COURIER_PG_USER",
        "COURIER_PG_PASSWORD",
        "COURIER_KEEP_ODOO_DB",
        "COURIER_REQUIRE_ODOO",
        "COURIER_REQUIRE_ODOO19",
    }
)

# mailjet-rest refuses any other host (SSRF guard); checking here gives a plain message.
_MAILJET_HOSTS = {"mailjet.com", "localhost", "127.0.0.1", "::1"}
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


def _not_blank(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"must not be empty: set it to {what}")
    return value


def _port_of(value: str) -> None:
    """Raise a plain ValueError when the URL's port is not one (urlsplit raises late)."""
    try:
        port = urlsplit(value).port
    except ValueError as exc:
        raise ValueError(
            f"has an invalid port ({exc}): a port is 1 to 65535, as in http://127.0.0.1:8069"
        ) from None
    if port == 0:
        raise ValueError("has port 0: a port is 1 to 65535, as in http://127.0.0.1:8069")


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
    # How long an empty claim waits in Odoo for a send to be queued (a long poll; 0: none).
    claim_wait_seconds: float = Field(10.0, ge=0, le=60)
    pdf_concurrency: int = Field(8, ge=1, le=32)
    pdf_batch_size: int = Field(5, ge=1, le=50)
    retry_base_seconds: int = Field(30, ge=1)
    retry_max_seconds: int = Field(3600, ge=1)
    # The retry bound (domain/retry_bound.py): then a dispatch fails, for its sender to act.
    max_attempts: int = Field(10, ge=1, le=1000)
    max_age_hours: float = Field(24.0, gt=0, le=24 * 365)
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
        # The messages never repeat the URL: it may hold a password.
        try:
            parts = urlsplit(value)
        except ValueError as exc:
            raise ValueError(
                f"is not a URL ({exc}): write it as http://HOST:PORT, e.g. http://127.0.0.1:8069"
            ) from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL such as http://127.0.0.1:8069")
        _port_of(value)
        if parts.path not in {"", "/"}:
            raise ValueError("must not have a path: Odoo's JSON-RPC lives at the server root")
        return value

    @field_validator("odoo_db")
    @classmethod
    def _check_odoo_db(cls, value: str) -> str:
        return _not_blank(value, "the name of the Odoo database (as in Odoo's database list)")

    @field_validator("odoo_login")
    @classmethod
    def _check_odoo_login(cls, value: str) -> str:
        return _not_blank(value, "the login of the Courier daemon user in Odoo")

    @field_validator("mailjet_api_key", "mailjet_api_secret")
    @classmethod
    def _check_mailjet_credentials(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        what = "API key" if info.field_name == "mailjet_api_key" else "secret key"
        _not_blank(
            value.get_secret_value(),
            f"the {what} of your Mailjet API key pair (Mailjet: Account settings > API keys)",
        )
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
        if value is not None:
            _not_blank(
                value.get_secret_value(),
                "the password of the Courier daemon user (or unset it and set "
                "COURIER_ODOO_API_KEY)",
            )
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
        _port_of(value)
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


def _closest(name: str) -> str:
    """' (did you mean COURIER_X?)' for the most similar setting, or ''."""
    # Without the prefix every name shares, or anything would look close enough.
    keys = [key.upper() for key in Settings.model_fields]
    match = difflib.get_close_matches(name.upper().removeprefix(ENV_PREFIX), keys, n=1, cutoff=0.6)
    return f" (did you mean {ENV_PREFIX}{match[0]}?)" if match else ""


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A problem per COURIER_* variable that is no setting, with the closest setting's name."""
    settings = sorted(env_name(key) for key in Settings.model_fields)
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper not in settings and upper not in NOT_SETTINGS:
            problems.append(
                f"{name} is not a courierd setting{_closest(upper)}: rename or "
                "unset it; docs/architecture.md lists the settings"
            )
    return problems


def _empty_mapping(path: Path | None) -> bool:
    """Whether `path` is a mapping file with nothing in it (blank, or comments only)."""
    if path is None:
        return False
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) is None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the mapping's own loader says what is wrong with it


def _mapping_problems(settings: Settings) -> list[str]:
    problems = []
    for key, load, default in (
        ("event_mapping", load_event_mapping, "mappings/events.yaml"),
        ("message_mapping", load_message_mapping, "mappings/messages.yaml"),
    ):
        path = getattr(settings, key)
        if _empty_mapping(path):
            problems.append(
                f"{env_name(key)}: {path} is empty; point it at a mapping file "
                f"(such as {default}) or unset it to use the built-in mapping"
            )
            continue
        try:
            load(path)
        except MappingError as exc:
            problems += [f"{env_name(key)}: {p}" for p in exc.problems]
    return problems


def _same_interface(host: str, other: str) -> bool:
    """Whether two listen addresses overlap (same address, or one listens on all)."""
    if host == other or host in _WILDCARD_HOSTS or other in _WILDCARD_HOSTS:
        return True
    try:
        ours = {info[4][0] for info in socket.getaddrinfo(host, None)}
        theirs = {info[4][0] for info in socket.getaddrinfo(other, None)}
    except OSError:
        return False  # the bind pre-flight reports a name that does not resolve
    return bool(ours & theirs)


def _cross_field_problems(settings: Settings) -> list[str]:
    problems = []
    if settings.retry_max_seconds < settings.retry_base_seconds:
        problems.append(
            f"COURIER_RETRY_MAX_SECONDS ({settings.retry_max_seconds}) is below "
            f"COURIER_RETRY_BASE_SECONDS ({settings.retry_base_seconds}): the longest wait "
            "between two attempts cannot be shorter than the first; raise "
            "COURIER_RETRY_MAX_SECONDS or lower COURIER_RETRY_BASE_SECONDS"
        )
    if settings.claim_wait_seconds and settings.claim_wait_seconds >= settings.odoo_timeout - 5:
        problems.append(
            f"COURIER_CLAIM_WAIT_SECONDS ({settings.claim_wait_seconds:g}) leaves no time "
            f"within COURIER_ODOO_TIMEOUT ({settings.odoo_timeout:g}): a claim that waits for "
            "a send would time out; keep the wait at least 5 seconds below the timeout"
        )
    if (
        settings.webhook_password is not None
        and settings.webhook_port == settings.http_port
        and _same_interface(settings.webhook_host, settings.http_host)
    ):
        problems.append(
            f"COURIER_WEBHOOK_PORT and COURIER_HTTP_PORT are both {settings.http_port}: the "
            "webhook receiver needs a port of its own; set COURIER_WEBHOOK_PORT to another "
            f"one (default {Settings.model_fields['webhook_port'].default})"
        )
    return problems


def load_settings(config_file: Path | None) -> tuple[Settings, dict[str, str]]:
    """Settings plus, per key, where its value came from (default, environment, file path)."""
    present = {name.upper() for name in os.environ}
    unknown = unknown_variables(os.environ)
    file_values = read_config_file(config_file) if config_file else {}
    known = set(Settings.model_fields)
    env_keys = {key for key in known if env_name(key) in present}
    try:
        settings = Settings(**file_values)
    except ValidationError as exc:
        described = _describe_errors(exc, config_file, set(file_values), env_keys)
        raise ConfigError(unknown + described) from None
    problems = unknown + _cross_field_problems(settings) + _mapping_problems(settings)
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
            match = difflib.get_close_matches(key, list(Settings.model_fields), n=1, cutoff=0.6)
            closest = f" (did you mean {match[0]!r}?)" if match else ""
            problems.append(
                f"unknown key {key!r} in config file {config_file}{closest}; rename or remove "
                "it: docs/architecture.md lists the keys courierd knows"
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
    """One line per key, secrets and URLs' user info masked, for `courierd check-config`."""
    lines = []
    for key in Settings.model_fields:
        value = getattr(settings, key)
        shown = "********" if isinstance(value, SecretStr) else mask_url(str(value))
        lines.append(f"{env_name(key)} = {shown}  ({origins.get(key, 'default')})")
    return lines


def _bind_problem(host_key: str, port_key: str, host: str, port: int) -> str | None:
    """Why courierd could not listen on host:port now, naming the setting; None if it can."""
    # As werkzeug's server does: IPv6 when the host has a colon, SO_REUSEADDR on, so a
    # socket of a courierd that just stopped (TIME_WAIT) does not count as in use.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except OSError as exc:
        return (
            f"{host_key} {host!r} is not an address of this machine ({exc}): set it to one, "
            "such as 127.0.0.1"
        )
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(infos[0][4])
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"{port_key}: port {port} on {host} is already in use (another courierd? "
                    f"`ss -ltnp` says which program): stop it or set {port_key} to a free port"
                )
            if exc.errno == errno.EACCES:
                return (
                    f"{port_key}: port {port} needs privileges this user does not have: "
                    "use a port above 1023 (and a reverse proxy in front)"
                )
            if exc.errno == errno.EADDRNOTAVAIL:
                return (
                    f"{host_key} {host!r} is not an address of this machine: set it to one, "
                    "such as 127.0.0.1"
                )
            return f"{port_key}: cannot listen on {host}:{port} ({exc.strerror})"
    return None


def check_listen_ports(settings: Settings) -> list[str]:
    """Pre-flight of the ports courierd listens on: a problem per one it cannot bind now."""
    listeners = [("COURIER_HTTP_HOST", "COURIER_HTTP_PORT", settings.http_host, settings.http_port)]
    if settings.webhook_password is not None:  # the receiver runs only with a password
        listeners.append(
            (
                "COURIER_WEBHOOK_HOST",
                "COURIER_WEBHOOK_PORT",
                settings.webhook_host,
                settings.webhook_port,
            )
        )
    problems = [_bind_problem(*listener) for listener in listeners]
    return [problem for problem in problems if problem is not None]
