"""Pure: a webhook body -> the list of Mailjet event objects it holds, or why it holds none.

Only what makes the body as a whole unreadable is refused here (a 400 that
Mailjet retries to no avail, but no valid event is lost with it): not JSON,
nested too deeply to parse, neither an object (Event API version 1) nor an
array (version 2), or more items than any Mailjet post holds. Each event is
judged alone afterwards (mailjet/event_normalizer.py), so one bad event never
costs its neighbours.
"""

from __future__ import annotations

import json
from typing import Any

from courierd.mailjet.event_normalizer import OversizedNumber

# Mailjet groups events of about one second per version-2 POST; 5 MB is thousands.
MAX_BODY_BYTES = 5 * 1024 * 1024
# A 5 MB array of the smallest Mailjet events holds about 20,000.
MAX_EVENTS = 100_000
# Longer integers are kept as their digits (OversizedNumber) and fail their event alone:
# converting one of more than 4,300 digits raises, which would fail the whole body.
_MAX_INT_DIGITS = 40


class UnreadableBody(ValueError):
    """The body is not a list of events; the message says why (for the answer and the log)."""


def _bounded_int(digits: str) -> int | OversizedNumber:
    return int(digits) if len(digits) <= _MAX_INT_DIGITS else OversizedNumber(digits)


def event_objects(body: bytes) -> list[Any]:
    """The body's event objects, in order (one for version 1); UnreadableBody otherwise."""
    try:
        parsed = json.loads(body, parse_int=_bounded_int)
    except RecursionError:
        raise UnreadableBody("the body is nested too deeply to be Mailjet events") from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise UnreadableBody(f"the body is not valid JSON: {exc}") from None
    if isinstance(parsed, dict):
        return [parsed]
    if not isinstance(parsed, list):
        raise UnreadableBody(
            "the body must be one event object (version 1) or an array of them (version 2)"
        )
    if len(parsed) > MAX_EVENTS:
        raise UnreadableBody(f"the body holds {len(parsed)} items, over {MAX_EVENTS}")
    return parsed
