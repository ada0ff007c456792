# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..tools import contract_args
from ..tools.courier_status import (
    HISTORY_STATUSES,
    OPEN_TRACKING_STATUSES,
    RECIPIENT_STATUS_RANK,
    RECIPIENT_STATUSES,
    SEND_STATES_SHOWN_IN_HISTORY,
    best_status,
    status_rank,
)
from ..tools.courier_time import to_iso
from ..tools.email_address import normalize_strict

MAX_OPEN_TRACKING = 500
# Unsubscribed and worse: statuses whose event detail is the recipient's error text.
NEGATIVE_RANK = RECIPIENT_STATUS_RANK["unsubscribed"]


class CourierRecipient(models.Model):
    _name = "courier.recipient"
    _description = "Invoice email recipient"
    _order = "dispatch_id desc, id"
    _rec_name = "email"

    dispatch_id = fields.Many2one("courier.dispatch", required=True, ondelete="cascade", index=True)
    # Set from the send at creation, then checked against it (_check_company_of_invoice).
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    move_id = fields.Many2one(
        related="dispatch_id.move_id", string="Invoice", store=True, index=True, readonly=True
    )
    partner_id = fields.Many2one("res.partner", string="Contact", ondelete="set null")
    # Indexed: the typo guard looks addresses up among past recipients.
    email = fields.Char(required=True, index=True)
    name = fields.Char()
    status = fields.Selection(
        RECIPIENT_STATUSES, default="queued", required=True, readonly=True, index=True
    )
    status_time = fields.Datetime(readonly=True)
    # Mailjet's ids exceed 32 bits: kept as text.
    message_id = fields.Char(string="Message ID", readonly=True, index=True, copy=False)
    message_uuid = fields.Char(string="Message UUID", readonly=True, copy=False)
    error_text = fields.Text(readonly=True)
    polled_at = fields.Datetime(
        readonly=True, copy=False, help="Last time the poller asked Mailjet about this email."
    )
    event_ids = fields.One2many("courier.event", "recipient_id", string="Events", readonly=True)
    # The email this recipient was sent, shown when a status is clicked in the history tab.
    # Stored, as the customer and the sender: the delivery statistics group by them.
    queued_at = fields.Datetime(related="dispatch_id.queued_at", string="Date", store=True)
    customer_id = fields.Many2one(
        related="move_id.commercial_partner_id", string="Customer", store=True, index=True
    )
    requested_by_id = fields.Many2one(
        related="dispatch_id.requested_by_id", string="Sent by", store=True
    )
    sender_email = fields.Char(related="dispatch_id.sender_email", string="Sender")
    subject = fields.Char(related="dispatch_id.subject")
    body_html = fields.Html(related="dispatch_id.body_html", string="Message")
    sent_attachment_ids = fields.Many2many(
        "ir.attachment", compute="_compute_sent_attachment_ids", string="Attachments"
    )
    dispatch_state = fields.Selection(related="dispatch_id.state", string="Send status")
    history_status = fields.Selection(
        HISTORY_STATUSES,
        string="Status in the history",
        compute="_compute_history_status",
        help="The recipient's status, or its send's when the send failed, was cancelled "
        "or was a test send.",
    )
    sibling_ids = fields.One2many(related="dispatch_id.recipient_ids", string="All recipients")

    @api.depends("dispatch_id.attachment_ids", "move_id.invoice_pdf_report_id")
    def _compute_sent_attachment_ids(self):
        # The invoice PDF is attached by courierd at send time, not stored on the dispatch.
        for recipient in self:
            recipient.sent_attachment_ids = (
                recipient.dispatch_id.attachment_ids | recipient.move_id.invoice_pdf_report_id
            )

    @api.depends("status", "dispatch_id.state")
    def _compute_history_status(self):
        for recipient in self:
            send_state = recipient.dispatch_id.state
            recipient.history_status = (
                send_state if send_state in SEND_STATES_SHOWN_IN_HISTORY else recipient.status
            )

    @api.model_create_multi
    def create(self, vals_list):
        # Recipients come with their send (courier.dispatch.create checks them
        # with the sender's rights); nobody adds one to a send afterwards.
        if not self.env.su:
            raise AccessError(
                _("Recipients are chosen when the invoice is sent; send it again to add one.")
            )
        dispatches = self.env["courier.dispatch"].browse(
            [vals["dispatch_id"] for vals in vals_list if vals.get("dispatch_id")]
        )
        company_of = {dispatch.id: dispatch.company_id.id for dispatch in dispatches}
        for vals in vals_list:
            if isinstance(vals.get("email"), str):
                vals["email"] = normalize_strict(vals["email"]) or vals["email"].strip()
            if vals.get("dispatch_id"):
                vals["company_id"] = company_of.get(vals["dispatch_id"])
        return super().create(vals_list)

    def write(self, vals):
        # Statuses, message IDs and addresses are facts the daemon reports.
        if vals and not self.env.su:
            raise AccessError(
                _("The recipients of a send cannot be modified; send the invoice again.")
            )
        return super().write(vals)

    @api.constrains("email")
    def _check_email(self):
        invalid = [r.email or "" for r in self if not normalize_strict(r.email)]
        if invalid:
            raise ValidationError(
                _(
                    "These addresses are not valid email addresses: %(addresses)s",
                    addresses=", ".join(invalid),
                )
            )

    @api.constrains("company_id", "dispatch_id")
    def _check_company_of_invoice(self):
        for recipient in self:
            if recipient.company_id != recipient.dispatch_id.move_id.company_id:
                raise ValidationError(
                    _(
                        "The recipient %(email)s must belong to the company of its invoice.",
                        email=recipient.email,
                    )
                )

    def _courier_recompute_status(self):
        """Status, its time and the error text, from the set of the recipient's events.

        Never from their order: the status is the highest-ranked type, its time
        the first time that type was seen, and the error text (for unsubscribed
        and worse) the latest detail by event time, of the winning type if it has
        one, else of any negative type; equal times are told apart by dedupe key.
        """
        changes = defaultdict(list)
        for recipient in self:
            events = recipient.event_ids.filtered(lambda e: e.type in RECIPIENT_STATUS_RANK)
            status = best_status(events.mapped("type"), default="queued")
            if status == "queued" and recipient.message_id:
                status = "transmitted"
            times = [e.event_time for e in events if e.type == status and e.event_time]
            vals = {"status": status, "status_time": min(times) if times else recipient.status_time}
            if status_rank(status) >= NEGATIVE_RANK:
                negative = [e for e in events if status_rank(e.type) >= NEGATIVE_RANK and e.detail]
                explaining = [e for e in negative if e.type == status] or negative
                if explaining:
                    latest = max(explaining, key=lambda e: (e.event_time, e.dedupe_key))
                    vals["error_text"] = latest.detail
            if any(recipient[name] != value for name, value in vals.items()):
                changes[tuple(sorted(vals.items()))].append(recipient.id)
        # One write per distinct change: an ingest batch touches hundreds of recipients.
        for vals, ids in changes.items():
            self.browse(ids).write(dict(vals))

    @api.model
    def courier_open_tracking(self, limit, max_age_days):
        self.env["courier.dispatch"]._courier_check_daemon()
        limit = max(1, min(contract_args.as_int(self.env, limit, "limit"), MAX_OPEN_TRACKING))
        max_age = contract_args.as_age_days(self.env, max_age_days)
        since = fields.Datetime.now() - timedelta(days=max_age)
        recipients = self.sudo().search(
            [
                ("status", "in", OPEN_TRACKING_STATUSES),
                ("message_id", "!=", False),
                ("dispatch_id.transmitted_at", ">=", since),
            ],
            order="polled_at asc nulls first, id",
            limit=limit,
        )
        # Mark them polled so the next call moves on to the others.
        recipients.write({"polled_at": fields.Datetime.now()})
        return [
            {
                "recipient_id": recipient.id,
                "message_id": recipient.message_id,
                "custom_id": recipient.dispatch_id.custom_id,
                "email": recipient.email,
                "status": recipient.status,
                "status_time": to_iso(recipient.status_time),
            }
            for recipient in recipients
        ]
