"""Pure: the per-dispatch results of `courier_report` (docs/contract.md), whoever sends.

Three outcomes: `transmitted` (the provider accepted the email; its recipients
with their message ids), `retry` (try again after `retry_after` seconds: nothing
is failed for good because of our side or the provider's trouble) and `failed`
(the provider refused this email for good). Reading a provider's answers into
these is the provider adapter's job (Mailjet: courierd.mailjet.send_results);
what every provider shares is here, with the whole-call failure: every dispatch
of a call that failed as a whole is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from courierd.domain.backoff import RetryPolicy, retry_after_seconds
from courierd.domain.contract import ClaimedDispatch, Outcome, SendResult, SentRecipient
from courierd.domain.errors import CallFailure


def iso_time(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def results_for_call_failure(
    batch: Sequence[ClaimedDispatch],
    failure: CallFailure,
    *,
    time: str,
    policy: RetryPolicy,
    jitter: float,
) -> list[SendResult]:
    """Every dispatch of a batch whose send call failed as a whole -> retry."""
    code = f"http-{failure.status}" if failure.status else str(failure.kind)
    return [
        retry_result(
            dispatch,
            code=code,
            message=failure.message,
            status=failure.status,
            time=time,
            retry_after=retry_after_seconds(
                attempts_of(dispatch), policy, jitter, floor=failure.retry_after
            ),
        )
        for dispatch in batch
    ]
