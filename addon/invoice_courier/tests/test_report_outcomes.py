# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Test sends, attempts given back and sends courierd gave up on (docs/contract.md)."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .contract_common import CourierCase

TIME = "2026-11-27T08:15:02Z"


@tagged("post_install", "-at_install")
class TestReportOutcomes(CourierCase):
    def result(self, dispatch, outcome, **extra):
        return {
            "id": dispatch.id,
            "custom_id": dispatch.custom_id,
            "outcome": outcome,
            "time": TIME,
            **extra,
        }

    @staticmethod
    def due_now(dispatch):
        dispatch.sudo().next_attempt_at = fields.Datetime.now() - timedelta(seconds=1)

    def test_claim_carries_the_age_and_the_last_error(self):
        dispatch = self.make_dispatch()
        [payload] = self.claim()
        self.assertEqual(payload["queued_at"], dispatch.queued_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.assertIs(payload["last_error"], False)
        self.assertIs(payload["error_code"], False)
        error = {"code": "http-503", "message": "Service Unavailable", "status": 503}
        self.report([self.result(dispatch, "retry", error=error, retry_after=30)])
        self.due_now(dispatch)
        [payload] = self.claim()
        self.assertEqual(payload["last_error"], "Service Unavailable")
        self.assertEqual(payload["error_code"], "http-503")

    def test_test_sends_never_mark_the_invoice_sent_nor_store_a_message(self):
        dispatches = [self.make_dispatch() for _ in range(5)]
        self.claim()
        counts = self.report([self.result(d, "test_sent") for d in dispatches])
        self.assertEqual(
            counts, {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 5, "ignored": 0}
        )
        for dispatch in dispatches:
            move = dispatch.move_id
            self.assertEqual(dispatch.state, "test_sent")
            self.assertFalse(dispatch.lease_owner)
            self.assertFalse(dispatch.transmitted_at)
            self.assertFalse(move.is_move_sent)
            self.assertEqual(move.courier_state, "not_sent")
            self.assertFalse(dispatch.recipient_ids.message_id)
            self.assertEqual(dispatch.recipient_ids.status, "queued")
            self.assertFalse(dispatch.event_ids)
            bodies = move.message_ids.mapped("body")
            self.assertTrue(
                any("Test send to anna@customer.example" in (b or "") for b in bodies), bodies
            )
            self.assertFalse(any("through Mailjet" in (b or "") for b in bodies), bodies)
        again = self.report([self.result(dispatches[0], "test_sent")])
        self.assertEqual(again["ignored"], 1, "a test send is final")

    def test_a_test_send_after_a_real_send_leaves_the_invoice_as_it_was(self):
        real = self.make_dispatch()
        move = real.move_id
        self.claim()
        self.transmit(real)
        self.assertEqual(move.courier_state, "sent")
        test = self.make_dispatch(move)
        self.assertEqual(move.courier_state, "queued")
        self.claim()
        self.report([self.result(test, "test_sent")])
        self.assertEqual(move.courier_state, "sent")
        self.assertTrue(move.is_move_sent)
        self.assertEqual(move._courier_latest_dispatch(), real)

    def test_a_retry_that_was_no_attempt_gives_the_attempt_back(self):
        dispatch = self.make_dispatch()
        self.claim()
        self.assertEqual(dispatch.attempts, 1)
        error = {"code": "mj-0015", "message": "API key authentication failure", "status": 401}
        self.report([self.result(dispatch, "retry", error=error, retry_after=30, attempted=False)])
        self.assertEqual((dispatch.state, dispatch.attempts), ("queued", 0))
        self.assertEqual(dispatch.error_code, "mj-0015")
        self.due_now(dispatch)
        [payload] = self.claim()
        self.assertEqual(payload["attempts"], 1)
        self.assertFalse(payload["check_mailjet_first"], "nothing was sent before")
        # A real attempt counts.
        self.report([self.result(dispatch, "retry", error=error, retry_after=30)])
        self.assertEqual(dispatch.attempts, 1)

    def test_given_up_alerts_the_sender_to_send_again(self):
        dispatch = self.make_dispatch()
        move = dispatch.move_id
        self.claim()
        message = "Not sent: courierd gave up after 10 attempts. Last error: http-503: down."
        error = {"code": "gave-up", "message": message, "status": None}
        self.assertEqual(self.report([self.result(dispatch, "failed", error=error)])["failed"], 1)
        self.assertEqual((dispatch.state, dispatch.error_code), ("failed", "gave-up"))
        self.assertEqual(dispatch.last_error, message)
        self.assertEqual(move.courier_state, "failed")
        activity = move.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn("The email could not be sent: Not sent: courierd gave up", activity.note)
        self.assertNotIn("Check the recipients", activity.note)

    def test_test_send_note_is_in_the_senders_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["invoice_courier"], ["fr_FR"])
        dispatch = self.make_dispatch()
        dispatch.requested_by_id.lang = "fr_FR"
        self.claim()
        self.report([self.result(dispatch, "test_sent")])
        bodies = dispatch.move_id.message_ids.mapped("body")
        self.assertTrue(
            any("Envoi de test à anna@customer.example" in (b or "") for b in bodies), bodies
        )
        label = dict(
            dispatch.with_context(lang="fr_FR")
            ._fields["state"]
            ._description_selection(dispatch.with_context(lang="fr_FR").env)
        )["test_sent"]
        self.assertEqual(label, "Envoi de test")

    def test_next_attempt_is_not_before_retry_after(self):
        dispatch = self.make_dispatch()
        self.claim()
        self.report([self.result(dispatch, "retry", error={}, retry_after=120, attempted=False)])
        self.assertGreater(dispatch.next_attempt_at, fields.Datetime.now() + timedelta(seconds=60))
