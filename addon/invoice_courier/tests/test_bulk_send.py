# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import tagged


@tagged("post_install", "-at_install")
class TestBulkSend(AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        Partner = cls.env["res.partner"]
        cls.english = Partner.create(
            {"name": "English Ltd", "email": "ap@english.example", "lang": "en_US"}
        )
        cls.french = Partner.create(
            {"name": "Française SA", "email": "compta@francaise.example", "lang": "fr_FR"}
        )
        cls.no_email = Partner.create({"name": "Silent Corp", "email": False})

    @classmethod
    def _invoices(cls, partner, count=1, move_type="out_invoice", post=True):
        moves = cls.env["account.move"].create(
            [
                {
                    "move_type": move_type,
                    "partner_id": partner.id,
                    "invoice_date": "2026-11-27",
                    "invoice_line_ids": [
                        Command.create({"name": "Service", "quantity": 1, "price_unit": 100.0 + i})
                    ],
                }
                for i in range(count)
            ]
        )
        if post:
            moves.action_post()
        return moves

    def _open(self, moves):
        action = self.env["courier.bulk.send"].action_open_for(moves)
        self.assertEqual(action["res_model"], "courier.bulk.send")
        self.assertEqual(action["target"], "new")
        return self.env["courier.bulk.send"].browse(action["res_id"])

    def test_mixed_selection(self):
        sendable = self._invoices(self.english, 3) | self._invoices(self.french, 2, "out_refund")
        draft = self._invoices(self.english, post=False)
        cancelled = self._invoices(self.english, post=False)
        cancelled.button_cancel()
        bill = self._invoices(self.english, move_type="in_invoice")
        silent = self._invoices(self.no_email)

        wizard = self._open(sendable | draft | cancelled | bill | silent)
        self.assertEqual(wizard.ready_count, 5)
        self.assertEqual(wizard.skipped_count, 4)
        self.assertFalse(
            self.env["courier.dispatch"].search([("move_id", "in", sendable.ids)]),
            "opening queues nothing",
        )

        action = wizard.action_send()
        self.assertEqual(action["res_id"], wizard.id, "the same window shows the summary")
        self.assertEqual(wizard.state, "done")
        self.assertEqual(wizard.queued_move_ids, sendable)
        self.assertEqual(wizard.queued_count, 5)
        self.assertEqual(wizard.result_skipped_count, 4)
        summary = str(wizard.result_skipped_html)
        for move, reason in (
            (draft, "Draft"),
            (cancelled, "Cancelled"),
            (bill, "Not a customer invoice or credit note"),
            (silent, "has no email address"),
        ):
            self.assertIn(reason, summary)
            self.assertIn(move.display_name, summary)

        for move in sendable:
            dispatch = move.courier_dispatch_ids
            self.assertEqual(len(dispatch), 1)
            self.assertEqual(dispatch.state, "queued")
            self.assertEqual(move.courier_state, "queued")
            self.assertEqual(dispatch.recipient_ids.partner_id, move.partner_id)
            self.assertEqual(dispatch.recipient_ids.email, move.partner_id.email)
            self.assertIn(move.name, dispatch.subject)
            self.assertIn(move.get_portal_url().replace("&", "&amp;"), dispatch.body_html)
        for move in draft | cancelled | bill | silent:
            self.assertFalse(move.courier_dispatch_ids)
            self.assertEqual(move.courier_state, "not_sent")

    def test_many_invoices_render_no_pdf_and_template_once_per_language(self):
        moves = self._invoices(self.english, 40) | self._invoices(self.french, 40)
        report_class = type(self.env["ir.actions.report"])

        def no_pdf(*args, **kwargs):
            raise AssertionError("a PDF was rendered during the click")

        template_class = type(self.env["mail.template"])
        original_render_field = template_class._render_field
        rendered_fields = []

        def counting_render_field(template, field, res_ids, *args, **kwargs):
            rendered_fields.append((field, template.env.lang, len(res_ids)))
            return original_render_field(template, field, res_ids, *args, **kwargs)

        qweb_class = type(self.env["ir.qweb"])
        original_render = qweb_class._render
        compiled = []

        def counting_render(qweb, template, *args, **kwargs):
            # A template given as source (not a stored view) is compiled at each render.
            if not isinstance(template, int | str):
                compiled.append(template)
            return original_render(qweb, template, *args, **kwargs)

        self.patch(report_class, "_render_qweb_pdf", no_pdf)
        self.patch(report_class, "_render_qweb_pdf_prepare_streams", no_pdf)
        self.patch(template_class, "_render_field", counting_render_field)
        self.patch(qweb_class, "_render", counting_render)

        wizard = self._open(moves)
        wizard.action_send()

        self.assertEqual(wizard.queued_count, 80)
        self.assertEqual(
            len(self.env["courier.dispatch"].search([("move_id", "in", moves.ids)])), 80
        )
        self.assertFalse(moves.invoice_pdf_report_id)
        self.assertCountEqual(rendered_fields, [("subject", "en_US", 40), ("subject", "fr_FR", 40)])
        self.assertEqual(
            len(compiled), 2, "the body is compiled once per language, not once per invoice"
        )

    def test_batch_body_is_what_the_template_renders(self):
        moves = self._invoices(self.english, 2) | self._invoices(self.french, 1, "out_refund")
        wizard = self._open(moves)
        wizard.action_send()
        template = self.env.ref("invoice_courier.mail_template_courier_invoice")
        for move in moves:
            lang = template._render_lang(move.ids)[move.id]
            expected = template.with_context(lang=lang)._render_field(
                "body_html", move.ids, options={"post_process": True}
            )[move.id]
            dispatch = move.courier_dispatch_ids
            self.assertEqual(
                dispatch.body_html,
                self.env["courier.dispatch"]
                ._fields["body_html"]
                .convert_to_cache(expected, dispatch),
            )
            self.assertIn(move.partner_id.name, dispatch.body_html)

    def test_billing_user_can_bulk_send(self):
        billing_user = mail_new_test_user(
            self.env,
            login="courier_billing",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.env.company.id,
            company_ids=[Command.set(self.env.company.ids)],
        )
        moves = self._invoices(self.english, 2) | self._invoices(self.french, 1)
        Wizard = self.env["courier.bulk.send"].with_user(billing_user)
        wizard = Wizard.browse(Wizard.action_open_for(moves.with_user(billing_user))["res_id"])
        wizard.action_send()
        self.assertEqual(wizard.queued_count, 3)
        self.assertEqual(set(moves.mapped("courier_state")), {"queued"})
        self.assertEqual(moves.courier_dispatch_ids.requested_by_id, billing_user)

    def test_broken_template_names_the_document(self):
        # Broken for invoices made from now on only: Odoo 19 checks a template on
        # write by rendering it for one existing document, which must pass.
        last = self.env["account.move"].search([], order="id desc", limit=1).id or 0
        template = self.env.ref("invoice_courier.mail_template_courier_invoice")
        template.body_html = (
            f'<p t-out="object.name if object.id &lt;= {last} else '
            'format_amount(object.no_such_field, object.currency_id)"/>'
        )
        move = self._invoices(self.english)
        wizard = self._open(move)
        with self.assertRaisesRegex(UserError, move.name):
            wizard.action_send()
        self.assertFalse(move.courier_dispatch_ids)
