# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
from datetime import timedelta
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tests.common import new_test_user

from .contract_common import SENDER, CourierCase

PAYLOAD_KEYS = {
    "id", "custom_id", "attempts", "check_mailjet_first", "company_id", "invoice_id",
    "sender", "reply_to", "recipients", "subject", "html", "text", "attachments", "link_only",
    "pdf_pending", "web_url", "track_opens", "track_clicks", "queued_at", "last_error",
    "error_code", "invoice", "one_email_to_all",
}  # fmt: skip
INVOICE_KEYS = {
    "name", "partner_name", "amount_total", "amount_residual", "currency", "invoice_date",
    "invoice_date_due", "move_type", "lang", "payment_reference",
}  # fmt: skip


@tagged("post_install", "-at_install")
class TestDispatchCreate(CourierCase):
    def test_create_fills_the_send(self):
        move = self.make_invoice()
        dispatch = self.make_dispatch(move)
        self.assertRegex(dispatch.custom_id, r"^[0-9a-f]{32}$")
        self.assertEqual(dispatch.state, "queued")
        self.assertEqual(dispatch.sender_email, SENDER)
        self.assertEqual(dispatch.sender_name, "Courier Test Co")
        self.assertEqual(dispatch.reply_to, SENDER)
        self.assertTrue(dispatch.queued_at)
        self.assertEqual(dispatch.requested_by_id, self.env.user)
        self.assertIn(f"/my/invoices/{move.id}", dispatch.web_url)
        self.assertIn(f"access_token={move.access_token}", dispatch.web_url)
        self.assertTrue(dispatch.web_url.startswith("http"))
        self.assertEqual(move.courier_state, "queued")
        self.assertEqual(dispatch.recipient_ids.status, "queued")

    def test_open_compose_action(self):
        move = self.make_invoice()
        action = move.action_courier_open_compose()
        self.assertEqual(action["res_model"], "courier.compose")
        self.assertEqual(action["context"]["default_move_id"], move.id)

    def test_sender_falls_back_to_company(self):
        self.env.company.write(
            {"courier_sender_email": False, "courier_sender_name": False, "email": "co@x.example"}
        )
        dispatch = self.make_dispatch()
        self.assertEqual(dispatch.sender_email, "co@x.example")
        self.assertEqual(dispatch.sender_name, self.env.company.name)

    def test_only_posted_customer_documents(self):
        draft = self.make_invoice(post=False)
        bill = self.init_invoice("in_invoice", partner=self.partner_a, amounts=[10.0], post=True)
        for move in (draft, bill):
            with self.assertRaisesRegex(UserError, "Only posted customer invoices"):
                self.make_dispatch(move)
        refund = self.make_invoice(move_type="out_refund")
        self.assertEqual(self.make_dispatch(refund).state, "queued")


