"""Pure: the per-dispatch results of `courier_report` (docs/contract.md), whoever sends.

Four outcomes: `transmitted` (the provider accepted the email; its recipients
with their message ids), `retry` (try again after `retry_after` seconds: nothing
is failed for good because of our side or the provider's passing trouble),
`failed` (the provider refused this email for good, or courierd gave up on it)
and `test_sent` (the provider checked it and sent nothing: a test send). Reading
a provider's answers into these is the provider adapter's job (Mailjet:
courierd.mailjet.send_results); what every provider shares is here, with the
decision on a call that failed as a whole (`call_decision`): retried later,
split to find the email at fault, or waited on until the operator fixes the
credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum

from courierd.domain.backoff import RetryPolicy, retry_after_seconds
from courierd.domain.contract import ClaimedDispatch, Outcome, SendResult, SentRecipient
from courierd.domain.errors import CallFailure, FailureKind


def iso_time(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """A contract time ("2026-11-27T08:15:02Z", naive meaning UTC) or None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def attempts_of(dispatch: ClaimedDispatch) -> int:
    return int(dispatch.get("attempts") or 1)


def _base(dispatch: ClaimedDispatch, outcome: Outcome, time: str) -> SendResult:
    return {
        "id": dispatch["id"],
        "custom_id": dispatch["custom_id"],
        "outcome": outcome,
        "time": time,
    }


def transmitted_result(
    dispatch: ClaimedDispatch, recipients: list[SentRecipient], time: str
) -> SendResult:
    result = _base(dispatch, "transmitted", time)
    result["recipients"] = recipients
    return result


def retry_result(
    dispatch: ClaimedDispatch,
    *,
    code: str,
    message: str,
    status: int | None,
    time: str,
    retry_after: int,
) -> SendResult:
    result = _base(dispatch, "retry", time)
    result["error"] = {"code": code, "message": message, "status": status}
    result["retry_after"] = retry_after
    return result


def failed_result(
    dispatch: ClaimedDispatch,
    *,
    code: str,
    message: str,
    status: int | None,
    related_to: Sequence[str] = (),
    time: str,
) -> SendResult:
    result = _base(dispatch, "failed", time)
    result["error"] = {
        "code": code,
        "message": message,
        "status": status,
        "related_to": list(related_to),
    }
    return result


def test_sent_result(dispatch: ClaimedDispatch, time: str) -> SendResult:
    """The provider checked the email and sent nothing: no recipient, no message id."""
    return _base(dispatch, "test_sent", time)


class CallDecision(Enum):
    """What the send loop does with a call that failed as a whole."""

    RETRY = "retry"  # passing trouble (network, throttling, the provider's own errors)
    ISOLATE = "isolate"  # the provider refuses what the call carries: split it
    WAIT_FOR_OPERATOR = "wait_for_operator"  # our credentials, account or URL: the operator's


def call_decision(failure: CallFailure) -> CallDecision:
    if failure.kind is FailureKind.CLIENT_ERROR:
        return CallDecision.ISOLATE
    if failure.kind in (FailureKind.AUTH, FailureKind.ENDPOINT):
        return CallDecision.WAIT_FOR_OPERATOR
    return CallDecision.RETRY


def failure_code(failure: CallFailure) -> str:
    """The provider's code, else the HTTP status, else the kind ("http-413", "timeout")."""
    if failure.code:
        return failure.code
    return f"http-{failure.status}" if failure.status else str(failure.kind)


def refused_result(dispatch: ClaimedDispatch, failure: CallFailure, time: str) -> SendResult:
    """A call that carried only this dispatch was refused as a whole: failed, with the reason."""
    return failed_result(
        dispatch,
        code=failure_code(failure),
        message=failure.message,
        status=failure.status,
        related_to=failure.related_to,
        time=time,
    )


def not_attempted_results(
    batch: Sequence[ClaimedDispatch], failure: CallFailure, *, time: str, retry_after: int
) -> list[SendResult]:
    """The provider refused our credentials (or the URL is not its API): each dispatch
    waits without losing an attempt, since nothing was looked at."""
    results = []
    for dispatch in batch:
        result = retry_result(
            dispatch,
            code=failure_code(failure),
            message=failure.message,
            status=failure.status,
            time=time,
            retry_after=retry_after,
        )
        result["attempted"] = False
        results.append(result)
    return results


def results_for_call_failure(
    batch: Sequence[ClaimedDispatch],
    failure: CallFailure,
    *,
    time: str,
    policy: RetryPolicy,
    jitter: float,
) -> list[SendResult]:
    """Every dispatch of a batch whose send call failed for a passing reason -> retry."""
    return [
        retry_result(
            dispatch,
            code=failure_code(failure),
            message=failure.message,
            status=failure.status,
            time=time,
            retry_after=retry_after_seconds(
                attempts_of(dispatch), policy, jitter, floor=failure.retry_after
            ),
        )
        for dispatch in batch
    ]
