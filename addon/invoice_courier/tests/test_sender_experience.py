# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the sender sees (issue 12): a live form, one send path, their language,
Mailjet's acceptance time, a faithful text part, private recipients, a readable
history."""

from html import unescape
from pathlib import Path
from unittest.mock import patch

from lxml import etree
from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tests.common import new_test_user
from odoo.tools import html2plaintext

from ..models.account_move import BUS_CHANNEL_PREFIX, BUS_NOTIFICATION, BUS_SUBCHANNEL
from ..tools.plain_text import html_to_text
from .contract_common import CourierCase

# What Odoo 18's editor (the compose window's html_mail field) saved after the
# default template's button label got a colour from its toolbar: the label in
# <font>, a no-break space after it. Captured by the browser test
# (tests/browser, test-artifacts/browser/odoo18/en_US/edited-body.html).
EDITED_BODY = (Path(__file__).parent / "data" / "edited_body_odoo18.html").read_text()
EDITED_TEXT = (
    "Dear Acme Corporation,\n"
    "\n"
    "Here is your invoice INV/2026/00004 amounting to $\xa02,670.00 from Courier Demo Ltd. "
    "It is due on 11/28/2026. Please use the following communication for your payment: "
    "INV/2026/00004.\n"
    "\n"
    "View and pay the invoice [1]\n"
    "\n"
    "The document is attached to this email as a PDF. Do not hesitate to contact us if you "
    "have any questions.\n"
    "\n"
    "--\n"
    "Administrator\n"
    "\n"
    "[1] http://127.0.0.1:8169/my/invoices/40?access_token=b3707f54-6127-453d-9352-88a1de6dec61"
)


@tagged("post_install", "-at_install")
class TestLiveInvoiceForm(CourierCase):
    """Every change of an invoice's email status reaches its open forms through the bus."""

    def setUp(self):
        super().setUp()
        self.sent = []
        bus = type(self.env["bus.bus"])
        sendone = bus._sendone

        def record(bus_self, target, notification_type, message):
            if notification_type == BUS_NOTIFICATION:
                self.sent.append((target, message))
            return sendone(bus_self, target, notification_type, message)

        self.startPatcher(patch.object(bus, "_sendone", record))

    def _notified_moves(self):
        """The invoices notified since the last call, each on its own subchannel."""
        moves = set()
        for (move, subchannel), message in self.sent:
            self.assertEqual(subchannel, BUS_SUBCHANNEL)
            self.assertEqual(message, {"move_id": move.id})
            moves.add(move.id)
        self.sent.clear()
        # A new transaction: each invoice is notified once per transaction.
        self.env.cr.precommit.data.pop("invoice_courier.notified", None)
        return moves

    def test_queued_transmitted_delivered_opened_viewed_and_bounced_notify(self):
        move = self.make_invoice()
        self._notified_moves()
        dispatch = self.make_dispatch(
            move, emails=("anna@customer.example", "bob@customer.example")
        )
        self.assertEqual(self._notified_moves(), {move.id}, "queued")
        self.claim()
        self.transmit(dispatch)
        self.assertEqual(self._notified_moves(), {move.id}, "transmitted")
        anna, bob = dispatch.recipient_ids.sorted("email")
        for recipient, kind in ((anna, "delivered"), (anna, "opened"), (bob, "bounced")):
            self.ingest([self.event(recipient, kind, "2026-11-27T08:16:00Z")])
            self.assertEqual(self._notified_moves(), {move.id}, kind)
        move._courier_mark_viewed("portal")
        self.assertEqual(self._notified_moves(), {move.id}, "viewed")

    def test_only_users_who_may_read_the_invoice_join_its_channel(self):
        move = self.make_invoice()
        name = f"{BUS_CHANNEL_PREFIX}{move.id}"
        accountant = new_test_user(
            self.env, "courier_accountant", groups="account.group_account_invoice"
        )
        portal = new_test_user(self.env, "courier_portal", groups="base.group_portal")
        websocket = self.env["ir.websocket"]
        joined = websocket.with_user(accountant)._courier_invoice_channels([name, "other"])
        self.assertIn((move, BUS_SUBCHANNEL), joined)
        self.assertNotIn(name, joined, "the guessable name itself is never a channel")
        self.assertIn("other", joined)
        refused = websocket.with_user(portal)._courier_invoice_channels([name])
        self.assertNotIn((move, BUS_SUBCHANNEL), refused)
        self.assertNotIn(name, refused)
        unknown = websocket.with_user(accountant)._courier_invoice_channels(
            [f"{BUS_CHANNEL_PREFIX}999999999", f"{BUS_CHANNEL_PREFIX}1e9"]
        )
        self.assertFalse(
            [c for c in unknown if isinstance(c, tuple) and c[1:] == (BUS_SUBCHANNEL,)]
        )