@tagged("post_install", "-at_install")
class TestClaim(CourierCase):
    def test_claim_shape(self):
        dispatch = self.make_dispatch(emails=("anna@customer.example", "bob@customer.example"))
        move = dispatch.move_id
        [payload] = self.claim("worker-1", 10, 300)
        self.assertEqual(set(payload), PAYLOAD_KEYS)
        self.assertEqual(set(payload["invoice"]), INVOICE_KEYS)
        self.assertEqual(payload["id"], dispatch.id)
        self.assertEqual(payload["custom_id"], dispatch.custom_id)
        self.assertEqual(payload["attempts"], 1)
        self.assertFalse(payload["check_mailjet_first"])
        self.assertEqual(payload["invoice_id"], move.id)
        self.assertEqual(payload["company_id"], move.company_id.id)
        self.assertEqual(payload["sender"], {"email": SENDER, "name": "Courier Test Co"})
        self.assertEqual(payload["reply_to"], SENDER)
        self.assertEqual(
            [(r["id"], r["email"]) for r in payload["recipients"]],
            [(r.id, r.email) for r in dispatch.recipient_ids],
        )
        self.assertEqual(payload["html"], dispatch.body_html)
        self.assertIn("Dear customer", payload["text"])
        self.assertNotIn("<p>", payload["text"])
        self.assertTrue(payload["pdf_pending"])
        self.assertEqual(payload["attachments"], [])
        self.assertEqual(payload["web_url"], dispatch.web_url)
        self.assertIs(payload["track_opens"], True)
        self.assertEqual(payload["invoice"]["name"], move.name)
        self.assertEqual(payload["invoice"]["amount_total"], move.amount_total)
        self.assertEqual(payload["invoice"]["currency"], move.currency_id.name)
        self.assertEqual(payload["invoice"]["move_type"], "out_invoice")
        self.assertEqual(payload["invoice"]["invoice_date"], str(move.invoice_date))
        self.assertEqual(dispatch.state, "sending")
        self.assertEqual(dispatch.lease_owner, "worker-1")
        self.assertGreater(dispatch.lease_expires_at, fields.Datetime.now())
        # Leased: nobody else gets it.
        self.assertEqual(self.claim("worker-2"), [])

    def test_claim_limit_oldest_first_and_next_attempt(self):
        first, second, third = (self.make_dispatch() for _ in range(3))
        (first + second + third).invalidate_recordset()
        first.sudo().queued_at = fields.Datetime.now() - timedelta(minutes=5)
        third.sudo().next_attempt_at = fields.Datetime.now() + timedelta(minutes=5)
        self.assertEqual([p["id"] for p in self.claim(limit=1)], [first.id])
        self.assertEqual([p["id"] for p in self.claim(limit=5)], [second.id])
        self.assertEqual(third.state, "queued")

    def test_expired_lease_is_reclaimed_with_check_mailjet_first(self):
        dispatch = self.make_dispatch()
        self.claim("worker-1", 10, 300)
        dispatch.sudo().lease_expires_at = fields.Datetime.now() - timedelta(seconds=1)
        [payload] = self.claim("worker-2", 10, 300)
        self.assertEqual(payload["id"], dispatch.id)
        self.assertEqual(payload["attempts"], 2)
        self.assertTrue(payload["check_mailjet_first"])
        self.assertEqual(dispatch.lease_owner, "worker-2")

    def test_payload_carries_stored_pdf_and_attachments(self):
        dispatch = self.make_dispatch()
        extra = self.env["ir.attachment"].create(
            {"name": "terms.txt", "raw": b"terms", "mimetype": "text/plain"}
        )
        dispatch.sudo().attachment_ids = [Command.link(extra.id)]
        self.claim()
        rendered = self.as_daemon("courier.dispatch").courier_render_pdf(dispatch.id)
        move = dispatch.move_id
        self.assertEqual(rendered["filename"], move._get_invoice_report_filename())
        self.assertEqual(rendered["content_type"], "application/pdf")
        self.assertTrue(base64.b64decode(rendered["base64"]))
        self.assertTrue(move.invoice_pdf_report_id, "the PDF is stored on the invoice")
        self.assertFalse(move.is_move_sent, "a rendered PDF is not a sent invoice")
        # Rendering again reuses the stored PDF.
        again = self.as_daemon("courier.dispatch").courier_render_pdf(dispatch.id)
        self.assertEqual(again["base64"], rendered["base64"])
        dispatch.sudo().lease_expires_at = fields.Datetime.now() - timedelta(seconds=1)
        [payload] = self.claim()
        self.assertFalse(payload["pdf_pending"])
        self.assertEqual(
            [a["filename"] for a in payload["attachments"]],
            [move._get_invoice_report_filename(), "terms.txt"],
        )
        self.assertEqual(base64.b64decode(payload["attachments"][1]["base64"]), b"terms")

    def test_render_pdf_only_while_sending(self):
        dispatch = self.make_dispatch()
        with self.assertRaises(UserError):
            self.as_daemon("courier.dispatch").courier_render_pdf(dispatch.id)


