# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What every way of sending an invoice shares: one abstract model.

The compose window, the bulk send and account.move all decide "can this
invoice be sent", propose its default recipients and build a dispatch's
values through these methods, as core Odoo's two sending wizards share the
abstract account.move.send. A rule changed here changes for all of them.
"""

from odoo import api, models
from odoo.exceptions import UserError
from odoo.fields import Command

from ..tools.courier_status import SENDABLE_MOVE_TYPES
from ..tools.email_address import normalize_strict

TEMPLATE_XMLID = "invoice_courier.mail_template_courier_invoice"


class CourierSendBase(models.AbstractModel):
    _name = "courier.send.base"
    _description = "Invoice Courier sending rules"

    @api.model
    def _courier_send_blocker(self, move):
        """(short reason, full sentence) why `move` cannot be sent, or None when it can.

        The short reason fills the bulk send's list of skipped documents; the
        sentence is the error a single send raises.
        """
        env = self.env
        if move.move_type not in SENDABLE_MOVE_TYPES:
            return (
                env._("Not a customer invoice or credit note"),
                env._(
                    "Only posted customer invoices and credit notes can be sent by email: "
                    "%(move)s is not a customer invoice or credit note.",
                    move=move.display_name,
                ),
            )
        if move.state == "draft":
            return (
                env._("Draft"),
                env._(
                    "Only posted customer invoices and credit notes can be sent by email: "
                    "%(move)s is a draft, post it before sending it.",
                    move=move.display_name,
                ),
            )
        if move.state != "posted":
            return (
                env._("Cancelled"),
                env._(
                    "Only posted customer invoices and credit notes can be sent by email: "
                    "%(move)s is cancelled.",
                    move=move.display_name,
                ),
            )
        return None

    @api.model
    def _courier_check_sendable(self, moves):
        """Raise the first reason one of `moves` cannot be sent, in the user's language."""
        for move in moves:
            blocker = self._courier_send_blocker(move)
            if blocker:
                raise UserError(blocker[1])

    @api.model
    def _courier_default_template(self):
        """The email template both wizards start from (an accountant may have deleted it)."""
        return self.env.ref(TEMPLATE_XMLID, raise_if_not_found=False)

    @api.model
    def _courier_default_recipients(self, move):
        """The contacts an invoice goes to unless the sender picks others.

        Its invoicing address, when that has an address Mailjet would accept.
        """
        partner = move.partner_id
        return partner if normalize_strict(partner.email) else partner.browse()

    @api.model
    def _courier_recipient_command(self, email, partner=None):
        """The creation command of one recipient (`email` already normalized)."""
        return Command.create(
            {
                "partner_id": partner.id if partner else False,
                "email": email,
                "name": partner.name if partner else email,
            }
        )

    @api.model
    def _courier_dispatch_vals(self, move, subject, body_html, recipient_commands):
        """The values of one courier.dispatch: what the sender chose, nothing the system owns."""
        return {
            "move_id": move.id,
            "subject": subject,
            "body_html": body_html,
            "recipient_ids": recipient_commands,
        }
