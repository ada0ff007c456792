# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.addons.invoice_courier.tools.courier_status import (
    RECIPIENT_STATUS_RANK,
    RECIPIENT_STATUSES,
    best_status,
)
from odoo.tests import TransactionCase, tagged

from .contract_common import CourierCase


@tagged("post_install", "-at_install")
class TestRankingTable(TransactionCase):
    def test_ranks_are_those_of_the_architecture(self):
        self.assertEqual(
            [status for status, _label in RECIPIENT_STATUSES],
            sorted(RECIPIENT_STATUS_RANK, key=RECIPIENT_STATUS_RANK.get),
        )
        self.assertEqual(
            RECIPIENT_STATUS_RANK,
            {"queued": 0, "transmitted": 10, "deferred": 15, "delivered": 20, "opened": 30,
             "clicked": 40, "unsubscribed": 50, "spam": 60, "blocked": 70, "bounced": 80},
        )  # fmt: skip
        labels = dict(self.env["courier.recipient"]._fields["status"].selection)
        self.assertEqual(labels["bounced"], "Bounce")
        self.assertEqual(labels["transmitted"], "Transmitted")

    def test_best_status(self):
        self.assertEqual(best_status([]), "queued")
        self.assertEqual(best_status(["viewed"]), "queued")
        self.assertEqual(best_status(["opened", "delivered", "transmitted"]), "opened")
        self.assertEqual(best_status(["clicked", "bounced", "opened"]), "bounced")
        self.assertEqual(best_status(["deferred", "delivered"]), "delivered")


@tagged("post_install", "-at_install")
class TestRecipientRanking(CourierCase):
    def setUp(self):
        super().setUp()
        dispatch = self.make_dispatch()
        self.claim()
        self.transmit(dispatch, time="2026-11-27T08:00:00Z")
        self.recipient = dispatch.recipient_ids

    def feed(self, type_, time, key=None):
        return self.ingest([self.event(self.recipient, type_, time, key=key)])

    def test_out_of_order_events_keep_the_highest_rank(self):
        self.feed("opened", "2026-11-27T08:10:00Z")
        self.assertEqual(self.recipient.status, "opened")
        # The delivery arrives late: it happened before the open.
        self.feed("delivered", "2026-11-27T08:01:00Z")
        self.assertEqual(self.recipient.status, "opened")
        self.assertEqual(
            str(self.recipient.status_time), "2026-11-27 08:10:00", "time of the winning status"
        )
        self.feed("deferred", "2026-11-27T08:00:30Z")
        self.assertEqual(self.recipient.status, "opened")
        self.feed("clicked", "2026-11-27T08:11:00Z")
        self.assertEqual(self.recipient.status, "clicked")

    def test_duplicates_change_nothing(self):
        self.assertEqual(self.feed("opened", "2026-11-27T08:10:00Z", key="k1")["created"], 1)
        self.assertEqual(self.feed("opened", "2026-11-27T08:10:00Z", key="k1")["duplicate"], 1)
        self.assertEqual(len(self.recipient.event_ids.filtered(lambda e: e.type == "opened")), 1)
        # A second open (another key) keeps the first open's time.
        self.feed("opened", "2026-11-27T09:00:00Z", key="k2")
        self.assertEqual(str(self.recipient.status_time), "2026-11-27 08:10:00")

    def test_negative_outcome_outranks_progress_whatever_the_order(self):
        self.feed("opened", "2026-11-27T08:10:00Z")
        self.feed("spam", "2026-11-27T08:12:00Z")
        self.assertEqual(self.recipient.status, "spam")
        # A late open after the complaint does not hide it.
        self.feed("opened", "2026-11-27T08:20:00Z", key="late-open")
        self.assertEqual(self.recipient.status, "spam")
        self.feed("bounced", "2026-11-27T08:05:00Z")
        self.assertEqual(self.recipient.status, "bounced")
        self.feed("delivered", "2026-11-27T08:02:00Z")
        self.assertEqual(self.recipient.status, "bounced")

    def test_event_before_the_transmitted_report(self):
        dispatch = self.make_dispatch(emails=("early@customer.example",))
        self.claim()
        recipient = dispatch.recipient_ids
        # Mailjet's webhook can beat courierd's report: matched by CustomID + email.
        early = {
            "dedupe_key": "mj:sent:early",
            "type": "delivered",
            "time": "2026-11-27T08:00:05Z",
            "source": "mailjet_webhook",
            "message_id": "777",
            "custom_id": dispatch.custom_id,
            "email": "EARLY@customer.example",
        }
        self.assertEqual(self.ingest([early])["created"], 1)
        self.assertEqual(recipient.status, "delivered")
        self.transmit(dispatch, time="2026-11-27T08:00:00Z")
        self.assertEqual(recipient.status, "delivered")
        self.assertEqual(recipient.message_id, str(1152921504606846976 + recipient.id))
