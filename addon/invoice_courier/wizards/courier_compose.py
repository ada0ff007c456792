# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools.email_address import normalize_strict, split_addresses


class CourierCompose(models.TransientModel):
    _name = "courier.compose"
    _inherit = "courier.send.base"
    _description = "Send an invoice by email"

    move_id = fields.Many2one(
        "account.move", string="Invoice", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="move_id.company_id")
    commercial_partner_id = fields.Many2one(related="move_id.commercial_partner_id")
    partner_ids = fields.Many2many(
        "res.partner",
        "courier_compose_res_partner_rel",
        "compose_id",
        "partner_id",
        string="Recipients",
        compute="_compute_partner_ids",
        store=True,
        readonly=False,
        # The contacts already chosen are not offered again.
        domain="[('id', 'child_of', commercial_partner_id), ('email', '!=', False), "
        "('id', 'not in', partner_ids)]",
        help="The customer's saved contacts that have an email address.",
    )
    other_emails = fields.Text(
        string="Other addresses",
        help="Addresses typed by hand, separated by commas, semicolons or line breaks.",
    )
    template_id = fields.Many2one(
        "mail.template",
        string="Email template",
        domain="[('model', '=', 'account.move')]",
        default=lambda self: self._courier_default_template(),
    )
    lang = fields.Char(string="Language", compute="_compute_lang")
    subject = fields.Char(compute="_compute_subject_body", store=True, readonly=False)
    body_html = fields.Html(
        string="Body",
        compute="_compute_subject_body",
        store=True,
        readonly=False,
        sanitize_style=True,
    )
    attachment_label = fields.Char(string="Attachment", compute="_compute_attachment_label")
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "courier_compose_ir_attachment_rel",
        "compose_id",
        "attachment_id",
        string="Other attachments",
        help="Files sent besides the invoice PDF: uploaded here, or already on the invoice.",
    )
    web_url = fields.Char(string="Web document", compute="_compute_web_url")
    address_warning = fields.Html(
        string="Addresses to check",
        compute="_compute_address_warning",
        help="Addresses that look mistyped or hard-bounced before. You can still send.",
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if (
            "move_id" in fields_list
            and not values.get("move_id")
            and context.get("active_model") == "account.move"
        ):
            active_ids = context.get("active_ids") or (
                [context["active_id"]] if context.get("active_id") else []
            )
            if active_ids:
                values["move_id"] = active_ids[0]
        return values

    @api.depends("move_id")
    def _compute_partner_ids(self):
        for wizard in self:
            wizard.partner_ids = self._courier_default_recipients(wizard.move_id)

    @api.depends("move_id", "template_id")
    def _compute_lang(self):
        for wizard in self:
            if wizard.template_id and wizard.move_id:
                wizard.lang = wizard.template_id._render_lang(wizard.move_id.ids)[wizard.move_id.id]
            else:
                wizard.lang = wizard.move_id.partner_id.lang or self.env.lang

    @api.depends("move_id", "template_id")
    def _compute_subject_body(self):
        for wizard in self:
            template, move = wizard.template_id, wizard.move_id
            if not template or not move:
                wizard.subject = wizard.subject or False
                wizard.body_html = wizard.body_html or False
                continue
            template = template.with_context(lang=wizard.lang)
            wizard.subject = template._render_field("subject", move.ids)[move.id]
            wizard.body_html = template._render_field(
                "body_html", move.ids, options={"post_process": True}
            )[move.id]

    @api.depends("move_id")
    def _compute_attachment_label(self):
        for wizard in self:
            if wizard.move_id.name and wizard.move_id.name != "/":
                filename = wizard.move_id._get_invoice_report_filename()
                if wizard.move_id.company_id.courier_link_only:
                    wizard.attachment_label = _(
                        "%(filename)s (not attached: the email carries the link to it)",
                        filename=filename,
                    )
                else:
                    wizard.attachment_label = _(
                        "%(filename)s (attached when sent)", filename=filename
                    )
            else:
                wizard.attachment_label = False

    @api.depends("move_id")
    def _compute_web_url(self):
        for wizard in self:
            move = wizard.move_id
            wizard.web_url = move.get_base_url() + move.get_portal_url() if move else False

    @api.depends("partner_ids.email", "other_emails")
    def _compute_address_warning(self):
        check = self.env["courier.address.check"]
        intro = _("Check these addresses before sending (you can still send):")
        for wizard in self:
            texts = [*wizard.partner_ids.mapped("email"), wizard.other_emails or ""]
            wizard.address_warning = check._courier_warnings_html(texts, intro)

    @api.constrains("other_emails")
    def _check_other_emails(self):
        for wizard in self:
            invalid = wizard._parse_other_emails()[1]
            if invalid:
                raise ValidationError(
                    _(
                        "These addresses are not valid email addresses: %(addresses)s",
                        addresses=", ".join(invalid),
                    )
                )

    def _parse_other_emails(self):
        """(normalized valid addresses without duplicates, invalid entries as typed)."""
        self.ensure_one()
        valid, invalid = [], []
        for entry in split_addresses(self.other_emails):
            normalized = normalize_strict(entry)
            if not normalized:
                invalid.append(entry)
            elif normalized not in valid:
                valid.append(normalized)
        return valid, invalid

    def _recipient_commands(self):
        """One creation command per distinct address: saved contacts first, then typed ones."""
        self.ensure_one()
        allowed = self.env["res.partner"].search(
            [("id", "child_of", self.move_id.commercial_partner_id.id)]
        )
        outsiders = self.partner_ids - allowed
        if outsiders:
            raise UserError(
                _(
                    "These contacts do not belong to the customer %(customer)s: %(contacts)s",
                    customer=self.move_id.commercial_partner_id.display_name,
                    contacts=", ".join(outsiders.mapped("display_name")),
                )
            )
        commands, seen = [], set()
        without_email = []
        for partner in self.partner_ids:
            email = normalize_strict(partner.email)
            if not email:
                without_email.append(partner.display_name)
                continue
            if email not in seen:
                seen.add(email)
                commands.append(self._courier_recipient_command(email, partner))
        if without_email:
            raise UserError(
                _(
                    "These contacts have no valid email address: %(contacts)s",
                    contacts=", ".join(without_email),
                )
            )
        valid, invalid = self._parse_other_emails()
        if invalid:
            raise UserError(
                _(
                    "These addresses are not valid email addresses: %(addresses)s",
                    addresses=", ".join(invalid),
                )
            )
        for email in valid:
            if email not in seen:
                seen.add(email)
                commands.append(self._courier_recipient_command(email))
        return commands

    def action_send(self):
        """Queue one courier.dispatch; courierd renders the PDF and sends it."""
        self.ensure_one()
        self._courier_check_sendable(self.move_id)
        commands = self._recipient_commands()
        if not commands:
            raise UserError(
                _("Add at least one recipient: pick a contact or type an email address.")
            )
        if not (self.subject or "").strip():
            raise UserError(_("The email needs a subject."))
        self.env["courier.dispatch"].create(
            self._courier_dispatch_vals(
                self.move_id, self.subject, self.body_html, commands, self.attachment_ids
            )
        )
        return {"type": "ir.actions.act_window_close"}