@tagged("post_install", "-at_install")
class TestOneSendPath(CourierCase):
    def test_odoo_send_leads_to_the_compose_window_unless_allowed(self):
        move = self.make_invoice()
        self.assertTrue(self.env.company.courier_replace_odoo_send, "on by default")
        self.assertTrue(move.courier_replaces_send)
        action = move.action_invoice_sent()
        self.assertEqual(action["res_model"], "courier.compose")
        self.assertEqual(action["context"]["default_move_id"], move.id)
        self.env.company.courier_replace_odoo_send = False
        move.invalidate_recordset(["courier_replaces_send"])
        self.assertFalse(move.courier_replaces_send)
        self.assertNotEqual(move.action_invoice_sent()["res_model"], "courier.compose")
        bill = self.init_invoice("in_invoice", partner=self.partner_a, amounts=[10.0], post=True)
        self.env.company.courier_replace_odoo_send = True
        self.assertFalse(bill.courier_replaces_send, "vendor bills keep Odoo's Send")

    def test_the_form_hides_odoo_send_and_highlights_the_envelope_until_sent(self):
        arch = etree.fromstring(
            self.env["account.move"].get_views([(False, "form")])["views"]["form"]["arch"]
        )
        odoo_sends = arch.xpath("//header/button[@name='action_invoice_sent']")
        self.assertEqual(len(odoo_sends), 2)
        for button in odoo_sends:
            self.assertRegex(button.get("invisible"), r" or \(?courier_replaces_send\)?$")
        envelopes = arch.xpath("//header/button[contains(@class, 'o_courier_send')]")
        highlighted = [b for b in envelopes if "btn-primary" in b.get("class")]
        self.assertEqual(len(envelopes), 2)
        self.assertEqual(len(highlighted), 1)
        self.assertIn(
            "courier_state not in ('not_sent', 'failed')", highlighted[0].get("invisible")
        )
        # Printing and e-invoices: Odoo's Print & Send window in the form's Actions menu.
        action = self.env.ref("invoice_courier.action_server_odoo_send_and_print")
        self.assertEqual(action.binding_model_id.model, "account.move")
        move = self.make_invoice()
        opened = action.with_context(active_model="account.move", active_ids=move.ids).run()
        self.assertEqual(opened["res_model"], "account.move.send.wizard")


