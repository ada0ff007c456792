"""Pure: when courierd stops retrying a dispatch (no dispatch is retried without bound).

A dispatch is given up when it is claimed again after `max_attempts` attempts,
or, once it has been tried at least once, when it has been queued for longer
than `max_age`. The check is made at claim time, after the lookup of a
dispatch that carries `check_mailjet_first`: an earlier attempt may have gone
out (a timeout, a 5xx after the provider accepted it), and a dispatch found at
the provider is reported transmitted, never given up. A dispatch never tried
(the daemon was stopped for a day) is sent, whatever its age.

Attempts are Odoo's count of claims (`attempts`, this claim included); a claim
the provider refused our credentials for is given back (`attempted: false`),
so a wrong API key does not use up the attempts. The age needs `queued_at`
in the claim (docs/contract.md); without it only the attempts count.

The result is `failed` with the code `gave-up`, so the sender gets an
activity, and the previous attempt's error in its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from courierd.domain.contract import ClaimedDispatch, SendResult
from courierd.domain.sending import attempts_of, failed_result, parse_time

GAVE_UP = "gave-up"


@dataclass(frozen=True)
class RetryBound:
    max_attempts: int = 10
    max_age: timedelta = timedelta(hours=24)

    def exceeded(self, dispatch: ClaimedDispatch, now: datetime) -> str | None:
        """Why `dispatch` must not be tried again (a phrase for the sender), or None."""
        attempts = attempts_of(dispatch)
        if attempts > self.max_attempts:
            return f"{attempts - 1} attempts"
        queued_at = parse_time(dispatch.get("queued_at"))
        if attempts > 1 and queued_at is not None and now - queued_at > self.max_age:
            return f"{_duration(now - queued_at)} in the queue"
        return None


def _duration(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    if hours >= 1:
        return f"{hours:.0f} h"
    return f"{max(1, round(hours * 60))} min"


def gave_up_result(
    dispatch: ClaimedDispatch, reason: str, *, time: str, unchecked: str | None = None
) -> SendResult:
    """`failed` (`gave-up`) after `reason`, with the last error Odoo recorded.

    `unchecked`: why it could not be checked whether an earlier attempt went out.
    """
    message = f"Not sent: courierd gave up after {reason}."
    last_error = dispatch.get("last_error")
    if last_error:
        code = dispatch.get("error_code")
        message += f" Last error: {f'{code}: ' if code else ''}{last_error}"
        message += "" if message.endswith(".") else "."
    if unchecked:
        message += (
            f" Whether an earlier attempt reached the provider could not be checked ({unchecked}):"
            " look its Custom ID up there before sending the invoice again."
        )
    return failed_result(dispatch, code=GAVE_UP, message=message, status=None, time=time)