@tagged("post_install", "-at_install")
class TestRenderPdfs(CourierCase):
    """courier_render_pdfs: several invoices in one report call, one bad invoice fails alone."""

    def render_pdfs(self, ids):
        return self.as_daemon("courier.dispatch").courier_render_pdfs(ids)

    def spy_reports(self, fail=lambda res_ids: None):
        """Patch the report call under Odoo's invoice rendering; record each call's ids.

        `fail(res_ids)` returns an error message to raise instead of rendering,
        as wkhtmltopdf's failure would (a UserError).
        """
        report_class = type(self.env["ir.actions.report"])
        original = report_class._pre_render_qweb_pdf
        calls = []

        def render(report, report_ref, res_ids=None, data=None):
            calls.append(sorted(res_ids))
            error = fail(res_ids)
            if error:
                raise UserError(error)
            return original(report, report_ref, res_ids=res_ids, data=data)

        return calls, patch.object(report_class, "_pre_render_qweb_pdf", render)

    def test_renders_together_and_stores_each_invoice_pdf(self):
        dispatches = [self.make_dispatch() for _ in range(3)]
        queued = self.make_dispatch()
        self.claim(limit=3)
        self.assertEqual(queued.state, "queued")
        calls, patched = self.spy_reports()
        with patched:
            results = self.render_pdfs([d.id for d in dispatches] + [queued.id, 999999999])
        self.assertEqual(calls, [sorted(d.move_id.id for d in dispatches)], "one report call")
        for dispatch in dispatches:
            move = dispatch.move_id
            rendered = results[str(dispatch.id)]
            self.assertEqual(rendered["filename"], move._get_invoice_report_filename())
            self.assertEqual(rendered["content_type"], "application/pdf")
            # Each invoice gets its own part of the render, not the whole.
            self.assertIn(move.name, base64.b64decode(rendered["base64"]).decode())
            others = [d.move_id.name for d in dispatches if d != dispatch]
            for other in others:
                self.assertNotIn(other, base64.b64decode(rendered["base64"]).decode())
            self.assertEqual(move.invoice_pdf_report_id.raw, base64.b64decode(rendered["base64"]))
            self.assertFalse(move.is_move_sent, "a rendered PDF is not a sent invoice")
            single = self.as_daemon("courier.dispatch").courier_render_pdf(dispatch.id)
            self.assertEqual(single["base64"], rendered["base64"], "stored, so reused")
        self.assertIn("only a dispatch being sent", results[str(queued.id)]["error"])
        self.assertIn("does not exist", results["999999999"]["error"])
        self.assertFalse(queued.move_id.invoice_pdf_report_id)

    def test_failed_render_together_falls_back_to_one_by_one(self):
        good_1, bad, good_2 = (self.make_dispatch() for _ in range(3))
        self.claim()
        bad_move = bad.move_id.id

        def fail(res_ids):
            if len(res_ids) > 1:
                return "wkhtmltopdf failed on the batch"
            if bad_move in res_ids:
                return "wkhtmltopdf failed on this invoice"
            return None

        calls, patched = self.spy_reports(fail)
        with patched:
            results = self.render_pdfs([good_1.id, bad.id, good_2.id])
        self.assertEqual(len(calls), 4, "the batch, then each invoice alone")
        self.assertEqual(sorted(calls[0]), sorted((good_1 | bad | good_2).move_id.ids))
        self.assertIn("wkhtmltopdf failed on this invoice", results[str(bad.id)]["error"])
        self.assertFalse(bad.move_id.invoice_pdf_report_id)
        for dispatch in (good_1, good_2):
            self.assertEqual(
                results[str(dispatch.id)]["filename"],
                dispatch.move_id._get_invoice_report_filename(),
            )
            self.assertTrue(dispatch.move_id.invoice_pdf_report_id)
        self.assertEqual(bad.state, "sending", "a failed render leaves the send to the daemon")

    def test_stored_pdfs_are_returned_without_rendering(self):
        first, second = self.make_dispatch(), self.make_dispatch()
        self.claim()
        stored = self.render_pdfs([first.id, second.id])
        calls, patched = self.spy_reports()
        with patched:
            again = self.render_pdfs([first.id, second.id])
        self.assertEqual(calls, [])
        self.assertEqual(again, stored)

    def test_rejects_a_non_list(self):
        with self.assertRaises(UserError):
            self.render_pdfs(42)


