"""Logging: structlog, JSON for journald (stderr not a TTY), readable console on a TTY.

Standard-library loggers (mailjet_rest, odoorpc, werkzeug) go through the same
renderer and the same secret masking, so nothing reaches the journal unmasked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from pydantic import SecretStr

MASK = "********"

_SECRET_KEY = re.compile(r"password|passwd|secret|api[_-]?key|authorization|token|credential", re.I)
# Secrets inside free text: "Authorization: Basic abc", "api_key=abc", URLs with a password.
_SECRET_IN_TEXT = (
    re.compile(
        r"(?i)\b(authorization|password|passwd|secret|api[_-]?key|token)"
        r"(\s*[:=]\s*|\s+)(?:(basic|bearer|token)\s+)?([^\s,;'\"}\]]+)"
    ),
    re.compile(r"(?i)\b(basic|bearer)\s+[a-z0-9+/=._-]{8,}"),
    # A URL's user info, whole: "user:password@", or a token alone ("token@").
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@]+(@)"),
)


def _mask_text(text: str) -> str:
    text = _SECRET_IN_TEXT[0].sub(
        lambda m: f"{m.group(1)}{m.group(2)}{(m.group(3) + ' ') if m.group(3) else ''}{MASK}", text
    )
    text = _SECRET_IN_TEXT[1].sub(lambda m: f"{m.group(1)} {MASK}", text)
    return mask_url(text)


def mask_url(text: str) -> str:
    """`text` with the user info of any URL in it masked (http://********@host:8069)."""
    return _SECRET_IN_TEXT[2].sub(lambda m: f"{m.group(1)}{MASK}{m.group(2)}", text)


def _mask_value(key: str, value: Any, depth: int = 0) -> Any:
    if isinstance(value, SecretStr) or (_SECRET_KEY.search(key) and value not in (None, "")):
        return MASK
    if depth > 5:
        return value
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, Mapping):
        return {k: _mask_value(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(key, item, depth + 1) for item in value]
    return value


def mask_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: masks values under secret-looking keys and secrets in text."""
    for key in list(event_dict):
        event_dict[key] = _mask_value(key, event_dict[key])
    return event_dict


def _render_exception_masked(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Tracebacks can quote a request's headers or a URL with a password: mask after rendering.
    event_dict = structlog.processors.format_exc_info(logger, method, event_dict)
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = _mask_text(event_dict["exception"])
    return event_dict


_LEADING_KEYS = ("timestamp", "level", "logger", "event")


def _leading_keys_first(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # journalctl -o cat and humans read the start of the line: when, how bad, what.
    ordered = {key: event_dict.pop(key) for key in _LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def configure(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to `stream` (stderr), JSON unless it is a TTY."""
    stream = stream if stream is not None else sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if use_json:
        tail: list[Any] = [_render_exception_masked, mask_secrets, _leading_keys_first]
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        tail = [mask_secrets]
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *tail,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # odoorpc logs every request body at DEBUG (with the password in execute_kw args).
    logging.getLogger("odoorpc").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
