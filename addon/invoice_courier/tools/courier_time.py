# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""UTC ISO-8601 times of the RPC contract ("2026-11-27T08:15:02Z") <-> Odoo datetimes."""

from datetime import UTC, datetime

from odoo import fields


def to_iso(value):
    """Odoo's naive UTC datetime as the contract's string; None when empty."""
    if not value:
        return None
    return fields.Datetime.to_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value, default=None):
    """The contract's time string as a naive UTC datetime (Odoo stores naive UTC).

    Accepts a trailing Z, an explicit offset or no zone (taken as UTC); returns
    `default` (or now) when the value is empty or unreadable, because a
    tracking fact with a bad clock is still a fact worth keeping.
    """
    if value:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            return parsed.replace(microsecond=0)
    return default or fields.Datetime.now()
