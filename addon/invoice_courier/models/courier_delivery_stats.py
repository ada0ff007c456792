# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Delivery statistics per customer, and the addresses that bounced (read-only reports).

Both read courier.recipient (one row per address of every send) through a
query, as Odoo's own invoice analysis does: nothing is stored twice.

- courier.customer.stats: per customer (the invoice's commercial partner) and
  company, the recipients of transmitted sends, how many opened the email
  (an `opened` or `clicked` event, whatever came later) and how many bounced
  or were blocked; the rates are those counts over the sent ones.
- courier.bounced.address: per customer, company and address that bounced or
  was blocked: how often, when last, why, and whether a contact of that
  customer still has it; "Open the contact" leads to the contact to fix.
"""

from odoo import api, fields, models
from odoo.tools import SQL

UNDELIVERED = "('bounced', 'blocked')"


class CourierCustomerStats(models.Model):
    _name = "courier.customer.stats"
    _description = "Invoice email delivery per customer"
    _auto = False
    _order = "bounce_rate desc, sent_count desc, id"
    _rec_name = "customer_id"
    # What the query reads: flushed before every search, as for Odoo's own reports.
    _depends = {
        "courier.recipient": [
            "customer_id",
            "company_id",
            "status",
            "email",
            "queued_at",
            "dispatch_id",
        ],
        "courier.dispatch": ["state"],
        "courier.event": ["recipient_id", "type"],
    }

    customer_id = fields.Many2one("res.partner", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    sent_count = fields.Integer(string="Emails sent", readonly=True)
    opened_count = fields.Integer(string="Opened", readonly=True)
    bounced_count = fields.Integer(string="Bounced", readonly=True)
    open_rate = fields.Float(
        string="Open rate",
        readonly=True,
        aggregator="avg",
        help="Emails opened (or clicked) over emails sent.",
    )
    bounce_rate = fields.Float(
        string="Bounce rate",
        readonly=True,
        aggregator="avg",
        help="Emails bounced or blocked over emails sent.",
    )
    last_sent_at = fields.Datetime(string="Last sent", readonly=True)
    bounced_emails = fields.Char(string="Addresses that bounced", readonly=True)
    bounced_address_ids = fields.One2many(
        "courier.bounced.address",
        compute="_compute_bounced_address_ids",
        string="Bounced addresses",
    )

    @property
    def _table_query(self):
        return SQL(
            f"""
            SELECT MIN(r.id) AS id,
                   r.customer_id,
                   r.company_id,
                   COUNT(*) AS sent_count,
                   COUNT(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM courier_event e
                        WHERE e.recipient_id = r.id AND e.type IN ('opened', 'clicked')
                   )) AS opened_count,
                   COUNT(*) FILTER (WHERE r.status IN {UNDELIVERED}) AS bounced_count,
                   COUNT(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM courier_event e
                        WHERE e.recipient_id = r.id AND e.type IN ('opened', 'clicked')
                   ))::float / COUNT(*) AS open_rate,
                   COUNT(*) FILTER (WHERE r.status IN {UNDELIVERED})::float / COUNT(*)
                       AS bounce_rate,
                   MAX(r.queued_at) AS last_sent_at,
                   STRING_AGG(DISTINCT r.email, ', ' ORDER BY r.email)
                       FILTER (WHERE r.status IN {UNDELIVERED}) AS bounced_emails
              FROM courier_recipient r
              JOIN courier_dispatch d ON d.id = r.dispatch_id
             WHERE d.state = 'transmitted' AND r.customer_id IS NOT NULL
             GROUP BY r.customer_id, r.company_id
            """
        )

    @api.depends("customer_id", "company_id")
    def _compute_bounced_address_ids(self):
        Bounced = self.env["courier.bounced.address"]
        rows = Bounced.search(
            [("customer_id", "in", self.customer_id.ids), ("company_id", "in", self.company_id.ids)]
        )
        for stats in self:
            stats.bounced_address_ids = rows.filtered(
                lambda row, stats=stats: (
                    row.customer_id == stats.customer_id and row.company_id == stats.company_id
                )
            )

    def action_open_customer(self):
        self.ensure_one()
        return _partner_form(self.customer_id)


class CourierBouncedAddress(models.Model):
    _name = "courier.bounced.address"
    _description = "Invoice email address that bounced"
    _auto = False
    _order = "last_bounce_at desc, id desc"
    _rec_name = "email"
    _depends = {
        "courier.recipient": [
            "customer_id",
            "company_id",
            "status",
            "status_time",
            "email",
            "partner_id",
            "error_text",
        ],
        "res.partner": ["commercial_partner_id", "active", "email_normalized"],
    }

    email = fields.Char(readonly=True)
    customer_id = fields.Many2one("res.partner", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Contact",
        readonly=True,
        help="The saved contact the email was sent to (empty: typed by hand).",
    )
    bounce_count = fields.Integer(string="Bounces", readonly=True)
    last_bounce_at = fields.Datetime(string="Last bounce", readonly=True)
    error_text = fields.Text(string="Reason", readonly=True)
    still_used = fields.Boolean(
        string="Still on a contact",
        readonly=True,
        help="A contact of this customer still has this address: fix it there.",
    )

    @property
    def _table_query(self):
        return SQL(
            f"""
            SELECT MIN(r.id) AS id,
                   r.email,
                   r.customer_id,
                   r.company_id,
                   (ARRAY_AGG(r.partner_id ORDER BY r.status_time DESC NULLS LAST, r.id DESC)
                        FILTER (WHERE r.partner_id IS NOT NULL))[1] AS partner_id,
                   COUNT(*) AS bounce_count,
                   MAX(r.status_time) AS last_bounce_at,
                   (ARRAY_AGG(r.error_text ORDER BY r.status_time DESC NULLS LAST, r.id DESC))[1]
                       AS error_text,
                   EXISTS (
                       SELECT 1 FROM res_partner p
                        WHERE p.commercial_partner_id = r.customer_id
                          AND p.active AND p.email_normalized = r.email
                   ) AS still_used
              FROM courier_recipient r
             WHERE r.status IN {UNDELIVERED} AND r.customer_id IS NOT NULL
             GROUP BY r.email, r.customer_id, r.company_id
            """
        )

    def action_open_contact(self):
        """The contact that holds the address (else the customer), to correct it."""
        self.ensure_one()
        holder = self.env["res.partner"].search(
            [
                ("commercial_partner_id", "=", self.customer_id.id),
                ("email_normalized", "=", self.email),
            ],
            limit=1,
        )
        return _partner_form(holder or self.partner_id or self.customer_id)


def _partner_form(partner):
    return {
        "type": "ir.actions.act_window",
        "res_model": "res.partner",
        "res_id": partner.id,
        "view_mode": "form",
        "views": [(False, "form")],
        "target": "current",
    }
