# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What every way of sending an invoice shares: one abstract model.

The compose window, the bulk send and account.move all decide "can this
invoice be sent", propose its default recipients and build a dispatch's
values through these methods, as core Odoo's two sending wizards share the
abstract account.move.send. A rule changed here changes for all of them.
"""

from odoo import api, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command

from ..tools.courier_status import SENDABLE_MOVE_TYPES
from ..tools.email_address import normalize_strict

TEMPLATE_XMLID = "invoice_courier.mail_template_courier_invoice"
# What the sender of an invoice chooses; everything else on a send is the system's.
SENDER_FIELDS = frozenset({"move_id", "subject", "body_html", "attachment_ids", "recipient_ids"})
RECIPIENT_FIELDS = frozenset({"email", "name", "partner_id"})
# Where a file sent with an invoice may come from: the invoice's own files, or
# an upload by the sender in the compose window (moved onto the invoice when queued).
UPLOAD_MODEL = "courier.compose"
# Mailjet takes at most 50 recipients in one Send call, and courierd sends a
# send's emails (one per recipient, or one to all) in one call.
MAX_RECIPIENTS = 50


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
    def _courier_dispatch_vals(self, move, subject, body_html, recipients, attachments=None):
        """The values of one courier.dispatch: what the sender chose, nothing the system owns."""
        vals = {
            "move_id": move.id,
            "subject": subject,
            "body_html": body_html,
            "recipient_ids": recipients,
        }
        if attachments:
            vals["attachment_ids"] = [Command.set(attachments.ids)]
        return vals

    # ------------------------------------------------------------ sending checks

    @api.model
    def _courier_check_send_vals(self, vals):
        """The values of a send asked for by the current user, checked with their rights.

        Every way in goes through here: the compose window, the bulk send and
        courier.dispatch.create over RPC. Returns the values to create (addresses
        normalized); raises AccessError for what the user may not do and
        UserError or ValidationError for what is not a valid send.
        """
        env = self.env
        foreign = sorted(set(vals) - SENDER_FIELDS)
        if foreign:
            raise AccessError(
                env._(
                    "Invoice Courier sets these fields of a send itself: %(fields)s",
                    fields=", ".join(foreign),
                )
            )
        move = env["account.move"].browse(vals.get("move_id") or []).exists()
        if len(move) != 1:
            raise UserError(env._("Choose the invoice to send."))
        # The user's own rights: another company's invoice raises AccessError here.
        move.check_access("read")
        self._courier_check_sendable(move)
        if not str(vals.get("subject") or "").strip():
            raise UserError(env._("The email needs a subject."))
        checked = dict(vals)
        checked["recipient_ids"] = self._courier_checked_recipients(move, vals.get("recipient_ids"))
        if "attachment_ids" in vals:
            attachments = self._courier_checked_attachments(move, vals["attachment_ids"])
            checked["attachment_ids"] = [Command.set(attachments.ids)]
        return checked

    @api.model
    def _courier_checked_recipients(self, move, commands):
        """Creation commands of valid recipients, each an address of this customer or typed."""
        env = self.env
        if not isinstance(commands, list | tuple) or not commands:
            raise UserError(
                env._("Add at least one recipient: pick a contact or type an email address.")
            )
        if len(commands) > MAX_RECIPIENTS:
            raise UserError(
                env._(
                    "An invoice email goes to at most %(max)s recipients; this one has "
                    "%(count)s. Send it in several goes.",
                    max=MAX_RECIPIENTS,
                    count=len(commands),
                )
            )
        checked, invalid = [], []
        for command in commands:
            is_create = isinstance(command, list | tuple) and len(command) == 3
            values = command[2] if is_create and command[0] == Command.CREATE else None
            if not isinstance(values, dict):
                raise AccessError(
                    env._("Recipients are given as new addresses of the send, nothing else.")
                )
            foreign = sorted(set(values) - RECIPIENT_FIELDS)
            if foreign:
                raise AccessError(
                    env._(
                        "Invoice Courier sets these fields of a recipient itself: %(fields)s",
                        fields=", ".join(foreign),
                    )
                )
            typed = values.get("email")
            email = normalize_strict(typed) if isinstance(typed, str) else False
            if not email:
                invalid.append(str(values.get("email") or ""))
                continue
            partner = env["res.partner"].browse(values.get("partner_id") or []).exists()
            if values.get("partner_id") and (
                not partner or partner.commercial_partner_id != move.commercial_partner_id
            ):
                raise UserError(
                    env._(
                        "These contacts do not belong to the customer %(customer)s: %(contacts)s",
                        customer=move.commercial_partner_id.display_name,
                        contacts=partner.display_name or str(values["partner_id"]),
                    )
                )
            name = values.get("name")
            checked.append(
                Command.create(
                    {
                        "partner_id": partner.id or False,
                        "email": email,
                        "name": name if isinstance(name, str) and name else email,
                    }
                )
            )
        if invalid:
            raise ValidationError(
                env._(
                    "These addresses are not valid email addresses: %(addresses)s",
                    addresses=", ".join(invalid),
                )
            )
        return checked

    @api.model
    def _courier_checked_attachments(self, move, commands):
        """The files a send may carry: the invoice's, or the sender's uploads in the compose window.

        Read with the sender's own rights: a file of another company, or one the
        sender cannot open, is refused before anything is queued.
        """
        env = self.env
        ids = []
        for command in commands or []:
            if isinstance(command, list | tuple) and command and command[0] == Command.SET:
                ids = list(command[2])
            elif isinstance(command, list | tuple) and command and command[0] == Command.LINK:
                ids.append(command[1])
            else:
                raise AccessError(
                    env._("Attach files by uploading them in the compose window or on the invoice.")
                )
        if not all(isinstance(attachment_id, int) for attachment_id in ids):
            raise UserError(env._("Attachments are given by their ids."))
        attachments = env["ir.attachment"].browse(ids).exists()
        if len(attachments) != len(set(ids)):
            raise UserError(env._("Some of these attachments do not exist."))
        self._courier_check_readable(attachments)
        for attachment in attachments:
            own_invoice = attachment.res_model == "account.move" and attachment.res_id == move.id
            own_upload = attachment.res_model == UPLOAD_MODEL and attachment.create_uid == env.user
            if not (own_invoice or own_upload):
                raise AccessError(
                    env._(
                        "%(file)s is neither a file of %(move)s nor uploaded in the compose "
                        "window: it cannot be sent with the invoice.",
                        file=attachment.name,
                        move=move.display_name,
                    )
                )
        return attachments

    @api.model
    def _courier_check_readable(self, attachments):
        """Raise AccessError unless the environment's user may read `attachments`.

        The generic access check knows no rule of ir.attachment: its own check()
        does (a file on no record is its uploader's; a record's file follows the
        record's rights).
        """
        attachments.check_access("read")
        attachments.check("read")
