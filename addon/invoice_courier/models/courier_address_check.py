# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The typo guard: what to tell the sender about an address before the email goes out.

Two warnings, never a refusal (the user can still send):

- the domain is one typing mistake away from a common mail domain
  (courier.mail.domain): "did you mean anna@gmail.com?";
- an email to the address hard-bounced before in one of the user's companies,
  and none was delivered to it since: when.

The compose window, the bulk send and the contact form all ask here.
"""

from markupsafe import Markup
from odoo import api, models
from odoo.tools import SQL, format_datetime

from ..tools.email_address import normalize_strict, split_addresses

# How courierd writes a Mailjet bounce's detail (mailjet/event_normalizer.py):
# "hard bounce: <reason>" when Mailjet says hard_bounce, else "soft bounce: ...".
HARD_BOUNCE_PREFIX = "hard bounce"
# A later email reaching the address shows it works again.
REACHED_TYPES = ("delivered", "opened", "clicked")


class CourierAddressCheck(models.AbstractModel):
    _name = "courier.address.check"
    _description = "Invoice Courier address warnings"

    @api.model
    def _courier_normalized(self, texts):
        """The distinct valid addresses in `texts` (each may hold several), in order."""
        addresses = []
        for text in texts:
            for entry in split_addresses(text):
                address = normalize_strict(entry)
                if address and address not in addresses:
                    addresses.append(address)
        return addresses

    @api.model
    def _courier_hard_bounces(self, addresses):
        """{address: time of its latest hard bounce} when nothing reached it since.

        Searched in the user's companies only, as every courier record is.
        """
        if not addresses:
            return {}
        self.env["courier.event"].flush_model(["type", "detail", "event_time", "recipient_id"])
        self.env["courier.recipient"].flush_model(["email", "company_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT r.email,
                       MAX(e.event_time) FILTER (
                           WHERE e.type = 'bounced' AND e.detail ILIKE %(hard)s),
                       MAX(e.event_time) FILTER (WHERE e.type IN %(reached)s)
                  FROM courier_recipient r
                  JOIN courier_event e ON e.recipient_id = r.id
                 WHERE r.email IN %(addresses)s AND r.company_id IN %(companies)s
                 GROUP BY r.email
                """,
                hard=HARD_BOUNCE_PREFIX + "%",
                reached=REACHED_TYPES,
                addresses=tuple(addresses),
                companies=tuple(self.env.user.company_ids.ids or [0]),
            )
        )
        return {
            email: bounced_at
            for email, bounced_at, reached_at in self.env.cr.fetchall()
            if bounced_at and (not reached_at or reached_at < bounced_at)
        }

    @api.model
    def _courier_address_warnings(self, texts, normalized=False):
        """[(address, sentence)] for each address of `texts` the sender should check.

        `normalized`: `texts` are already distinct normalized addresses (the
        bulk send's, hundreds of them: normalizing costs about 0.1 ms each).
        """
        addresses = list(texts) if normalized else self._courier_normalized(texts)
        if not addresses:
            return []
        env = self.env
        typos = env["courier.mail.domain"]._courier_typo_suggestions(addresses)
        bounces = self._courier_hard_bounces(addresses)
        warnings = []
        for address in addresses:
            if address in typos:
                warnings.append(
                    (
                        address,
                        env._(
                            "%(address)s: did you mean %(suggestion)s?",
                            address=address,
                            suggestion=typos[address],
                        ),
                    )
                )
            if address in bounces:
                warnings.append(
                    (
                        address,
                        env._(
                            "%(address)s hard-bounced on %(date)s: the address may be wrong "
                            "or closed.",
                            address=address,
                            date=format_datetime(env, bounces[address]),
                        ),
                    )
                )
        return warnings

    @api.model
    def _courier_warnings_html(self, texts, intro, where=None, normalized=False):
        """The warnings as an HTML list under `intro`, or False when there is none.

        `where(address)` may say where a flagged address is used (the bulk send
        names its invoices), shown after its warning.
        """
        warnings = self._courier_address_warnings(texts, normalized=normalized)
        if not warnings:
            return False
        items = Markup("").join(
            Markup("<li>%s</li>") % (f"{sentence} ({where(address)})" if where else sentence)
            for address, sentence in warnings
        )
        return Markup("<p>%s</p><ul class='mb-0'>%s</ul>") % (intro, items)
