# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Link-only sends: the company's "Send the link only" (default off)."""

from odoo.tests import tagged

from .contract_common import CourierCase


@tagged("post_install", "-at_install")
class TestLinkOnly(CourierCase):
    def setUp(self):
        super().setUp()
        self.env.company.courier_link_only = True

    def test_off_by_default(self):
        company = self.env["res.company"].create({"name": "Fresh Co"})
        self.assertFalse(company.courier_link_only)

    def test_a_send_carries_the_link_and_no_pdf_even_when_one_is_stored(self):
        move = self.make_invoice()
        move._courier_ensure_pdf()
        self.assertTrue(move.invoice_pdf_report_id)
        dispatch = self.make_dispatch(
            move, body_html=f'<p>Here it is: <a href="{self._web_url(move)}">online</a></p>'
        )
        self.assertTrue(dispatch.link_only)

        [payload] = self.claim()

        self.assertIs(payload["link_only"], True)
        self.assertIs(payload["pdf_pending"], False)
        self.assertEqual(payload["attachments"], [])
        self.assertIn(dispatch.web_url, payload["html"])

    def test_a_body_without_the_link_gets_it_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(
            ["invoice_courier"], ["fr_FR"], overwrite=True
        )
        self.partner_a.lang = "fr_FR"
        move = self.make_invoice()
        dispatch = self.make_dispatch(move)  # its body has no link

        self.assertIn(f'href="{dispatch.web_url}"', dispatch.body_html)
        self.assertIn(f"Consultez et téléchargez {move.name} en ligne", dispatch.body_html)
        [payload] = self.claim()
        self.assertIn(dispatch.web_url, payload["text"])

    def test_pdf_attachment_sends_go_on_when_the_setting_is_off(self):
        self.env.company.courier_link_only = False
        dispatch = self.make_dispatch()
        self.assertFalse(dispatch.link_only)
        [payload] = self.claim()
        self.assertIs(payload["link_only"], False)
        self.assertIs(payload["pdf_pending"], True)

    def test_the_compose_window_says_the_pdf_is_not_attached(self):
        move = self.make_invoice()
        compose = self.env["courier.compose"].create({"move_id": move.id})
        self.assertIn("not attached", compose.attachment_label)

    def _web_url(self, move):
        return move.get_base_url() + move.get_portal_url()
