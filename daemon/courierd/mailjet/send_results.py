"""Pure: Mailjet's answers -> the per-dispatch results of `courier_report` (docs/contract.md).

Three sources of results:
- a Send API response body (HTTP 200, or HTTP 400 with per-message statuses): one
  entry per message, in order, `success` -> transmitted, `error` -> failed (or retry
  when Mailjet's per-message status is 429/5xx);
- a whole-call failure (429, 5xx, timeout, connection, bad credentials, a 4xx
  without per-message statuses): every dispatch of the batch -> retry, nothing is
  failed for good because of our side;
- a CustomID lookup that found the messages of an earlier attempt -> transmitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class FailureKind(StrEnum):
    """Why a whole Send API call failed (the `kind` label of courier_send_errors_total)."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    AUTH = "auth"
    CLIENT_ERROR = "client_error"
    BAD_RESPONSE = "bad_response"


@dataclass(frozen=True)
class CallFailure:
    kind: FailureKind
    message: str
    status: int | None = None
    retry_after: float | None = None  # Mailjet's Retry-After header, when it sent one


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: int = 30
    max_seconds: int = 3600


def iso_time(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def classify_status(status: int) -> FailureKind:
    if status == 429:
        return FailureKind.RATE_LIMITED
    if status in (401, 403):
        return FailureKind.AUTH
    if status >= 500:
        return FailureKind.SERVER_ERROR
    return FailureKind.CLIENT_ERROR


def retry_after_seconds(
    attempts: int, policy: RetryPolicy, jitter: float, floor: float | None = None
) -> int:
    """Exponential backoff on the dispatch's attempts, jittered into [50 %, 100 %].

    `jitter` is a number in [0, 1] (random in production, fixed in tests); `floor`
    is Mailjet's Retry-After, which is never undercut.
    """
    exponent = max(attempts, 1) - 1
    ceiling = min(policy.max_seconds, policy.base_seconds * 2 ** min(exponent, 30))
    seconds = max(1, round(ceiling * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))))
    if floor is not None:
        seconds = max(seconds, int(floor + 0.999))
    return seconds


def _base(dispatch: Mapping[str, Any], outcome: str, time: str) -> dict[str, Any]:
    return {
        "id": dispatch["id"],
        "custom_id": dispatch["custom_id"],
        "outcome": outcome,
        "time": time,
    }


def retry_result(
    dispatch: Mapping[str, Any],
    *,
    code: str,
    message: str,
    status: int | None,
    time: str,
    retry_after: int,
) -> dict[str, Any]:
    result = _base(dispatch, "retry", time)
    result["error"] = {"code": code, "message": message, "status": status}
    result["retry_after"] = retry_after
    return result


def failed_result(
    dispatch: Mapping[str, Any],
    *,
    code: str,
    message: str,
    status: int | None,
    related_to: Sequence[str] = (),
    time: str,
) -> dict[str, Any]:
    result = _base(dispatch, "failed", time)
    result["error"] = {
        "code": code,
        "message": message,
        "status": status,
        "related_to": list(related_to),
    }
    return result


def transmitted_result(
    dispatch: Mapping[str, Any], recipients: list[dict[str, str]], time: str
) -> dict[str, Any]:
    result = _base(dispatch, "transmitted", time)
    result["recipients"] = recipients
    return result


def _recipient(entry: Mapping[str, Any]) -> dict[str, str]:
    # MessageIDs exceed 32 bits (and JavaScript's 53): always strings.
    return {
        "email": str(entry.get("Email", "")),
        "message_id": str(entry.get("MessageID", "")),
        "message_uuid": str(entry.get("MessageUUID", "")),
        "message_href": str(entry.get("MessageHref", "")),
    }


def _entries_by_dispatch(
    batch: Sequence[Mapping[str, Any]], entries: Sequence[Any]
) -> list[Mapping[str, Any] | None]:
    """Each dispatch's response entry: by CustomID when Mailjet echoes it, else by position."""
    by_custom_id = {
        e["CustomID"]: e for e in entries if isinstance(e, Mapping) and e.get("CustomID")
    }
    matched: list[Mapping[str, Any] | None] = []
    for index, dispatch in enumerate(batch):
        entry = by_custom_id.get(dispatch["custom_id"])
        if entry is None and index < len(entries) and isinstance(entries[index], Mapping):
            positional = entries[index]
            if positional.get("CustomID") in (None, "", dispatch["custom_id"]):
                entry = positional
        matched.append(entry)
    return matched


