# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Spotting a mistyped mail domain: one edit away from a common one.

"anna@gmial.com" is almost always "anna@gmail.com". A domain is flagged when
it is not itself a common domain and one Damerau-Levenshtein edit (insert,
delete, substitute or swap two neighbours) turns it into one; the suggestion
is that common domain. Pure functions: the list of common domains is the
caller's (the courier.mail.domain records).
"""


def one_edit_apart(typed, known):
    """True when one insert, delete, substitution or adjacent swap turns `typed` into `known`."""
    if typed == known:
        return False
    if abs(len(typed) - len(known)) > 1:
        return False
    # Skip the common prefix and suffix; what differs must be one edit.
    start = 0
    limit = min(len(typed), len(known))
    while start < limit and typed[start] == known[start]:
        start += 1
    end_typed, end_known = len(typed), len(known)
    while end_typed > start and end_known > start and typed[end_typed - 1] == known[end_known - 1]:
        end_typed -= 1
        end_known -= 1
    typed_middle, known_middle = typed[start:end_typed], known[start:end_known]
    if len(typed_middle) <= 1 and len(known_middle) <= 1:
        # One character inserted, deleted or substituted.
        return True
    # Two neighbours swapped: "ab" for "ba".
    return (
        len(typed_middle) == len(known_middle) == 2
        and typed_middle[0] == known_middle[1]
        and typed_middle[1] == known_middle[0]
    )


def suggest_domain(domain, common_domains):
    """The common domain `domain` is probably a typo of, or None.

    `common_domains` is an ordered iterable (the first match wins); a domain
    that is itself common is never a typo.
    """
    typed = (domain or "").strip().lower()
    known = [candidate.strip().lower() for candidate in common_domains]
    if not typed or typed in known:
        return None
    return next((candidate for candidate in known if one_edit_apart(typed, candidate)), None)


def suggest_address(address, common_domains):
    """The address with its domain corrected ("anna@gmail.com" for "anna@gmial.com"), or None."""
    local, at, domain = (address or "").rpartition("@")
    if not at or not local:
        return None
    suggestion = suggest_domain(domain, common_domains)
    return f"{local}@{suggestion}" if suggestion else None
