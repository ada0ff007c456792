"""Pure: Mailjet's answers -> the per-dispatch results of `courier_report` (docs/contract.md).

Two Mailjet answers are read here (the result shapes and the decision on a
whole-call failure are provider-neutral: courierd.domain.sending):
- a Send API response body with per-message results (HTTP 200, or 400, 401, 403
  ... when some messages were refused): one entry per message, in order, read
  per dispatch (one message per recipient, or one to all): every one `success`
  -> transmitted (test_sent in sandbox mode), some `error` -> transmitted with
  those recipients `refused`, all `error` -> failed (or retry when Mailjet's
  per-message status is 429/5xx);
- a CustomID lookup that found the messages of an earlier attempt -> transmitted.
And an HTTP status without per-message results is classified into the
`FailureKind` of a failed call (the table is in docs/daemon.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from courierd.domain.backoff import RetryPolicy, retry_after_seconds
from courierd.domain.contract import (
    ClaimedDispatch,
    RefusedRecipient,
    SendResult,
    SentRecipient,
)
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
    batch: Sequence[ClaimedDispatch], entries: Sequence[Any], counts: Sequence[int]
) -> list[list[Mapping[str, Any] | None]]:
    """Each dispatch's response entries, one per message it sent (None: no answer for it).

    By CustomID when Mailjet echoes it on every one of the dispatch's messages
    (they share it, answered in order); else by position, Mailjet answering one
    entry per message in order (it echoes no CustomID on an error): an entry
    carrying another dispatch's CustomID is no answer.
    """
    by_custom_id: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("CustomID"):
            by_custom_id.setdefault(str(entry["CustomID"]), []).append(entry)
    matched: list[list[Mapping[str, Any] | None]] = []
    offset = 0
    for dispatch, count in zip(batch, counts, strict=True):
        own: list[Mapping[str, Any] | None] = list(by_custom_id.get(dispatch["custom_id"], []))
        if len(own) != count:
            own = []
            for entry in entries[offset : offset + count]:
                fits = isinstance(entry, Mapping) and entry.get("CustomID") in (
                    None,
                    "",
                    dispatch["custom_id"],
                )
                own.append(entry if fits else None)
        offset += count
        matched.append((own + [None] * count)[:count])
    return matched


def results_from_response(
    batch: Sequence[ClaimedDispatch],
    body: Any,
    *,
    time: str,
    policy: RetryPolicy,
    jitter: float,
    sandbox_mode: bool = False,
    messages: Sequence[Sequence[Mapping[str, Any]]] | None = None,
) -> list[SendResult]:
    """Per-dispatch results from a Send API body with per-message statuses (any HTTP status).

    `messages`: each dispatch's messages in the call (default: one each). A
    dispatch whose messages all went out is transmitted; some refused and some
    taken, transmitted with the refused recipients listed (`refused`); none
    taken, failed or retried with Mailjet's errors. In sandbox mode Mailjet
    validates and sends nothing: a `success` is a test send.
    """
    entries = body.get("Messages") if isinstance(body, Mapping) else None
    if not isinstance(entries, list):
        entries = []
    sent = list(messages) if messages is not None else [[{}] for _ in batch]
    counts = [len(own) for own in sent]
    results = []
    matched = _entries_by_dispatch(batch, entries, counts)
    for dispatch, own_entries, own_messages in zip(batch, matched, sent, strict=True):
        results.append(
            _dispatch_result(
                dispatch, own_entries, own_messages, time, policy, jitter, sandbox_mode
            )
        )
    return results


def _status(entry: Mapping[str, Any] | None) -> str:
    return str(entry.get("Status", "")).lower() if entry is not None else ""


def _dispatch_result(
    dispatch: ClaimedDispatch,
    entries: Sequence[Mapping[str, Any] | None],
    messages: Sequence[Mapping[str, Any]],
    time: str,
    policy: RetryPolicy,
    jitter: float,
    sandbox_mode: bool,
) -> SendResult:
    taken = [e for e in entries if e is not None and _status(e) == "success"]
    refused = [e for e in entries if e is not None and _status(e) == "error"]
    if taken and len(taken) == len(entries) and sandbox_mode:
        return test_sent_result(dispatch, time)
    if taken and not sandbox_mode:
        recipients = [
            _recipient(r)
            for entry in taken
            for field in ("To", "Cc", "Bcc")
            for r in entry.get(field) or []
            if isinstance(r, Mapping)
        ]
        result = transmitted_result(dispatch, recipients, time)
        missing = [
            _refused(message, entry)
            for entry, message in zip(entries, messages, strict=True)
            if entry is None or _status(entry) != "success"
        ]
        if missing:
            result["refused"] = [r for r in missing if r["email"]]
        return result
    if refused and (len(refused) == len(entries) or sandbox_mode):
        merged = {"Errors": [e for entry in refused for e in entry.get("Errors") or []]}
        return _result_from_errors(dispatch, merged, time, policy, jitter)
    # No usable entry: the message may or may not have gone out. Retrying is safe
    # because the next claim checks the CustomID at Mailjet before sending again.
    return retry_result(
        dispatch,
        code="mj-no-status",
        message="Mailjet's answer has no status for this message",
        status=None,
        time=time,
        retry_after=retry_after_seconds(attempts_of(dispatch), policy, jitter),
    )


def _refused(message: Mapping[str, Any], entry: Mapping[str, Any] | None) -> RefusedRecipient:
    """Who did not get their own email, and Mailjet's reason (the message's first To)."""
    to = message.get("To") or [{}]
    email = str(to[0].get("Email", "")) if isinstance(to[0], Mapping) else ""
    errors = [e for e in (entry or {}).get("Errors") or [] if isinstance(e, Mapping)]
    if not errors:
        return {
            "email": email,
            "code": "mj-no-status",
            "message": "Mailjet's answer has no status for this email; check it in Mailjet",
        }
    return {
        "email": email,
        "code": str(errors[0].get("ErrorCode") or "mj-error"),
        "message": "; ".join(str(e.get("ErrorMessage", "")) for e in errors),
    }


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