@tagged("post_install", "-at_install")
class TestReport(CourierCase):
    def test_transmitted_then_repeated_report_changes_nothing(self):
        dispatch = self.make_dispatch(emails=("anna@customer.example", "bob@customer.example"))
        move = dispatch.move_id
        self.claim()
        self.assertEqual(
            self.transmit(dispatch),
            {"transmitted": 1, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 0},
        )
        self.assertEqual(dispatch.state, "transmitted")
        self.assertFalse(dispatch.lease_owner)
        self.assertEqual(
            dispatch.transmitted_at, fields.Datetime.to_datetime("2026-11-27 08:15:02")
        )
        for recipient in dispatch.recipient_ids:
            self.assertEqual(recipient.status, "transmitted")
            self.assertEqual(recipient.message_id, str(1152921504606846976 + recipient.id))
            self.assertEqual(recipient.message_uuid, f"uuid-{recipient.id}")
        events = dispatch.event_ids
        self.assertEqual(sorted(events.mapped("type")), ["transmitted", "transmitted"])
        self.assertEqual(set(events.mapped("source")), {"daemon"})
        self.assertEqual(
            set(events.mapped("dedupe_key")),
            {f"transmitted:{r.message_id}" for r in dispatch.recipient_ids},
        )
        self.assertEqual(move.courier_state, "sent")
        self.assertTrue(move.is_move_sent)
        notes = move.message_ids.filtered(lambda m: "through Mailjet" in (m.body or ""))
        self.assertEqual(len(notes), 1)
        self.assertIn("anna@customer.example", notes.body)

        messages_before = len(move.message_ids)
        self.assertEqual(
            self.transmit(dispatch),
            {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 1},
        )
        self.assertEqual(len(dispatch.event_ids), 2)
        self.assertEqual(len(move.message_ids), messages_before)

    def test_unknown_or_mismatched_reports_are_ignored(self):
        dispatch = self.make_dispatch()
        self.claim()
        counts = self.report(
            [
                {"id": dispatch.id, "custom_id": "not-it", "outcome": "failed", "error": {}},
                {"id": 999999999, "custom_id": dispatch.custom_id, "outcome": "transmitted"},
                {"id": dispatch.id, "custom_id": dispatch.custom_id, "outcome": "bogus"},
            ]
        )
        self.assertEqual(
            counts, {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 3}
        )
        self.assertEqual(dispatch.state, "sending")

    def test_retry_requeues_later(self):
        dispatch = self.make_dispatch()
        self.claim()
        result = {
            "id": dispatch.id,
            "custom_id": dispatch.custom_id,
            "outcome": "retry",
            "time": "2026-11-27T08:15:02Z",
            "error": {"code": "mj-0004", "message": "Too many requests", "status": 429},
            "retry_after": 120,
        }
        self.assertEqual(self.report([result])["retry"], 1)
        self.assertEqual(dispatch.state, "queued")
        self.assertEqual(dispatch.last_error, "Too many requests")
        self.assertEqual(dispatch.error_code, "mj-0004")
        self.assertFalse(dispatch.lease_owner)
        self.assertGreater(dispatch.next_attempt_at, fields.Datetime.now() + timedelta(seconds=60))
        self.assertEqual(self.claim(), [], "not before next_attempt_at")
        self.assertEqual(self.report([result])["ignored"], 1, "a repeated retry changes nothing")
        dispatch.sudo().next_attempt_at = fields.Datetime.now() - timedelta(seconds=1)
        [payload] = self.claim()
        self.assertEqual(payload["attempts"], 2)
        self.assertTrue(payload["check_mailjet_first"])

    def test_failed_alerts_the_sender(self):
        dispatch = self.make_dispatch()
        move = dispatch.move_id
        self.claim()
        error = {"code": "send-0010", "message": 'Email "x@" is invalid', "status": 400}
        result = {"id": dispatch.id, "custom_id": dispatch.custom_id, "outcome": "failed",
                  "time": "2026-11-27T08:15:02Z", "error": error}  # fmt: skip
        self.assertEqual(self.report([result])["failed"], 1)
        self.assertEqual(dispatch.state, "failed")
        self.assertEqual(dispatch.error_code, "send-0010")
        self.assertEqual(dispatch.last_error, 'Email "x@" is invalid')
        self.assertEqual(move.courier_state, "failed")
        self.assertFalse(move.is_move_sent)
        activity = move.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_todo"))
        self.assertEqual(activity.user_id, self.env.user)
        self.assertEqual(self.report([result])["ignored"], 1)
        self.assertEqual(len(move.activity_ids), 1)

    def test_failure_alert_goes_to_the_salesperson_without_a_requester(self):
        salesperson = new_test_user(
            self.env, login="courier_sales", groups="base.group_user,account.group_account_invoice"
        )
        move = self.make_invoice()
        move.invoice_user_id = salesperson
        dispatch = self.make_dispatch(move, requested_by_id=self.daemon_user.id)
        self.claim()
        self.report([{"id": dispatch.id, "custom_id": dispatch.custom_id, "outcome": "failed",
                      "error": {"code": "send-0003", "message": "no"}}])  # fmt: skip
        self.assertEqual(move.activity_ids.user_id, salesperson)

    def test_transmitted_accepted_after_lease_moved_on(self):
        dispatch = self.make_dispatch()
        self.claim("worker-1")
        dispatch.sudo().lease_expires_at = fields.Datetime.now() - timedelta(seconds=1)
        self.claim("worker-2")
        self.assertEqual(self.transmit(dispatch)["transmitted"], 1)
        self.assertEqual(dispatch.state, "transmitted")

    def test_cancel_queued(self):
        dispatch = self.make_dispatch()
        dispatch.action_courier_cancel()
        self.assertEqual(dispatch.state, "cancelled")
        self.assertEqual(dispatch.move_id.courier_state, "not_sent")
        self.assertEqual(self.claim(), [])


