# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 14, point 3: delivery statistics that accounting users find.

Recipients grouped by status, period, customer and sender (the graph and
pivot of Invoicing > Reporting > Email delivery); per customer the open rate,
the bounce rate and the addresses that bounced, each leading to the contact
to fix.
"""

from odoo import Command
from odoo.tests import tagged
from odoo.tests.common import new_test_user

from .contract_common import CourierCase


@tagged("post_install", "-at_install")
class TestDeliveryStats(CourierCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.acme = Partner.create({"name": "Acme Stats", "is_company": True})
        cls.anna = Partner.create(
            {"name": "Anna", "parent_id": cls.acme.id, "email": "anna@acme.example"}
        )
        cls.ben = Partner.create(
            {"name": "Ben", "parent_id": cls.acme.id, "email": "ben@acme.example"}
        )
        cls.zeta = Partner.create({"name": "Zeta Stats", "email": "zeta@zeta.example"})
        cls.alex = new_test_user(
            cls.env,
            login="courier_stats_alex",
            groups="base.group_user,account.group_account_invoice",
        )
        cls.sam = new_test_user(
            cls.env,
            login="courier_stats_sam",
            groups="base.group_user,account.group_account_invoice",
        )

    def _sent(self, partner, recipients, sender, when):
        """A transmitted send of a new invoice of `partner` to `recipients` (contacts)."""
        move = self.init_invoice("out_invoice", partner=partner, amounts=[100.0], post=True)
        dispatch = (
            self.env["courier.dispatch"]
            .sudo()
            .create(
                {
                    "move_id": move.id,
                    "subject": f"Invoice {move.name}",
                    "body_html": "<p>Invoice</p>",
                    "requested_by_id": sender.id,
                    "recipient_ids": [
                        Command.create(
                            {"email": contact.email, "name": contact.name, "partner_id": contact.id}
                        )
                        for contact in recipients
                    ],
                }
            )
        )
        dispatch.sudo().queued_at = when  # the period it counts in
        self.claim()
        self.transmit(dispatch)
        return dispatch

    def _ingest(self, dispatch, email, *types, detail=None):
        """Events of `dispatch` to `email`, a minute apart from its send's day on."""
        recipient = dispatch.recipient_ids.filtered(lambda r: r.email == email)
        day = dispatch.queued_at.strftime("%Y-%m-%d")
        self.ingest(
            [
                self.event(recipient, type_, f"{day}T10:0{index}:00Z", detail=detail)
                for index, type_ in enumerate(types)
            ]
        )

    def _scenario(self):
        first = self._sent(self.acme, self.anna | self.ben, self.alex, "2026-10-05 09:00:00")
        self._ingest(first, "anna@acme.example", "delivered", "opened")
        self._ingest(first, "ben@acme.example", "bounced", detail="hard bounce: user unknown")
        second = self._sent(self.acme, self.ben, self.sam, "2026-11-05 09:00:00")
        self._ingest(second, "ben@acme.example", "bounced", detail="hard bounce: mailbox closed")
        third = self._sent(self.zeta, self.zeta, self.sam, "2026-11-06 09:00:00")
        self._ingest(third, "zeta@zeta.example", "delivered", "opened", "clicked")
        # Not yet sent: not in the rates.
        self.make_dispatch(
            self.init_invoice("out_invoice", partner=self.acme, amounts=[1.0], post=True),
            emails=("anna@acme.example",),
        )
        return first, second, third

    def test_recipients_grouped_by_status_period_customer_and_sender(self):
        self._scenario()
        Recipient = self.env["courier.recipient"].with_user(self.alex)
        mine = [("customer_id", "in", (self.acme | self.zeta).ids)]
        by_status = dict(Recipient._read_group(mine, ["status"], ["__count"]))
        self.assertEqual(by_status, {"opened": 1, "bounced": 2, "clicked": 1, "queued": 1})
        by_customer = dict(Recipient._read_group(mine, ["customer_id"], ["__count"]))
        self.assertEqual(by_customer, {self.acme: 4, self.zeta: 1})
        by_sender = dict(
            Recipient._read_group(
                [*mine, ("dispatch_state", "=", "transmitted")], ["requested_by_id"], ["__count"]
            )
        )
        self.assertEqual(by_sender, {self.alex: 2, self.sam: 2})
        by_month = Recipient._read_group(
            [*mine, ("dispatch_state", "=", "transmitted")], ["queued_at:month"], ["__count"]
        )
        self.assertEqual([(month.month, count) for month, count in by_month], [(10, 2), (11, 2)])

    def test_open_rate_bounce_rate_and_bounced_addresses_per_customer(self):
        self._scenario()
        Stats = self.env["courier.customer.stats"].with_user(self.alex)
        acme = Stats.search([("customer_id", "=", self.acme.id)])
        self.assertEqual(len(acme), 1)
        self.assertEqual(acme.sent_count, 3, "the queued send is not counted")
        self.assertEqual(acme.opened_count, 1)
        self.assertEqual(acme.bounced_count, 2)
        self.assertAlmostEqual(acme.open_rate, 1 / 3)
        self.assertAlmostEqual(acme.bounce_rate, 2 / 3)
        self.assertEqual(acme.bounced_emails, "ben@acme.example")
        zeta = Stats.search([("customer_id", "=", self.zeta.id)])
        self.assertEqual((zeta.sent_count, zeta.opened_count, zeta.bounced_count), (1, 1, 0))
        self.assertEqual((zeta.open_rate, zeta.bounce_rate), (1.0, 0.0))
        self.assertFalse(zeta.bounced_emails)
        self.assertEqual(acme.action_open_customer()["res_id"], self.acme.id)

        [bounced] = acme.bounced_address_ids
        self.assertEqual(bounced.email, "ben@acme.example")
        self.assertEqual(bounced.bounce_count, 2)
        self.assertEqual(bounced.error_text, "hard bounce: mailbox closed", "the latest")
        self.assertEqual(bounced.partner_id, self.ben)
        self.assertTrue(bounced.still_used)
        action = bounced.action_open_contact()
        self.assertEqual((action["res_model"], action["res_id"]), ("res.partner", self.ben.id))

    def test_fixing_the_contact_shows_as_fixed(self):
        self._scenario()
        self.ben.email = "ben.new@acme.example"
        bounced = self.env["courier.bounced.address"].search([("email", "=", "ben@acme.example")])
        self.assertFalse(bounced.still_used)
        self.assertEqual(bounced.action_open_contact()["res_id"], self.ben.id)

    def test_accounting_users_find_the_menu_and_other_companies_see_nothing(self):
        self._scenario()
        menus = self.env["ir.ui.menu"].with_user(self.alex)._visible_menu_ids()
        for xmlid in (
            "account.menu_finance_reports",
            "invoice_courier.menu_courier_reporting",
            "invoice_courier.menu_courier_delivery_stats",
            "invoice_courier.menu_courier_customer_stats",
            "invoice_courier.menu_courier_bounced_address",
        ):
            self.assertIn(self.env.ref(xmlid).id, menus, xmlid)
        action = self.env.ref("invoice_courier.action_courier_delivery_stats")
        self.assertEqual(action.view_mode.split(",")[:2], ["graph", "pivot"])
        views = (
            self.env["courier.recipient"]
            .with_user(self.alex)
            .get_views([(False, "graph"), (False, "pivot")])["views"]
        )
        self.assertIn("queued_at", views["graph"]["arch"])
        self.assertIn("customer_id", views["pivot"]["arch"])

        company_b = self.setup_other_company()["company"]
        user_b = new_test_user(
            self.env,
            login="courier_stats_b",
            groups="base.group_user,account.group_account_invoice",
            company_id=company_b.id,
            company_ids=[Command.set(company_b.ids)],
        )
        for model in ("courier.customer.stats", "courier.bounced.address"):
            self.assertFalse(self.env[model].with_user(user_b).search([]), model)
