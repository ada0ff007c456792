"""Pure: Mailjet's answers -> the per-dispatch results of `courier_report` (docs/contract.md).

Two Mailjet answers are read here (the result shapes and the decision on a
whole-call failure are provider-neutral: courierd.domain.sending):
- a Send API response body with per-message results (HTTP 200, or 400, 401, 403
  ... when some messages were refused): one entry per message, in order,
  `success` -> transmitted (test_sent in sandbox mode), `error` -> failed (or
  retry when Mailjet's per-message status is 429/5xx);
- a CustomID lookup that found the messages of an earlier attempt -> transmitted.
And an HTTP status without per-message results is classified into the
`FailureKind` of a failed call (the table is in docs/daemon.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from courierd.domain.backoff import RetryPolicy, retry_after_seconds
from courierd.domain.contract import ClaimedDispatch, SendResult, SentRecipient
from courierd.domain.errors import FailureKind
from courierd.domain.sending import (
    attempts_of,
    failed_result,
    retry_result,
    test_sent_result,
    transmitted_result,
)


def classify_status(status: int) -> FailureKind:
    """The kind of a whole-call failure (an answer without per-message results)."""
    if status == 429:
        return FailureKind.RATE_LIMITED
    if status == 408:
        return FailureKind.TIMEOUT
    if status in (401, 403):
        # Our API key, or an account Mailjet does not let send: the operator's to fix.
        return FailureKind.AUTH
    if status >= 500:
        return FailureKind.SERVER_ERROR
    if status in (400, 413, 422):
        # Mailjet refuses what the call carries (mj-0002, mj-0003, send-0015, too large).
        return FailureKind.CLIENT_ERROR
    if status >= 400:
        # 404, 405, 415...: not how Mailjet's Send API answers; COURIER_MAILJET_API_URL.
        return FailureKind.ENDPOINT
    return FailureKind.BAD_RESPONSE


def _message_id(value: Any) -> str:
    # Mailjet answers MessageID 0 for what it did not send (sandbox mode): not an id.
    text = str(value if value is not None else "").strip()
    return "" if text in ("", "0") else text


def _recipient(entry: Mapping[str, Any]) -> SentRecipient:
    return {
        "email": str(entry.get("Email", "")),
        "message_id": _message_id(entry.get("MessageID")),
        "message_uuid": str(entry.get("MessageUUID", "")),
        "message_href": str(entry.get("MessageHref", "")),
    }


def _entries_by_dispatch(
    batch: Sequence[ClaimedDispatch], entries: Sequence[Any]
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
    batch: Sequence[ClaimedDispatch],
    body: Any,
    *,
    time: str,
    policy: RetryPolicy,
    jitter: float,
    sandbox_mode: bool = False,
) -> list[SendResult]:
    """Per-dispatch results from a Send API body with per-message statuses (any HTTP status).

    In sandbox mode Mailjet validates and sends nothing: a `success` is a test send.
    """
    entries = body.get("Messages") if isinstance(body, Mapping) else None
    if not isinstance(entries, list):
        entries = []
    results = []
    for dispatch, entry in zip(batch, _entries_by_dispatch(batch, entries), strict=True):
        status = str(entry.get("Status", "")).lower() if entry else ""
        if entry is not None and status == "success" and sandbox_mode:
            results.append(test_sent_result(dispatch, time))
        elif entry is not None and status == "success":
            recipients = [
                _recipient(r)
                for field in ("To", "Cc", "Bcc")
                for r in entry.get(field) or []
                if isinstance(r, Mapping)
            ]
            results.append(transmitted_result(dispatch, recipients, time))
        elif entry is not None and status == "error":
            results.append(_result_from_errors(dispatch, entry, time, policy, jitter))
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
                    retry_after=retry_after_seconds(attempts_of(dispatch), policy, jitter),
                )
            )
    return results


def _result_from_errors(
    dispatch: ClaimedDispatch,
    entry: Mapping[str, Any],
    time: str,
    policy: RetryPolicy,
    jitter: float,
) -> SendResult:
    errors = [e for e in entry.get("Errors") or [] if isinstance(e, Mapping)]
    first: Mapping[str, Any] = errors[0] if errors else {}
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
            retry_after=retry_after_seconds(attempts_of(dispatch), policy, jitter),
        )
    related = [str(path) for e in errors for path in e.get("ErrorRelatedTo") or []]
    return failed_result(
        dispatch, code=code, message=message, status=status, related_to=related, time=time
    )


def transmitted_from_lookup(
    dispatch: ClaimedDispatch, found: Sequence[Mapping[str, Any]], *, time: str, api_url: str
) -> SendResult | None:
    """The transmitted result for messages found at Mailjet by CustomID, or None if none."""
    if not found:
        return None
    recipients_by_email = {r["email"].lower(): r["email"] for r in dispatch.get("recipients") or []}
    single = next(iter(recipients_by_email.values())) if len(recipients_by_email) == 1 else ""
    recipients: list[SentRecipient] = []
    for message in found:
        message_id = _message_id(message.get("ID"))
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
