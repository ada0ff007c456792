# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Typed address lists and the strict check every recipient address goes through.

Odoo's email_normalize() accepts "a@b" or "a@b." that Mailjet refuses; the
compose window, the bulk send and a recipient created any other way all use
normalize_strict(), so an address Mailjet would refuse never gets queued.
"""

import re

from odoo.tools import email_normalize

# Typed addresses may be separated by commas, semicolons or line breaks.
ADDRESS_SEPARATORS = re.compile(r"[,;\r\n]+")
# A dotted domain of proper labels and a local part without stray dots.
STRICT_EMAIL = re.compile(
    r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9-]+)$"
)
NAMED_ADDRESS = re.compile(r"^[^<>]*<([^<>]+)>$")


def split_addresses(text):
    """The non-empty, stripped entries of a typed address list."""
    return [part.strip() for part in ADDRESS_SEPARATORS.split(text or "") if part.strip()]


def normalize_strict(address):
    """The normalized address, or False when it is not one deliverable address.

    Accepts "anna@customer.example" and "Anna <anna@customer.example>".
    """
    candidate = (address or "").strip()
    named = NAMED_ADDRESS.match(candidate)
    if named:
        candidate = named.group(1).strip()
    if not STRICT_EMAIL.match(candidate):
        return False
    return email_normalize(candidate, strict=True) or False
