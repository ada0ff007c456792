# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Argument checks of the RPC contract methods (docs/contract.md).

A contract call with a dict where a list belongs, a string where a number
belongs, or a number past what a date or a database id can hold gets a
ValidationError naming the argument and the value, never a traceback. The
texts are those of the stand-in ERP (testdoubles/standin_erp/store.py), so
courierd meets the same errors in its tests as in production.
"""

import math

from odoo.exceptions import ValidationError

# PostgreSQL's integer: a larger id cannot exist, and comparing with one fails in SQL.
MAX_RECORD_ID = 2**31 - 1
# A lease longer than a day would hide a crashed worker's dispatches for as long.
MAX_LEASE_SECONDS = 86400
# A hundred years: farther back than any send, and within what a date can hold.
MAX_AGE_DAYS = 36500
# A claim that waits for a send holds an HTTP worker and a database connection:
# a minute at most, well under Odoo's --limit-time-real (120 s by default).
MAX_CLAIM_WAIT_SECONDS = 60


def as_int(env, value, name):
    """`value` as an int (a whole float or a numeric string is accepted, as Odoo's int())."""
    try:
        number = None if isinstance(value, bool) else int(value)
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is not None:
        return number
    raise ValidationError(
        env._("%(name)s: expected an integer, got %(value)s", name=name, value=repr(value))
    )


def as_list(env, value, name):
    if not isinstance(value, list):
        raise ValidationError(
            env._("%(name)s: expected a list, got %(value)s", name=name, value=repr(value))
        )
    return value


def as_worker_id(env, value):
    if not isinstance(value, str) or not value:
        raise ValidationError(
            env._("worker_id: expected a non-empty string, got %(value)s", value=repr(value))
        )
    return value


def as_lease_seconds(env, value):
    seconds = as_int(env, value, "lease_seconds")
    if seconds > MAX_LEASE_SECONDS:
        raise ValidationError(
            env._(
                "lease_seconds: expected at most %(max)s seconds, got %(value)s",
                max=MAX_LEASE_SECONDS,
                value=repr(value),
            )
        )
    return max(1, seconds)


def _bounded_number(value, maximum):
    """`value` as a float from 0 to `maximum` (negative counts as 0), or None when it is not."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, bool) or not math.isfinite(number) or number > maximum:
        return None
    return max(0.0, number)


def as_age_days(env, value):
    """A number of days from 0 to MAX_AGE_DAYS (negative counts as 0)."""
    days = _bounded_number(value, MAX_AGE_DAYS)
    if days is None:
        raise ValidationError(
            env._(
                "max_age_days: expected a number of days up to %(max)s, got %(value)s",
                max=MAX_AGE_DAYS,
                value=repr(value),
            )
        )
    return days


def as_wait_seconds(env, value):
    """A number of seconds from 0 to MAX_CLAIM_WAIT_SECONDS (negative counts as 0)."""
    seconds = _bounded_number(value, MAX_CLAIM_WAIT_SECONDS)
    if seconds is None:
        raise ValidationError(
            env._(
                "wait_seconds: expected a number of seconds up to %(max)s, got %(value)s",
                max=MAX_CLAIM_WAIT_SECONDS,
                value=repr(value),
            )
        )
    return seconds


def is_record_id(number):
    """Whether `number` can be the id of a stored record."""
    return 0 < number <= MAX_RECORD_ID