@tagged("post_install", "-at_install")
class TestNotesInTheSendersLanguage(CourierCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(
            ["invoice_courier"], ["fr_FR"], overwrite=True
        )
        cls.env.company.partner_id.lang = "en_US"
        cls.daemon_user.lang = "en_US"
        cls.french_sender = new_test_user(
            cls.env,
            "courier_french_sender",
            groups="account.group_account_invoice",
            lang="fr_FR",
        )

    def test_sent_viewed_and_bounce_notes_and_activity_in_french(self):
        dispatch = self.make_dispatch(
            emails=("anna@customer.example", "bob@customer.example"),
            requested_by_id=self.french_sender.id,
        )
        move = dispatch.move_id
        self.claim()
        self.transmit(dispatch)
        bob = dispatch.recipient_ids.filtered(lambda r: r.email == "bob@customer.example")
        self.ingest([self.event(bob, "bounced", "2026-11-27T08:16:00Z", detail="user unknown")])
        move.with_context(lang="en_US")._courier_mark_viewed("portal")
        bodies = unescape(" | ".join(move.message_ids.mapped("body")))
        self.assertIn("Envoyé à anna@customer.example, bob@customer.example via Mailjet", bodies)
        self.assertIn("Consultée par le client", bodies)
        self.assertIn("n'a pas été délivré", bodies)
        self.assertIn("(Bounce)", bodies)
        self.assertNotIn("through Mailjet", bodies)
        [activity] = move.activity_ids
        self.assertEqual(activity.user_id, self.french_sender)
        self.assertEqual(activity.summary, "E-mail de facture non délivré")
        self.assertIn("Corrigez l'adresse", unescape(str(activity.note)))

    def test_a_failure_is_told_in_the_senders_language(self):
        dispatch = self.make_dispatch(requested_by_id=self.french_sender.id)
        self.claim()
        self.report(
            [
                {
                    "id": dispatch.id,
                    "custom_id": dispatch.custom_id,
                    "outcome": "failed",
                    "time": "2026-11-27T08:15:02Z",
                    "error": {"code": "send-0010", "message": "bad", "status": 400},
                }
            ]
        )
        bodies = unescape(" | ".join(dispatch.move_id.message_ids.mapped("body")))
        self.assertIn("L'envoi par e-mail a échoué", bodies)


@tagged("post_install", "-at_install")
class TestTransmittedTime(CourierCase):
    def test_the_time_shown_is_mailjets_acceptance_not_the_claims(self):
        dispatch = self.make_dispatch()
        self.claim()
        recipient = dispatch.recipient_ids
        self.report(
            [
                {
                    "id": dispatch.id,
                    "custom_id": dispatch.custom_id,
                    "outcome": "transmitted",
                    "time": "2026-11-27T17:25:53Z",
                    "transmitted_at": "2026-11-27T17:26:03Z",
                    "recipients": [{"email": recipient.email, "message_id": "1152921504606846999"}],
                }
            ]
        )
        self.assertEqual(str(dispatch.transmitted_at), "2026-11-27 17:26:03")
        self.assertEqual(str(recipient.status_time), "2026-11-27 17:26:03")
        self.assertEqual(str(dispatch.event_ids.event_time), "2026-11-27 17:26:03")

    def test_an_older_daemon_without_it_gives_the_reports_time(self):
        dispatch = self.make_dispatch()
        self.claim()
        self.transmit(dispatch, time="2026-11-27T17:25:53Z")
        self.assertEqual(str(dispatch.transmitted_at), "2026-11-27 17:25:53")


@tagged("post_install", "-at_install")
class TestTextPart(CourierCase):
    def test_a_label_the_editor_wrapped_in_font_reads_whole(self):
        self.assertIn('<font style="color:#ff0000">', EDITED_BODY)
        self.assertEqual(html_to_text(EDITED_BODY), EDITED_TEXT)
        # Odoo's own html2plaintext loses the label: the reason for html_to_text.
        self.assertIn("None [1]", html2plaintext(EDITED_BODY))

    def test_the_claimed_text_part_is_that_rendering(self):
        dispatch = self.make_dispatch(body_html=EDITED_BODY)
        [payload] = self.claim()
        self.assertEqual(payload["text"], html_to_text(dispatch.body_html))
        self.assertIn("View and pay the invoice [1]", payload["text"])

    def test_lists_tables_and_line_breaks(self):
        self.assertEqual(
            html_to_text(
                "<p>Items:</p><ul><li>one</li><li>two</li></ul>"
                "<table><tr><td>A</td><td>B</td></tr></table>"
                '<p>Mail <a href="mailto:x@y.example">x@y.example</a><br>bye</p>'
                "<style>p {color: red}</style><!-- a comment -->"
            ),
            "Items:\n\n- one\n- two\n\nA B\n\nMail x@y.example\nbye",
        )
        self.assertEqual(html_to_text(""), "")
        self.assertEqual(html_to_text("<p><br></p>"), "")


@tagged("post_install", "-at_install")
class TestPrivateRecipients(CourierCase):
    def test_each_recipient_gets_their_own_email_unless_the_company_says_one(self):
        self.make_dispatch(emails=("anna@customer.example", "bob@customer.example"))
        [payload] = self.claim()
        self.assertIs(payload["one_email_to_all"], False)
        self.env.company.courier_one_email_to_all = True
        self.make_dispatch()
        [payload] = self.claim()
        self.assertIs(payload["one_email_to_all"], True)

    def test_at_most_fifty_recipients(self):
        move = self.make_invoice()
        user = new_test_user(self.env, "courier_many", groups="account.group_account_invoice")
        vals = {
            "move_id": move.id,
            "subject": "Invoice",
            "recipient_ids": [
                Command.create({"email": f"r{n}@customer.example"}) for n in range(51)
            ],
        }
        with self.assertRaisesRegex(UserError, "at most 50 recipients"):
            self.env["courier.dispatch"].with_user(user).create(vals)
        vals["recipient_ids"] = vals["recipient_ids"][:50]
        self.assertEqual(
            len(self.env["courier.dispatch"].with_user(user).create(vals).recipient_ids), 50
        )

    def test_a_recipient_mailjet_refused_is_blocked_the_others_transmitted(self):
        dispatch = self.make_dispatch(emails=("anna@customer.example", "bob@customer.example"))
        self.claim()
        anna, bob = dispatch.recipient_ids.sorted("email")
        self.report(
            [
                {
                    "id": dispatch.id,
                    "custom_id": dispatch.custom_id,
                    "outcome": "transmitted",
                    "time": "2026-11-27T08:15:02Z",
                    "recipients": [{"email": anna.email, "message_id": "1152921504606846001"}],
                    "refused": [
                        {"email": bob.email, "code": "send-0010", "message": "Email is invalid"}
                    ],
                }
            ]
        )
        self.assertEqual(dispatch.state, "transmitted")
        self.assertEqual(anna.status, "transmitted")
        self.assertEqual(bob.status, "blocked")
        self.assertEqual(bob.error_text, "send-0010 Email is invalid")
        notes = unescape(" | ".join(dispatch.move_id.message_ids.mapped("body")))
        self.assertIn("Sent to anna@customer.example through Mailjet", notes)
        self.assertIn("The email to bob@customer.example was not delivered (Blocked)", notes)


@tagged("post_install", "-at_install")
class TestReadableHistory(CourierCase):
    def test_one_status_per_line_the_sends_only_when_it_says_something_else(self):
        sent = self.make_dispatch()
        self.claim()
        self.transmit(sent)
        self.assertEqual(sent.recipient_ids.history_status, "transmitted")
        failed = self.make_dispatch(sent.move_id)
        self.claim()
        self.report(
            [
                {
                    "id": failed.id,
                    "custom_id": failed.custom_id,
                    "outcome": "failed",
                    "time": "2026-11-27T08:15:02Z",
                    "error": {"code": "send-0010", "message": "bad", "status": 400},
                }
            ]
        )
        self.assertEqual(failed.recipient_ids.status, "queued")
        self.assertEqual(failed.recipient_ids.history_status, "failed")
        cancelled = self.make_dispatch(sent.move_id)
        cancelled.action_courier_cancel()
        self.assertEqual(cancelled.recipient_ids.history_status, "cancelled")
        arch = etree.fromstring(
            self.env["account.move"].get_views([(False, "form")])["views"]["form"]["arch"]
        )
        [history] = arch.xpath("//field[@name='courier_recipient_ids']")
        self.assertEqual(history.get("widget"), "courier_history")
        columns = [f.get("name") for f in history.xpath(".//list/field")]
        self.assertIn("history_status", columns)
        self.assertNotIn("dispatch_state", columns)

    def test_the_daemon_leaves_no_is_move_sent_tracking_line(self):
        dispatch = self.make_dispatch()
        move = dispatch.move_id
        self.claim()
        self.transmit(dispatch)
        self.env.flush_all()
        self.assertTrue(move.is_move_sent)
        tracked = move.message_ids.tracking_value_ids.filtered(
            lambda value: value.field_id.name == "is_move_sent"
        )
        self.assertFalse(tracked)

    def test_a_chosen_contact_is_no_longer_offered(self):
        customer = self.env["res.partner"].create(
            {
                "name": "Acme",
                "is_company": True,
                "email": "ap@acme.example",
                "child_ids": [Command.create({"name": "Anna", "email": "anna@acme.example"})],
            }
        )
        move = self.init_invoice("out_invoice", partner=customer, amounts=[10.0], post=True)
        compose = Form(self.env["courier.compose"].with_context(default_move_id=move.id))
        self.assertEqual(compose.partner_ids[:].ids, customer.ids)
        domain = self.env["courier.compose"]._fields["partner_ids"].domain
        self.assertIn("('id', 'not in', partner_ids)", domain)
        offered = self.env["res.partner"].search(
            [
                ("id", "child_of", customer.id),
                ("email", "!=", False),
                ("id", "not in", compose.partner_ids[:].ids),
            ]
        )
        self.assertEqual(offered.mapped("name"), ["Anna"])
