"""The one backoff of courierd: exponential from a base, capped, jittered into [50 %, 100 %].

Every wait after a failure uses it: the send loop, the event forwarder and the
poller while Odoo or Mailjet is in trouble, the ERP client between reconnects,
and the `retry_after` a send result hands Odoo (`RetryPolicy`, on the dispatch's
attempts). Half-jitter keeps the wait growing while several daemons (or several
dispatches) spread out instead of retrying in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# 2**62 s is far past any cap; the exponent stops there so huge counts do not overflow.
_MAX_EXPONENT = 62


@dataclass(frozen=True)
class Backoff:
    base_seconds: float
    max_seconds: float

    def delay(self, attempt: int, jitter: float, at_least: float | None = None) -> float:
        """The wait before try `attempt` + 1 (`attempt` >= 1 failures so far).

        base * 2 ** (attempt - 1), at most `max_seconds`, times 0.5 + 0.5 * `jitter`
        (`jitter` in [0, 1]: random in production, fixed in tests). `at_least` (a
        server's Retry-After) is never undercut, even above the cap.
        """
        exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
        ceiling = min(self.max_seconds, self.base_seconds * 2.0**exponent)
        seconds = ceiling * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))
        return max(seconds, at_least or 0.0)


@dataclass(frozen=True)
class RetryPolicy(Backoff):
    """The backoff of a dispatch's attempts: the `retry_after` reported to Odoo."""

    base_seconds: float = 30
    max_seconds: float = 3600


def retry_after_seconds(
    attempts: int, policy: RetryPolicy, jitter: float, floor: float | None = None
) -> int:
    """The whole seconds (at least 1) a dispatch waits after its `attempts`-th attempt.

    `floor` is the provider's Retry-After, rounded up and never undercut.
    """
    seconds = max(1, round(policy.delay(attempts, jitter)))
    return max(seconds, math.ceil(floor)) if floor is not None else seconds
