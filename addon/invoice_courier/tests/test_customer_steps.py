# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 14, point 1: the customer's download of the PDF and online payment as events.

Downloads come through Odoo's own portal route (/my/invoices/<id>?report_type=pdf),
payments through payment.transaction._post_process; both land in the
invoice's timeline (courier_event_ids), its chatter, and its email status,
which shows the furthest step reached.
"""

from unittest.mock import patch

from odoo import Command, fields
from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.account_payment.tests.common import AccountPaymentCommon
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..models import payment_transaction
from ..models.account_move import AccountMove
from .contract_common import CourierCase


def _notes(move, text):
    return move.message_ids.filtered(lambda message: text in (message.body or ""))


@tagged("post_install", "-at_install")
class TestPortalDownload(AccountTestInvoicingHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create(
            {"name": "Download Customer", "email": "download@customer.example"}
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
        mail_new_test_user(
            cls.env,
            login="courier_dl_accountant",
            password="courier_dl_accountant",
            groups="base.group_user,account.group_account_invoice",
            company_id=cls.env.company.id,
            company_ids=[Command.set(cls.env.company.ids)],
        )

    def _events(self, type_):
        return self.env["courier.event"].search(
            [("move_id", "=", self.invoice.id), ("type", "=", type_)]
        )

    def _download(self, user_agent="CourierTest/1.0 (customer)"):
        url = self.invoice.get_portal_url(report_type="pdf", download=True)
        response = self.url_open(url, headers={"User-Agent": user_agent})
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.headers.get("Content-Disposition", ""))
        self.invoice.invalidate_recordset()
        return response

    def test_customer_download_is_an_event_in_the_timeline_and_the_chatter(self):
        self._download()
        event = self._events("downloaded")
        self.assertEqual(len(event), 1)
        self.assertEqual(event.source, "portal")
        self.assertEqual(event.user_agent, "CourierTest/1.0 (customer)")
        self.assertIn(f"/my/invoices/{self.invoice.id}", event.url)
        self.assertNotIn("access_token", event.url)
        self.assertIn(event, self.invoice.courier_event_ids, "in the invoice's timeline")
        self.assertEqual(self.invoice.courier_downloaded_at, event.event_time)
        self.assertEqual(self.invoice.courier_state, "downloaded")
        self.assertEqual(len(_notes(self.invoice, "Downloaded by the customer")), 1)
        self.assertFalse(self._events("viewed"), "the PDF is a download, not a page view")

    def test_a_download_after_a_view_is_the_furthest_step(self):
        self.url_open(self.invoice.get_portal_url(), headers={"User-Agent": "CourierTest"})
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.courier_state, "viewed")
        self._download("CourierTest")
        self.assertEqual(self.invoice.courier_state, "downloaded")
        # Viewing the page again does not step back.
        self.url_open(self.invoice.get_portal_url(), headers={"User-Agent": "Other browser"})
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.courier_state, "downloaded")
        self.assertEqual(len(self._events("viewed")), 2)

    def test_repeated_downloads_of_one_holder_are_one_event_and_one_note(self):
        for _attempt in range(3):
            self._download("CourierTest/1.0 (reloading)")
        self.assertEqual(len(self._events("downloaded")), 1)
        self._download("CourierTest/1.0 (colleague)")
        self.assertEqual(len(self._events("downloaded")), 2, "another holder is another fact")
        self.assertEqual(
            len(_notes(self.invoice, "Downloaded by the customer")), 1, "the first download only"
        )

    def test_internal_user_download_does_not_count(self):
        self.authenticate("courier_dl_accountant", "courier_dl_accountant")
        self._download()
        self.assertFalse(self._events("downloaded"))
        self.assertFalse(self.invoice.courier_downloaded_at)
        self.assertEqual(self.invoice.courier_state, "not_sent")

    def test_wrong_token_downloads_nothing_and_counts_nothing(self):
        response = self.url_open(
            f"/my/invoices/{self.invoice.id}?report_type=pdf&download=true&access_token=wrong",
            allow_redirects=False,
        )
        self.assertIn(response.status_code, (302, 303))
        self.assertFalse(self._events("downloaded"))


@tagged("post_install", "-at_install")
class TestOnlinePayment(AccountPaymentCommon, CourierCase):
    def setUp(self):
        super().setUp()
        self.move = self.make_invoice()
        self.accountant = mail_new_test_user(
            self.env,
            login="courier_pay_accountant",
            groups="base.group_user,account.group_account_invoice",
        )

    def _paid_transaction(self, user, state="done", **values):
        """A transaction for the invoice, started by `user` (as the portal's routes do)."""
        self._reference_counter = getattr(self, "_reference_counter", 0) + 1
        vals = {
            "payment_method_id": self.payment_method_id,
            "provider_id": self.provider.id,
            "reference": f"{self.move.name}-{self._reference_counter}",
            "amount": self.move.amount_total,
            "currency_id": self.move.currency_id.id,
            "partner_id": self.move.partner_id.id,
            "operation": "online_redirect",
            "state": state,
            "invoice_ids": [Command.set(self.move.ids)],
            **values,
        }
        return self.env["payment.transaction"].with_user(user).sudo().create(vals)

    def _paid_events(self):
        return self.move.courier_event_ids.filtered(lambda event: event.type == "paid")

    def test_customer_payment_is_an_event_in_the_timeline_and_the_chatter(self):
        tx = self._paid_transaction(self.public_user)
        tx._post_process()
        self.assertTrue(tx.payment_id, "Odoo made the payment")
        event = self._paid_events()
        self.assertEqual(len(event), 1)
        self.assertEqual(event.source, "payment")
        self.assertEqual(event.event_time, tx.last_state_change)
        self.assertIn(tx.reference, event.detail)
        self.assertIn(self.move.currency_id.name, event.detail)
        self.assertEqual(event.dedupe_key, f"payment:paid:{self.move.id}:{tx.id}")
        self.assertEqual(self.move.courier_paid_at, tx.last_state_change)
        self.assertEqual(self.move.courier_state, "paid")
        self.assertEqual(len(_notes(self.move, "Paid online by the customer")), 1)

    def test_a_replayed_post_processing_adds_nothing(self):
        tx = self._paid_transaction(self.portal_user)
        tx._post_process()
        tx._post_process()
        self.env["account.move"]._courier_mark_paid(tx)
        self.assertEqual(len(self._paid_events()), 1)
        self.assertEqual(len(_notes(self.move, "Paid online by the customer")), 1)

    def test_a_failure_to_record_it_never_undoes_the_payment(self):
        tx = self._paid_transaction(self.public_user)
        with (
            patch.object(AccountMove, "_courier_mark_paid", side_effect=ValidationError("boom")),
            self.assertLogs(payment_transaction.__name__, level="ERROR") as logged,
        ):
            tx._post_process()
        self.assertTrue(tx.payment_id, "Odoo made the payment all the same")
        self.assertTrue(tx.is_post_processed)
        self.assertIn(tx.reference, logged.output[0])
        self.assertFalse(self._paid_events())

    def test_internal_users_and_non_payments_do_not_count(self):
        self._paid_transaction(self.accountant)._post_process()
        self._paid_transaction(self.public_user, state="pending")._post_process()
        self._paid_transaction(self.public_user, operation="validation")._post_process()
        self.assertFalse(self._paid_events())
        self.assertFalse(self.move.courier_paid_at)
        self.assertEqual(self.move.courier_state, "not_sent")


@tagged("post_install", "-at_install")
class TestFurthestStep(CourierCase):
    """The invoice's email status: the customer's furthest step, whatever the order."""

    def _download(self, move, when):
        move._courier_mark_downloaded("portal", event_time=when, visitor=when)

    def _pay(self, move, when, key):
        # What the payment hook stores, without a provider: the event and its effects.
        Event = self.env["courier.event"].sudo()
        event = Event.create(
            {
                "dedupe_key": f"payment:paid:{move.id}:{key}",
                "type": "paid",
                "event_time": when,
                "source": "payment",
                "detail": "TX: 100.00 USD (Test)",
                "move_id": move.id,
                "company_id": move.company_id.id,
            }
        )
        move._courier_record_step(event, "courier_paid_at")

    def test_paid_over_downloaded_over_viewed_over_sent(self):
        move = self.make_invoice()
        dispatch = self.make_dispatch(move)
        self.claim()
        self.transmit(dispatch)
        self.assertEqual(move.courier_state, "sent")
        move._courier_mark_viewed("portal", event_time=_time("2026-11-27 09:00:00"))
        self.assertEqual(move.courier_state, "viewed")
        self._download(move, _time("2026-11-27 09:05:00"))
        self.assertEqual(move.courier_state, "downloaded")
        self._pay(move, _time("2026-11-27 09:10:00"), "tx-1")
        self.assertEqual(move.courier_state, "paid")
        # Later, lesser steps never step back.
        self._download(move, _time("2026-11-28 10:00:00"))
        move._courier_mark_viewed("portal", event_time=_time("2026-11-28 10:05:00"))
        self.assertEqual(move.courier_state, "paid")
        self.assertEqual(str(move.courier_downloaded_at), "2026-11-27 09:05:00")
        self.assertEqual(str(move.courier_paid_at), "2026-11-27 09:10:00")
        steps = move.courier_event_ids.filtered(
            lambda e: e.type in ("viewed", "downloaded", "paid")
        ).sorted("event_time")
        self.assertEqual(
            steps.mapped("type"), ["viewed", "downloaded", "paid", "downloaded", "viewed"]
        )

    def test_an_earlier_step_arriving_late_keeps_the_earliest_time(self):
        move = self.make_invoice()
        self._pay(move, _time("2026-11-27 12:00:00"), "tx-late")
        self._pay(move, _time("2026-11-27 08:00:00"), "tx-early")
        self.assertEqual(str(move.courier_paid_at), "2026-11-27 08:00:00")
        self.assertEqual(move.courier_state, "paid")
        self.assertEqual(len(_notes(move, "Paid online by the customer")), 2, "one per payment")

    def test_the_daemon_cannot_report_downloads_or_payments(self):
        dispatch = self.make_dispatch()
        self.claim()
        self.transmit(dispatch)
        recipient = dispatch.recipient_ids
        answer = self.ingest(
            [
                self.event(recipient, "paid", "2026-11-27T09:00:00Z"),
                self.event(recipient, "downloaded", "2026-11-27T09:00:00Z"),
            ]
        )
        self.assertEqual(answer["created"], 0)
        self.assertEqual(answer["unmatched"], 2)
        self.assertFalse(
            dispatch.move_id.courier_event_ids.filtered(lambda e: e.type in ("paid", "downloaded"))
        )
        self.assertEqual(dispatch.move_id.courier_state, "sent")

    def test_the_invoice_form_shows_the_steps_and_the_timeline(self):
        arch = self.env["account.move"].get_views([(False, "form")])["views"]["form"]["arch"]
        for name in ("courier_downloaded_at", "courier_paid_at", "courier_event_ids"):
            self.assertIn(f'name="{name}"', arch)


def _time(text):
    return fields.Datetime.to_datetime(text)
