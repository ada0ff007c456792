# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import secrets

from markupsafe import Markup
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tools import SQL

from ..tools.email_address import normalize_strict


class CourierBulkSend(models.TransientModel):
    """Queue one dispatch per selected invoice, rendering nothing but the template.

    The click must return in about a second for hundreds of invoices, so the
    PDFs are left to courierd (rendered in parallel when it claims the
    dispatches) and the template is rendered in one batch per language.
    """

    _name = "courier.bulk.send"
    _inherit = "courier.send.base"
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
        default=lambda self: self._courier_default_template(),
    )
    state = fields.Selection(
        [("draft", "To send"), ("done", "Queued")], string="Step", default="draft", required=True
    )
    ready_count = fields.Integer(string="Ready to send", compute="_compute_preview")
    skipped_count = fields.Integer(string="To skip", compute="_compute_preview")
    skipped_html = fields.Html(string="Invoices to skip", compute="_compute_preview")
    address_warning = fields.Html(
        string="Addresses to check",
        compute="_compute_address_warning",
        help="Addresses that look mistyped or hard-bounced before. You can still send.",
    )
    queued_move_ids = fields.Many2many(
        "account.move",
        "courier_bulk_send_queued_rel",
        "wizard_id",
        "move_id",
        string="Queued invoices",
    )
    queued_count = fields.Integer(string="Queued", compute="_compute_queued_count")
    # Sanitized like every Html field: a caller could write it over RPC.
    result_skipped_html = fields.Html(string="Skipped invoices", readonly=True)
    result_skipped_count = fields.Integer(string="Skipped", readonly=True)

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
        blocker = self._courier_send_blocker(move)
        if blocker:
            return blocker[0]
        if not self._courier_default_recipients(move):
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

    @api.depends("move_ids")
    def _compute_address_warning(self):
        check = self.env["courier.address.check"]
        intro = _("Check these addresses before sending (you can still send):")
        for wizard in self:
            invoices_of = {}
            for move in self._split(wizard.move_ids)[0]:
                for partner in self._courier_default_recipients(move):
                    address = normalize_strict(partner.email)
                    invoices_of[address] = invoices_of.get(address, move.browse()) | move
            wizard.address_warning = check._courier_warnings_html(
                list(invoices_of),
                intro,
                where=lambda address, of=invoices_of: ", ".join(of[address].mapped("name")),
                normalized=True,
            )

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
            bodies = self._render_bodies(lang_template, res_ids)
            for res_id in res_ids:
                rendered[res_id] = (subjects[res_id], bodies[res_id])
        return rendered

    @api.model
    def _render_bodies(self, lang_template, res_ids):
        """{res id: body} of one language, in one QWeb render for all the records.

        mail.template._render_field("body_html") renders the QWeb source once
        per record, compiling it each time (about 30 ms): right for one
        invoice, 15 s for 500. Here the source goes inside a t-foreach over the
        records, each part between two markers (so the whitespace around the
        source stays, as in a render of it alone), and is rendered once through
        mail.render.mixin's own QWeb path (_render_template, what _render_field
        calls, in Odoo 18 and 19 alike: evaluation context, wrapper div). The
        output is cut at the markers and local links are made absolute, as
        _render_field does. mail.template renders unrestricted, so no sandbox
        option is lost.
        """
        source = lang_template.body_html
        model = lang_template.render_model
        if not source or not lang_template._has_unsafe_expression_template_qweb(source, model):
            # Odoo's regex path compiles nothing: nothing to save.
            return lang_template._render_field("body_html", res_ids, options={"post_process": True})
        records = self.env[model].browse(res_ids)
        marker = f"courier-body-{secrets.token_hex(8)}"
        batch = (
            '<t t-foreach="courier_records" t-as="object">'
            f'<t t-out="courier_marker"/>{source}<t t-out="courier_marker"/></t>'
        )
        try:
            [whole] = lang_template._render_template(
                batch,
                model,
                records[:1].ids,
                engine="qweb",
                add_context={"courier_records": records, "courier_marker": marker},
            ).values()
        except Exception as error:
            self._raise_render_error(lang_template, records, error)
        parts = str(whole).split(marker)[1::2]
        rendered = {
            record.id: Markup(part)  # QWeb's output, escaped as it renders
            for record, part in zip(records, parts, strict=True)
        }
        return lang_template._render_template_postprocess(model, rendered)

    @api.model
    def _raise_render_error(self, lang_template, records, error):
        """Name the template and the first document it cannot be rendered for."""
        for record in records:
            try:
                lang_template._render_template(
                    lang_template.body_html, lang_template.render_model, record.ids, engine="qweb"
                )
            except Exception as record_error:
                # Odoo wraps the template's own error in a UserError quoting the source.
                cause = record_error.__cause__ or record_error
                raise UserError(
                    _(
                        "The email template %(template)s could not be rendered for "
                        "%(document)s: %(error)s",
                        template=lang_template.display_name,
                        document=record.display_name,
                        error=cause,
                    )
                ) from record_error
        raise error

    @api.model
    def _ensure_access_tokens(self, moves):
        """Give every move its portal token in one statement.

        The template's link calls get_portal_url(), which writes a missing
        token through account.move.write one invoice at a time (about 100 ms
        each with the journal-line synchronisation it triggers).
        """
        missing = moves.filtered(lambda move: not move.access_token)
        if not missing:
            return
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET access_token = gen_random_uuid()::text"
                " WHERE id IN %s AND access_token IS NULL",
                tuple(missing.ids),
            )
        )
        missing.invalidate_recordset(["access_token"])

    def _queue(self):
        """Create the dispatches; returns (queued moves, [(move, reason)] skipped)."""
        self.ensure_one()
        sendable, skipped = self._split(self.move_ids)
        if not sendable:
            return sendable, skipped
        self._ensure_access_tokens(sendable)
        rendered = self._render_per_lang(sendable)
        vals_list = []
        for move in sendable:
            subject, body = rendered[move.id]
            commands = [
                self._courier_recipient_command(normalize_strict(partner.email), partner)
                for partner in self._courier_default_recipients(move)
            ]
            vals_list.append(self._courier_dispatch_vals(move, subject, body, commands))
        # Creating a dispatch writes the invoice's courier_state; through
        # account.move.write each write would also resynchronise and re-check
        # the journal lines (about 100 ms an invoice). Nothing here touches them.
        no_line_checks = {"skip_invoice_sync": True, "check_move_validity": False}
        self.env["courier.dispatch"].with_context(**no_line_checks).create(vals_list)
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
