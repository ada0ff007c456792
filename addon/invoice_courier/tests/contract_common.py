# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared setup for the contract, ranking and access tests (not a test module itself)."""

from odoo import Command
from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.tests.common import new_test_user

SENDER = "billing@courier.example"


class CourierCase(AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write(
            {"courier_sender_email": SENDER, "courier_sender_name": "Courier Test Co"}
        )
        cls.daemon_user = new_test_user(
            cls.env,
            login="courier_daemon_test",
            name="Courier daemon (test)",
            groups="invoice_courier.group_courier_daemon",
            company_id=cls.env.company.id,
        )
        cls.partner_a.email = "anna@customer.example"

    def make_invoice(self, move_type="out_invoice", post=True, company=False):
        return self.init_invoice(
            move_type, partner=self.partner_a, amounts=[100.0], post=post, company=company
        )

    def make_dispatch(self, move=None, emails=("anna@customer.example",), **vals):
        move = move or self.make_invoice()
        # As the system would (an import, a fixture): `vals` may set what users may not.
        return (
            self.env["courier.dispatch"]
            .sudo()
            .create(
                {
                    "move_id": move.id,
                    "subject": f"Invoice {move.name}",
                    "body_html": f"<p>Dear customer,</p><p>here is <b>{move.name}</b>.</p>",
                    "recipient_ids": [
                        Command.create({"email": email, "name": email.split("@")[0]})
                        for email in emails
                    ],
                    **vals,
                }
            )
            .sudo(False)
        )

    def as_daemon(self, model):
        return self.env[model].with_user(self.daemon_user)

    def claim(self, worker="worker-1", limit=10, lease=300):
        return self.as_daemon("courier.dispatch").courier_claim(worker, limit, lease)

    def report(self, results):
        return self.as_daemon("courier.dispatch").courier_report(results)

    def ingest(self, events):
        return self.as_daemon("courier.event").courier_ingest(events)

    def transmit(self, dispatch, time="2026-11-27T08:15:02Z"):
        """Report `dispatch` transmitted, one MessageID per recipient."""
        return self.report(
            [
                {
                    "id": dispatch.id,
                    "custom_id": dispatch.custom_id,
                    "outcome": "transmitted",
                    "time": time,
                    "recipients": [
                        {
                            "email": recipient.email,
                            "message_id": str(1152921504606846976 + recipient.id),
                            "message_uuid": f"uuid-{recipient.id}",
                        }
                        for recipient in dispatch.recipient_ids
                    ],
                }
            ]
        )

    @staticmethod
    def event(recipient, type_, time, key=None, **extra):
        return {
            "dedupe_key": key or f"mj:{type_}:{recipient.message_id}:{time}",
            "type": type_,
            "time": time,
            "source": "mailjet_webhook",
            "message_id": recipient.message_id,
            "custom_id": recipient.dispatch_id.custom_id,
            "email": recipient.email,
            **extra,
        }
