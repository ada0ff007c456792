from markupsafe import Markup
from odoo import _, api, fields, models
from odoo.fields import Command
from odoo.tools import email_normalize

from .courier_compose import CUSTOMER_MOVE_TYPES, TEMPLATE_XMLID


class CourierBulkSend(models.TransientModel):
    """Queue one dispatch per selected invoice, rendering nothing but the template.

    The click must return in about a second for hundreds of invoices, so the
    PDFs are left to courierd (rendered in parallel when it claims the
    dispatches) and the template is rendered in one batch per language.
    """

    _name = "courier.bulk.send"
    _description = "Send several invoices by email"

    move_ids = fields.Many2many(
        "account.move",
        "courier_bulk_send_move_rel",
        "wizard_id",
        "move_id",
        string="Selected invoices",
    )
    template_id = fields.Many2one(
        "mail.template",
        string="Email template",
        domain="[('model', '=', 'account.move')]",
        default=lambda self: self.env.ref(TEMPLATE_XMLID, raise_if_not_found=False),
    )
    state = fields.Selection(
        [("draft", "To send"), ("done", "Queued")], string="Step", default="draft", required=True
    )
    ready_count = fields.Integer(string="Ready to send", compute="_compute_preview")
    skipped_count = fields.Integer(string="Skipped", compute="_compute_preview")
    skipped_html = fields.Html(
        string="Skipped invoices", compute="_compute_preview", sanitize=False
    )
    queued_move_ids = fields.Many2many(
        "account.move",
        "courier_bulk_send_queued_rel",
        "wizard_id",
        "move_id",
        string="Queued invoices",
    )
    queued_count = fields.Integer(string="Queued", compute="_compute_queued_count")
    result_skipped_html = fields.Html(string="Skipped", sanitize=False, readonly=True)
    result_skipped_count = fields.Integer(string="Skipped invoices", readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if (
            "move_ids" in fields_list
            and not values.get("move_ids")
            and context.get("active_model") == "account.move"
        ):
            values["move_ids"] = [Command.set(context.get("active_ids") or [])]
        return values

    @api.model
    def action_open_for(self, moves):
        """The server action's entry point: the window listing what will be sent and skipped."""
        wizard = self.create({"move_ids": [Command.set(moves.ids)]})
        return wizard._action_reopen()

    def _action_reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Send by email"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    @api.model
    def _skip_reason(self, move):
        """Why a move cannot be queued, or False when it can."""
        if move.move_type not in CUSTOMER_MOVE_TYPES:
            return _("Not a customer invoice or credit note")
        if move.state == "cancel":
            return _("Cancelled")
        if move.state == "draft":
            return _("Draft")
        if not email_normalize(move.partner_id.email or ""):
            return _(
                "The customer %(customer)s has no email address",
                customer=move.partner_id.display_name or "-",
            )
        return False

    @api.model
    def _split(self, moves):
        """(sendable moves, [(move, reason)] of the skipped ones)."""
        sendable = self.env["account.move"]
        skipped = []
        for move in moves:
            reason = self._skip_reason(move)
            if reason:
                skipped.append((move, reason))
            else:
                sendable |= move
        return sendable, skipped

    @api.model
    def _skipped_table(self, skipped):
        if not skipped:
            return False
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>")
            % (move.display_name, move.partner_id.display_name or "", reason)
            for move, reason in skipped
        )
        header = Markup("<tr><th>%s</th><th>%s</th><th>%s</th></tr>") % (
            _("Document"),
            _("Customer"),
            _("Reason"),
        )
        table = '<table class="table table-sm o_courier_skipped">%s</table>'
        return Markup(table) % (Markup("<thead>%s</thead><tbody>%s</tbody>") % (header, rows))

    @api.depends("move_ids")
    def _compute_preview(self):
        for wizard in self:
            sendable, skipped = self._split(wizard.move_ids)
            wizard.ready_count = len(sendable)
            wizard.skipped_count = len(skipped)
            wizard.skipped_html = self._skipped_table(skipped)

    @api.depends("queued_move_ids")
    def _compute_queued_count(self):
        for wizard in self:
            wizard.queued_count = len(wizard.queued_move_ids)

    def _render_per_lang(self, moves):
        """{move id: (subject, body)} rendered in one batch per customer language."""
        self.ensure_one()
        template = self.template_id
        rendered = {}
        if not template:
            return {move.id: (move.display_name, False) for move in moves}
        for _lang, (lang_template, res_ids) in template._classify_per_lang(moves.ids).items():
            subjects = lang_template._render_field("subject", res_ids)
            bodies = lang_template._render_field(
                "body_html", res_ids, options={"post_process": True}
            )
            for res_id in res_ids:
                rendered[res_id] = (subjects[res_id], bodies[res_id])
        return rendered

    def _queue(self):
        """Create the dispatches; returns (queued moves, [(move, reason)] skipped)."""
        self.ensure_one()
        sendable, skipped = self._split(self.move_ids)
        if not sendable:
            return sendable, skipped
        # Tokens first, in one pass: the template's portal link would otherwise
        # write them one at a time while rendering.
        for move in sendable.filtered(lambda m: not m.access_token):
            move._portal_ensure_token()
        rendered = self._render_per_lang(sendable)
        vals_list = []
        for move in sendable:
            subject, body = rendered[move.id]
            partner = move.partner_id
            vals_list.append(
                {
                    "move_id": move.id,
                    "subject": subject,
                    "body_html": body,
                    "recipient_ids": [
                        Command.create(
                            {
                                "partner_id": partner.id,
                                "email": email_normalize(partner.email),
                                "name": partner.name,
                            }
                        )
                    ],
                }
            )
        self.env["courier.dispatch"].create(vals_list)
        return sendable, skipped

    def action_send(self):
        self.ensure_one()
        queued, skipped = self._queue()
        self.write(
            {
                "state": "done",
                "queued_move_ids": [Command.set(queued.ids)],
                "result_skipped_html": self._skipped_table(skipped),
                "result_skipped_count": len(skipped),
            }
        )
        return self._action_reopen()

    def action_open_queued(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Queued invoices"),
            "res_model": "account.move",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", self.queued_move_ids.ids)],
        }