@tagged("post_install", "-at_install")
class TestIngest(CourierCase):
    def setUp(self):
        super().setUp()
        self.dispatch = self.make_dispatch(emails=("anna@customer.example", "bob@customer.example"))
        self.claim()
        self.transmit(self.dispatch)
        self.anna, self.bob = self.dispatch.recipient_ids
        self.move = self.dispatch.move_id

    def test_counts_duplicates_and_unmatched(self):
        delivered = self.event(self.anna, "delivered", "2026-11-27T08:16:00Z")
        by_custom_id = self.event(self.bob, "delivered", "2026-11-27T08:16:01Z", message_id=None)
        stranger = dict(delivered, dedupe_key="other", message_id="42", custom_id="nope")
        counts = self.ingest([delivered, dict(delivered), by_custom_id, stranger])
        self.assertEqual(counts, {"created": 2, "duplicate": 1, "unmatched": 1})
        self.assertEqual(self.ingest([delivered]), {"created": 0, "duplicate": 1, "unmatched": 0})
        self.assertEqual(self.anna.status, "delivered")
        self.assertEqual(self.bob.status, "delivered")
        event = self.anna.event_ids.filtered(lambda e: e.type == "delivered")
        self.assertEqual(event.source, "mailjet_webhook")
        self.assertEqual(event.move_id, self.move)
        self.assertEqual(event.dispatch_id, self.dispatch)
        self.assertEqual(self.move.courier_state, "sent")

    def test_web_document_click_marks_viewed_once(self):
        url = self.dispatch.web_url
        clicks = [
            self.event(self.anna, "clicked", "2026-11-27T09:00:00Z", url=url, web_document=True),
            self.event(self.anna, "clicked", "2026-11-27T09:05:00Z", url=url, web_document=True),
        ]
        self.assertEqual(self.ingest(clicks)["created"], 2)
        self.assertEqual(self.move.courier_state, "viewed")
        self.assertEqual(
            self.move.courier_viewed_at, fields.Datetime.to_datetime("2026-11-27 09:00:00")
        )
        self.assertEqual(self.anna.status, "clicked")
        notes = self.move.message_ids.filtered(lambda m: "Viewed by the customer" in (m.body or ""))
        self.assertEqual(len(notes), 1)

    def test_bounce_alerts_sender_and_invoice_bounces_when_all_do(self):
        self.ingest([self.event(self.anna, "bounced", "2026-11-27T08:17:00Z", detail="no mailbox")])
        self.assertEqual(self.anna.status, "bounced")
        self.assertEqual(self.anna.error_text, "no mailbox")
        self.assertEqual(self.move.courier_state, "sent", "bob may still receive it")
        self.assertEqual(len(self.move.activity_ids), 1)
        self.assertIn("anna@customer.example", self.move.activity_ids.note)
        self.ingest([self.event(self.bob, "blocked", "2026-11-27T08:17:30Z")])
        self.assertEqual(self.move.courier_state, "bounced")
        self.assertEqual(len(self.move.activity_ids), 2)
        # A repeated bounce does not alert again.
        self.ingest([self.event(self.anna, "bounced", "2026-11-27T08:18:00Z")])
        self.assertEqual(len(self.move.activity_ids), 2)
        # The sender resends to a corrected address.
        resend = self.make_dispatch(self.move, emails=("anna@fixed.example",))
        self.assertEqual(self.move.courier_state, "queued")
        self.claim()
        self.transmit(resend)
        self.assertEqual(self.move.courier_state, "sent")

    def test_portal_view(self):
        self.move._courier_mark_viewed("portal", user_agent="Mozilla/5.0", url="/my/invoices/1")
        self.move._courier_mark_viewed("portal", user_agent="Mozilla/5.0", url="/my/invoices/1")
        self.assertEqual(self.move.courier_state, "viewed")
        self.assertTrue(self.move.courier_viewed_at)
        views = self.move.courier_event_ids.filtered(lambda e: e.type == "viewed")
        self.assertEqual(len(views), 2)
        self.assertEqual(set(views.mapped("source")), {"portal"})
        self.assertEqual(views.dispatch_id, self.dispatch)
        notes = self.move.message_ids.filtered(lambda m: "Viewed by the customer" in (m.body or ""))
        self.assertEqual(len(notes), 1)

    def test_events_are_never_overwritten(self):
        self.ingest([self.event(self.anna, "opened", "2026-11-27T08:20:00Z")])
        with self.assertRaises(UserError):
            self.anna.event_ids[:1].sudo().write({"type": "bounced"})

    def test_open_tracking_for_the_poller(self):
        self.ingest([self.event(self.bob, "bounced", "2026-11-27T08:17:00Z")])
        tracking = self.as_daemon("courier.recipient").courier_open_tracking(10, 30)
        self.assertEqual([row["recipient_id"] for row in tracking], [self.anna.id])
        self.assertEqual(
            tracking[0],
            {
                "recipient_id": self.anna.id,
                "message_id": self.anna.message_id,
                "custom_id": self.dispatch.custom_id,
                "email": "anna@customer.example",
                "status": "transmitted",
                "status_time": "2026-11-27T08:15:02Z",
            },
        )
        self.dispatch.sudo().transmitted_at = fields.Datetime.now() - timedelta(days=40)
        self.assertEqual(self.as_daemon("courier.recipient").courier_open_tracking(10, 30), [])


