# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import Form, tagged

from .contract_common import CourierCase


@tagged("post_install", "-at_install")
class TestEmailHistory(CourierCase):
    """The invoice's Email history: every send, each recipient's status and time."""

    def test_every_recipient_of_every_send_with_its_status(self):
        move = self.make_invoice()
        first = self.make_dispatch(move, emails=("anna@customer.example", "bob@customer.example"))
        self.claim()
        self.transmit(first)
        anna, bob = first.recipient_ids.sorted("email")
        self.ingest(
            [
                self.event(anna, "delivered", "2026-11-27T08:16:00Z"),
                self.event(anna, "opened", "2026-11-27T08:20:00Z"),
                self.event(bob, "bounced", "2026-11-27T08:16:30Z", detail="user unknown"),
            ]
        )
        second = self.make_dispatch(move, emails=("bob.fixed@customer.example",))

        history = move.courier_recipient_ids
        self.assertEqual(len(history), 3)
        self.assertEqual(history.dispatch_id, first | second)
        by_email = {line.email: line for line in history}
        self.assertEqual(by_email["anna@customer.example"].status, "opened")
        self.assertEqual(str(by_email["anna@customer.example"].status_time), "2026-11-27 08:20:00")
        self.assertEqual(by_email["bob@customer.example"].status, "bounced")
        self.assertEqual(by_email["bob@customer.example"].error_text, "user unknown")
        self.assertEqual(by_email["bob.fixed@customer.example"].status, "queued")
        self.assertEqual(by_email["bob.fixed@customer.example"].dispatch_state, "queued")

    def test_a_status_opens_the_email_that_was_sent(self):
        move = self.make_invoice()
        dispatch = self.make_dispatch(move)
        recipient = dispatch.recipient_ids
        email = Form(recipient, view="invoice_courier.courier_recipient_view_form_email")
        self.assertEqual(email.subject, f"Invoice {move.name}")
        self.assertIn(move.name, str(email.body_html))
        self.assertEqual(email.sender_email, dispatch.sender_email)
        self.assertEqual(email.email, "anna@customer.example")

    def test_the_invoice_pdf_shows_among_the_sent_attachments(self):
        move = self.make_invoice()
        dispatch = self.make_dispatch(move)
        self.assertFalse(dispatch.recipient_ids.sent_attachment_ids)
        pdf = self.env["ir.attachment"].create(
            {
                "name": "invoice.pdf",
                "raw": b"%PDF-1.4 test",
                "mimetype": "application/pdf",
                "res_model": "account.move",
                "res_id": move.id,
                "res_field": "invoice_pdf_report_file",
            }
        )
        move.invalidate_recordset(["invoice_pdf_report_id"])
        dispatch.recipient_ids.invalidate_recordset(["sent_attachment_ids"])
        self.assertEqual(dispatch.recipient_ids.sent_attachment_ids, pdf)
