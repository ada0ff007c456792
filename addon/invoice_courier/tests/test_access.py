# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tests.common import new_test_user

from .contract_common import CourierCase


@tagged("post_install", "-at_install")
class TestDaemonAccess(CourierCase):
    def test_daemon_group_has_no_access_right(self):
        group = self.env.ref("invoice_courier.group_courier_daemon")
        self.assertFalse(self.env["ir.model.access"].search([("group_id", "=", group.id)]))
        self.assertFalse(group.implied_ids)
        self.assertFalse(self.daemon_user._is_internal())

    def test_daemon_calls_the_contract(self):
        dispatch = self.make_dispatch()
        [payload] = self.claim()
        self.assertEqual(payload["id"], dispatch.id)
        self.assertTrue(
            self.as_daemon("courier.dispatch").courier_render_pdf(dispatch.id)["base64"]
        )
        self.assertEqual(self.transmit(dispatch)["transmitted"], 1)
        recipient = dispatch.recipient_ids
        event = self.event(recipient, "delivered", "2026-11-27T08:16:00Z")
        self.assertEqual(self.ingest([event])["created"], 1)
        tracking = self.as_daemon("courier.recipient").courier_open_tracking(10, 30)
        self.assertEqual([row["recipient_id"] for row in tracking], [recipient.id])

    def test_daemon_reads_nothing_else(self):
        dispatch = self.make_dispatch()
        for model, record in (
            ("res.partner", self.partner_a),
            ("account.move", dispatch.move_id),
            ("courier.dispatch", dispatch),
            ("courier.recipient", dispatch.recipient_ids),
        ):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.daemon_user).browse(record.id).read(["display_name"])
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.daemon_user).search([])
        with self.assertRaises(AccessError):
            self.as_daemon("courier.dispatch").create(
                {"move_id": dispatch.move_id.id, "subject": "x"}
            )

    def test_system_administrator_may_call_the_contract(self):
        dispatch = self.make_dispatch()
        admin = self.env.ref("base.user_admin")
        claimed = self.env["courier.dispatch"].with_user(admin).courier_claim("admin", 10, 60)
        self.assertEqual([payload["id"] for payload in claimed], [dispatch.id])

    def test_other_users_cannot_call_the_contract(self):
        accountant = new_test_user(
            self.env,
            login="courier_accountant",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.env.company.id,
        )
        for model, method, args in (
            ("courier.dispatch", "courier_claim", ("w", 1, 60)),
            ("courier.dispatch", "courier_report", ([],)),
            ("courier.dispatch", "courier_render_pdf", (1,)),
            ("courier.dispatch", "courier_render_pdfs", ([1],)),
            ("courier.event", "courier_ingest", ([],)),
            ("courier.recipient", "courier_open_tracking", (10, 30)),
        ):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(self.env[model].with_user(accountant), method)(*args)

    def test_accountant_sends_and_reads_history(self):
        accountant = new_test_user(
            self.env,
            login="courier_accountant2",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.env.company.id,
        )
        move = self.make_invoice()
        dispatch = (
            self.env["courier.dispatch"]
            .with_user(accountant)
            .create(
                {
                    "move_id": move.id,
                    "subject": "Invoice",
                    "body_html": "<p>Hi</p>",
                    "recipient_ids": [Command.create({"email": "anna@customer.example"})],
                }
            )
        )
        self.assertEqual(dispatch.requested_by_id, accountant)
        self.assertEqual(move.with_user(accountant).courier_dispatch_ids, dispatch)
        self.assertEqual(move.with_user(accountant).courier_state, "queued")


@tagged("post_install", "-at_install")
class TestMultiCompany(CourierCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company()
        cls.company_2 = cls.company_data_2["company"]
        cls.company_2.courier_sender_email = "billing@two.example"

    def test_users_see_their_companies_sends_only(self):
        mine = self.make_dispatch()
        theirs = self.make_dispatch(self.make_invoice(company=self.company_2))
        self.assertEqual(theirs.company_id, self.company_2)
        self.assertEqual(theirs.sender_email, "billing@two.example")
        accountant = new_test_user(
            self.env,
            login="courier_accountant_c1",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.env.company.id,
            company_ids=[Command.set(self.env.company.ids)],
        )
        for everything, visible_part in (
            (mine + theirs, mine),
            ((mine + theirs).recipient_ids, mine.recipient_ids),
        ):
            visible = everything.with_user(accountant).search([("id", "in", everything.ids)])
            self.assertEqual(visible.ids, visible_part.ids)
        with self.assertRaises(AccessError):
            theirs.with_user(accountant).read(["subject"])

    def test_render_pdfs_across_companies(self):
        mine = self.make_dispatch()
        theirs = self.make_dispatch(self.make_invoice(company=self.company_2))
        self.claim()
        results = self.as_daemon("courier.dispatch").courier_render_pdfs([mine.id, theirs.id])
        for dispatch in (mine, theirs):
            self.assertEqual(
                results[str(dispatch.id)]["filename"],
                dispatch.move_id._get_invoice_report_filename(),
            )
            self.assertTrue(dispatch.move_id.invoice_pdf_report_id)

    def test_daemon_serves_every_company(self):
        mine = self.make_dispatch()
        theirs = self.make_dispatch(self.make_invoice(company=self.company_2))
        claimed = {payload["id"]: payload for payload in self.claim()}
        self.assertEqual(set(claimed), {mine.id, theirs.id})
        self.assertEqual(claimed[theirs.id]["company_id"], self.company_2.id)
        self.assertEqual(claimed[theirs.id]["sender"]["email"], "billing@two.example")