def results_from_response(
    batch: Sequence[Mapping[str, Any]],
    body: Any,
    *,
    time: str,
    policy: RetryPolicy,
    jitter: float,
) -> list[dict[str, Any]]:
    """Per-dispatch results from a Send API body (HTTP 200, or 400 with per-message statuses)."""
    entries = body.get("Messages") if isinstance(body, Mapping) else None
    if not isinstance(entries, list):
        entries = []
    results = []
    for dispatch, entry in zip(batch, _entries_by_dispatch(batch, entries), strict=True):
        attempts = int(dispatch.get("attempts") or 1)
        status = str(entry.get("Status", "")).lower() if entry else ""
        if status == "success":
            recipients = [
                _recipient(r)
                for field in ("To", "Cc", "Bcc")
                for r in entry.get(field) or []  # type: ignore[union-attr]
                if isinstance(r, Mapping)
            ]
            results.append(transmitted_result(dispatch, recipients, time))
        elif status == "error":
            results.append(_result_from_errors(dispatch, entry, time, policy, jitter, attempts))  # type: ignore[arg-type]
        else:
            # No usable entry: the message may or may not have gone out. Retrying is safe
            # because the next claim checks the CustomID at Mailjet before sending again.
            results.append(
                retry_result(
                    dispatch,
                    code="mj-no-status",
                    message="Mailjet's answer has no status for this message",
                    status=None,
                    time=time,
                    retry_after=retry_after_seconds(attempts, policy, jitter),
                )
            )
    return results


def _result_from_errors(
    dispatch: Mapping[str, Any],
    entry: Mapping[str, Any],
    time: str,
    policy: RetryPolicy,
    jitter: float,
    attempts: int,
) -> dict[str, Any]:
    errors = [e for e in entry.get("Errors") or [] if isinstance(e, Mapping)]
    first = errors[0] if errors else {}
    code = str(first.get("ErrorCode") or "mj-error")
    message = "; ".join(str(e.get("ErrorMessage", "")) for e in errors) or "Mailjet refused it"
    statuses = [int(e["StatusCode"]) for e in errors if str(e.get("StatusCode", "")).isdigit()]
    status = statuses[0] if statuses else None
    if any(s == 429 or s >= 500 for s in statuses):
        return retry_result(
            dispatch,
            code=code,
            message=message,
            status=status,
            time=time,
            retry_after=retry_after_seconds(attempts, policy, jitter),
        )
    related = [str(path) for e in errors for path in e.get("ErrorRelatedTo") or []]
    return failed_result(
        dispatch, code=code, message=message, status=status, related_to=related, time=time
    )


def results_for_call_failure(
    batch: Sequence[Mapping[str, Any]],
    failure: CallFailure,
    *,
    time: str,
    policy: RetryPolicy,
    jitter: float,
) -> list[dict[str, Any]]:
    """Every dispatch of a batch whose Send call failed as a whole -> retry."""
    code = f"http-{failure.status}" if failure.status else str(failure.kind)
    return [
        retry_result(
            dispatch,
            code=code,
            message=failure.message,
            status=failure.status,
            time=time,
            retry_after=retry_after_seconds(
                int(dispatch.get("attempts") or 1), policy, jitter, floor=failure.retry_after
            ),
        )
        for dispatch in batch
    ]


def transmitted_from_lookup(
    dispatch: Mapping[str, Any], found: Sequence[Mapping[str, Any]], *, time: str, api_url: str
) -> dict[str, Any] | None:
    """The transmitted result for messages found at Mailjet by CustomID, or None if none."""
    if not found:
        return None
    recipients_by_email = {r["email"].lower(): r["email"] for r in dispatch.get("recipients") or []}
    single = next(iter(recipients_by_email.values())) if len(recipients_by_email) == 1 else ""
    recipients = []
    for message in found:
        message_id = str(message.get("ID", ""))
        email = str(message.get("ContactAlt") or "")
        recipients.append(
            {
                "email": recipients_by_email.get(email.lower(), email) or single,
                "message_id": message_id,
                "message_uuid": str(message.get("UUID") or message.get("MessageUUID") or ""),
                "message_href": f"{api_url.rstrip('/')}/v3/REST/message/{message_id}",
            }
        )
    return transmitted_result(dispatch, recipients, time)
