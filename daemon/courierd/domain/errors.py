"""Every error courierd raises on purpose, under one base: `CourierError`.

The ports' errors are here so that a worker catches them without importing an
adapter: the ERP is unavailable (wait and try again) or refuses a call (the call
itself is wrong), the mail provider's call failed (with a `FailureKind` saying
how), a PDF could not be rendered. Beside them the errors of what an operator
gives courierd: the configuration, a mapping file, a port or folder the daemon
cannot open, a provider event that cannot be stored. Adapters raise these, or
subclasses when they need to say more.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class CourierError(Exception):
    """The base of every error courierd raises on purpose."""


class ConfigError(CourierError):
    """The configuration cannot be used; `problems` holds one plain sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class CannotStart(CourierError):
    """A piece of the daemon cannot be started; the message says which and what to check."""


class MappingError(CourierError):
    """A mapping file cannot be used; `problems` holds one sentence each, naming file and key."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


# The ERP (Odoo).


class ErpUnavailable(CourierError):
    """The ERP cannot be used right now; `hint` says what the operator should check."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class ErpCallError(CourierError):
    """The ERP answered a call with an error that retrying the same call will not fix."""


class PdfRenderError(CourierError):
    """The ERP answered one dispatch's PDF render with an error (its message is the text)."""


# The mail provider (Mailjet).


class FailureKind(StrEnum):
    """Why a call to the mail provider failed as a whole (the `kind` label of the metrics).

    What the send loop does with each is `courierd.domain.sending.call_decision`:
    `CLIENT_ERROR` (the provider refused what the call carries, and will refuse
    it again) is split to find the message at fault; `AUTH` (our credentials or
    account) and `ENDPOINT` (the URL is not the provider's API) wait for the
    operator; the others are retried later.
    """

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    AUTH = "auth"
    ENDPOINT = "endpoint"
    CLIENT_ERROR = "client_error"
    BAD_RESPONSE = "bad_response"


@dataclass(frozen=True)
class CallFailure:
    kind: FailureKind
    message: str  # the provider's own text when it gave one (what a sender may read)
    status: int | None = None
    retry_after: float | None = None  # the provider's Retry-After header, when it sent one
    code: str | None = None  # the provider's error code (Mailjet: "send-0015", "mj-0002")
    related_to: tuple[str, ...] = ()  # the parts of the call at fault, as the provider names them


class MailProviderCallFailed(CourierError):
    """A call to the mail provider failed as a whole; `failure` says how."""

    def __init__(self, failure: CallFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class RejectedEvent(CourierError, ValueError):
    """This provider event is not one courierd can store; the message says why."""
