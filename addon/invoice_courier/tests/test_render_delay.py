# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The shorter wkhtmltopdf wait of the renders Invoice Courier asks for."""

from unittest.mock import patch

from odoo.tests import tagged

from ..models.ir_actions_report import DELAY_ARG
from .contract_common import CourierCase


@tagged("post_install", "-at_install")
class TestRenderDelay(CourierCase):
    def _delay(self, **context):
        args = (
            self.env["ir.actions.report"]
            .with_context(**context)
            ._build_wkhtmltopdf_args(self.env.company.paperformat_id, False)
        )
        return args[args.index(DELAY_ARG) + 1]

    def test_courier_renders_wait_a_tenth_of_a_second(self):
        self.env["ir.config_parameter"].sudo().set_param("report.print_delay", False)
        self.assertEqual(self._delay(), "1000", "Odoo's own renders keep Odoo's wait")
        self.assertEqual(self._delay(courier_render=True), "100")
        self.env["ir.config_parameter"].sudo().set_param("invoice_courier.print_delay", "250")
        self.assertEqual(self._delay(courier_render=True), "250")

    def test_an_administrators_report_print_delay_stands(self):
        self.env["ir.config_parameter"].sudo().set_param("report.print_delay", "1500")
        self.assertEqual(self._delay(courier_render=True), "1500")

    def test_the_daemons_render_asks_for_the_shorter_wait(self):
        move = self.make_invoice()
        sender_class = type(self.env["account.move.send"])
        original = sender_class._generate_invoice_documents
        contexts = []

        def capture(sender, invoices_data, *args, **kwargs):
            contexts.append(dict(sender.env.context))
            return original(sender, invoices_data, *args, **kwargs)

        with patch.object(sender_class, "_generate_invoice_documents", capture):
            move._courier_ensure_pdf()
        self.assertTrue(contexts and all(c.get("courier_render") for c in contexts))
