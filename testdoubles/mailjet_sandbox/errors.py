"""Mailjet's error bodies, built the way the real API answers them.

Shapes come from Mailjet's public documentation (mailjet/api-documentation,
"Send API errors") and from answers quoted in Mailjet's client issue trackers.
"""

from __future__ import annotations

import uuid
from typing import Any

AUTH_FAILURE_TEXT = (
    "API key authentication/authorization failure. You may be unauthorized to access the API "
    "or your API key may be expired. Visit API keys management section to check your keys."
)

# Mailjet's edge answers throttled calls with a plain HTML page, not JSON
# (see mailjet/mailjet-apiv3-nodejs#178); clients must cope with that.
THROTTLED_HTML = (
    "<html><body><h1>429 Too Many Requests</h1>\n"
    "You have sent too many requests in a given amount of time.\n</body></html>\n"
)


def send_error(
    code: str, message: str, related_to: list[str] | None = None, status: int = 400
) -> dict[str, Any]:
    """One entry of a Send API v3.1 ``Errors`` list (or a whole-call error body)."""
    body: dict[str, Any] = {
        "ErrorIdentifier": str(uuid.uuid4()),
        "ErrorCode": code,
        "StatusCode": status,
        "ErrorMessage": message,
    }
    if related_to is not None:
        body["ErrorRelatedTo"] = related_to
    return body


def send_auth_error() -> dict[str, Any]:
    """Whole-call body of a v3.1 send with missing or wrong credentials (HTTP 401)."""
    return send_error("mj-0015", AUTH_FAILURE_TEXT, status=401)


def malformed_json_error(related_to: list[str] | None = None) -> dict[str, Any]:
    """mj-0002, Mailjet's whole-call answer to a body it cannot read into its objects.

    `related_to` names the property it had no place for (e.g. "Messages[0].Foo").
    """
    return send_error(
        "mj-0002", "Malformed JSON, please review the syntax and properties types.", related_to
    )


def rest_error(status: int, message: str) -> dict[str, Any]:
    """Body of a /v3/REST error (``{"ErrorInfo", "ErrorMessage", "StatusCode"}``)."""
    return {"ErrorInfo": "", "ErrorMessage": message, "StatusCode": status}


def server_error(status: int, reason: str) -> dict[str, Any]:
    """Body of an injected 5xx: Mailjet gives an ErrorIdentifier to quote to support."""
    return {"ErrorIdentifier": str(uuid.uuid4()), "StatusCode": status, "ErrorMessage": reason}
