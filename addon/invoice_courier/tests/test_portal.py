# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.fields import Command
from odoo.tests import tagged

from ..controllers.portal import ODOO_LINK_PREVIEW_AGENT


@tagged("post_install", "-at_install")
class TestPortalView(AccountTestInvoicingHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create(
            {"name": "Portal Customer", "email": "portal@customer.example"}
        )
        cls.invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.customer.id,
                "invoice_date": "2026-11-27",
                "invoice_line_ids": [
                    Command.create({"name": "Service", "quantity": 1, "price_unit": 100.0})
                ],
            }
        )
        cls.invoice.action_post()
        cls.accountant = mail_new_test_user(
            cls.env,
            login="courier_accountant",
            password="courier_accountant",
            groups="base.group_user,account.group_account_invoice",
            company_id=cls.env.company.id,
            company_ids=[Command.set(cls.env.company.ids)],
        )

    def _viewed_events(self):
        return self.env["courier.event"].search(
            [("move_id", "=", self.invoice.id), ("type", "=", "viewed")]
        )

    def test_customer_with_the_link_makes_it_viewed(self):
        url = self.invoice.get_portal_url()
        response = self.url_open(url, headers={"User-Agent": "CourierTest/1.0 (customer)"})
        self.assertEqual(response.status_code, 200)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.courier_state, "viewed")
        self.assertTrue(self.invoice.courier_viewed_at)
        event = self._viewed_events()
        self.assertEqual(len(event), 1)
        self.assertEqual(event.source, "portal")
        self.assertEqual(event.user_agent, "CourierTest/1.0 (customer)")
        self.assertIn(f"/my/invoices/{self.invoice.id}", event.url)

    def test_portal_user_on_own_invoice_makes_it_viewed(self):
        portal_user = mail_new_test_user(
            self.env, login="courier_portal", password="courier_portal", groups="base.group_portal"
        )
        invoice = self.invoice.copy(
            {"partner_id": portal_user.partner_id.id, "invoice_date": "2026-11-27"}
        )
        invoice.action_post()
        self.authenticate("courier_portal", "courier_portal")
        response = self.url_open(f"/my/invoices/{invoice.id}")
        self.assertEqual(response.status_code, 200)
        invoice.invalidate_recordset()
        self.assertEqual(invoice.courier_state, "viewed")
        self.assertEqual(self.invoice.courier_state, "not_sent", "only the visited invoice")

    def test_embedded_preview_does_not_count_twice(self):
        self.url_open(self.invoice.get_portal_url(report_type="html"))
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.courier_state, "not_sent")
        self.assertFalse(self._viewed_events())

    def test_wrong_token_changes_nothing(self):
        response = self.url_open(
            f"/my/invoices/{self.invoice.id}?access_token=not-the-token", allow_redirects=False
        )
        self.assertIn(response.status_code, (302, 303))
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.courier_state, "not_sent")
        self.assertFalse(self._viewed_events())

    def test_odoo_link_previews_do_not_count(self):
        """The editor previews the email's link (Odoo fetches the page): no customer's view."""
        url = self.invoice.get_portal_url()
        odoo_18 = {"User-Agent": ODOO_LINK_PREVIEW_AGENT}
        odoo_19 = {**odoo_18, "Odoo-Link-Preview": "True"}
        for headers in (odoo_18, odoo_19):
            self.assertEqual(self.url_open(url, headers=headers).status_code, 200)
        self.invoice.invalidate_recordset()
        self.assertFalse(self._viewed_events())
        self.assertEqual(self.invoice.courier_state, "not_sent")

    def test_internal_user_preview_does_not_count(self):
        self.authenticate("courier_accountant", "courier_accountant")
        response = self.url_open(self.invoice.get_portal_url())
        self.assertEqual(response.status_code, 200)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.courier_state, "not_sent")
        self.assertFalse(self.invoice.courier_viewed_at)
        self.assertFalse(self._viewed_events())

    def test_event_url_is_the_configured_base_url_not_the_host_header(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "web.base.url", "https://erp.courier.example"
        )
        url = self.invoice.get_portal_url()
        response = self.url_open(url, headers={"Host": "evil.example", "User-Agent": "CourierTest"})
        self.assertEqual(response.status_code, 200)
        event = self._viewed_events()
        self.assertEqual(len(event), 1)
        self.assertEqual(event.url, f"https://erp.courier.example/my/invoices/{self.invoice.id}")
        self.assertNotIn("access_token", event.url, "the token stays out of the history")

    def test_repeated_visits_of_one_holder_are_one_event(self):
        url = self.invoice.get_portal_url()
        for _visit in range(3):
            self.url_open(url, headers={"User-Agent": "CourierTest/1.0 (reloading)"})
        self.assertEqual(len(self._viewed_events()), 1)
        # Another browser holding the same link is another visit.
        self.url_open(url, headers={"User-Agent": "CourierTest/1.0 (colleague)"})
        self.assertEqual(len(self._viewed_events()), 2)