@tagged("post_install", "-at_install")
class TestConcurrentClaims(TransactionCase):
    """Two workers claiming at once never get the same dispatch (SKIP LOCKED).

    Needs data committed where other transactions see it, so it creates its
    own invoice through a separate cursor and removes it afterwards.
    """

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["res.partner"].create({"name": "Concurrent customer"})
            move = env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_line_ids": [
                        Command.create({"name": "Service", "quantity": 1, "price_unit": 10.0})
                    ],
                }
            )
            move.action_post()
            dispatches = env["courier.dispatch"].create(
                [
                    {
                        "move_id": move.id,
                        "subject": f"Concurrent {index}",
                        "sender_email": SENDER,
                        "recipient_ids": [Command.create({"email": f"c{index}@x.example"})],
                    }
                    for index in range(4)
                ]
            )
            self.committed = {"move": move.id, "partner": partner.id, "ids": set(dispatches.ids)}
        self.addCleanup(self._remove_committed)

    def _remove_committed(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            move = env["account.move"].browse(self.committed["move"])
            move.button_draft()
            move.posted_before = False
            move.unlink()
            env["res.partner"].browse(self.committed["partner"]).unlink()

    def test_two_workers_never_share_a_dispatch(self):
        cr_a, cr_b = self.registry.cursor(), self.registry.cursor()
        try:
            env_a = api.Environment(cr_a, SUPERUSER_ID, {})
            env_b = api.Environment(cr_b, SUPERUSER_ID, {})
            # Worker A's transaction holds its rows' locks until it ends...
            got_a = {p["id"] for p in env_a["courier.dispatch"].courier_claim("a", 2, 300)}
            # ...so worker B, at the same time, skips them instead of waiting.
            got_b = {p["id"] for p in env_b["courier.dispatch"].courier_claim("b", 10, 300)}
            mine = self.committed["ids"]
            self.assertEqual(len(got_a & mine), 2)
            self.assertFalse(got_a & got_b)
            self.assertEqual((got_a | got_b) & mine, mine)
        finally:
            cr_a.rollback()
            cr_b.rollback()
            cr_a.close()
            cr_b.close()


@tagged("post_install", "-at_install")
class TestCourierSettings(CourierCase):
    def test_settings_write_the_company_and_show_the_webhook_url(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "invoice_courier.webhook_url", "https://courier.example/mailjet/events"
        )
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.courier_webhook_url, "https://courier.example/mailjet/events")
        settings.write(
            {
                "courier_sender_email": "invoices@example.com",
                "courier_sender_name": "Invoices",
                "courier_track_opens": False,
                "courier_track_clicks": False,
            }
        )
        settings.execute()
        company = self.env.company
        self.assertEqual(company.courier_sender_email, "invoices@example.com")
        self.assertEqual(company.courier_sender_name, "Invoices")
        self.assertFalse(company.courier_track_opens)
        dispatch = self.make_dispatch()
        [payload] = self.claim()
        self.assertEqual(payload["sender"], {"email": "invoices@example.com", "name": "Invoices"})
        self.assertIs(payload["track_opens"], False)
        self.assertIs(payload["track_clicks"], False)
        self.assertEqual(dispatch.reply_to, "invoices@example.com")


@tagged("post_install", "-at_install")
class TestNotesWithoutASender(CourierCase):
    def test_notes_fall_back_to_the_company_language_without_a_sender(self):
        """Neither the daemon's language nor the visitor's: no sender, the company's."""
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["invoice_courier"], ["fr_FR"])
        self.env.company.partner_id.lang = "fr_FR"
        self.daemon_user.lang = "en_US"
        dispatch = self.make_dispatch(requested_by_id=False)
        move = dispatch.move_id
        self.claim()
        self.transmit(dispatch)
        bodies = move.message_ids.mapped("body")
        self.assertTrue(any("via Mailjet" in (body or "") for body in bodies), bodies)
        move.with_context(lang="en_US")._courier_mark_viewed("portal")
        self.assertTrue(
            any("Consultée par le client" in (b or "") for b in move.message_ids.mapped("body"))
        )
