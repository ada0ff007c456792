# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 15: every attack found on the access rules, tried as every role, denied.

Two companies; the Courier daemon user; an invoicing user in each company; an
invoicing administrator (company A); an internal user without invoicing
rights; a portal user and the public user. Each attack is tried as each role
and must be refused; the legitimate flows (compose with attachments, bulk
send, claim and report by the daemon) still work. The portal's side (Host
header, repeated visits) is in test_portal.py.
"""

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tests.common import new_test_user

from .contract_common import CourierCase

WEBHOOK_URL = "https://mailjet:s3cret@courier.example/webhooks/mailjet"
XSS = '<img src=x onerror="alert(document.domain)">'


@tagged("post_install", "-at_install")
class TestAccessControl(CourierCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.setup_other_company()["company"]
        cls.company_b.courier_sender_email = "billing@b.example"

        def user(login, groups, company):
            return new_test_user(
                cls.env,
                login=login,
                groups=groups,
                company_id=company.id,
                company_ids=[Command.set(company.ids)],
            )

        cls.user_a = user(
            "courier_inv_a", "base.group_user,account.group_account_invoice", cls.company_a
        )
        cls.user_b = user(
            "courier_inv_b", "base.group_user,account.group_account_invoice", cls.company_b
        )
        cls.manager = user(
            "courier_inv_manager", "base.group_user,account.group_account_manager", cls.company_a
        )
        cls.internal = user("courier_internal", "base.group_user", cls.company_a)
        cls.portal = user("courier_portal_user", "base.group_portal", cls.company_a)
        cls.public = cls.env.ref("base.public_user")
        cls.admin = cls.env.ref("base.user_admin")
        # Everyone who is not the daemon and not a settings administrator.
        cls.roles = {
            "daemon": cls.daemon_user,
            "invoicing user A": cls.user_a,
            "invoicing user B": cls.user_b,
            "invoicing administrator": cls.manager,
            "internal user": cls.internal,
            "portal user": cls.portal,
            "public user": cls.public,
        }

    def setUp(self):
        super().setUp()
        self.move_a = self.make_invoice()
        self.move_b = self.make_invoice(company=self.company_b)
        self.dispatch_a = self.make_dispatch(self.move_a)
        self.dispatch_b = self.make_dispatch(self.move_b, emails=("bob@customer.example",))
        Attachment = self.env["ir.attachment"]
        # B's invoice file, and a file of B's user that nobody else may open.
        self.file_of_b_invoice = Attachment.create(
            {
                "name": "B invoice.pdf",
                "raw": b"%PDF-1.4 B",
                "res_model": "account.move",
                "res_id": self.move_b.id,
            }
        )
        self.private_file_of_b = Attachment.with_user(self.user_b).create(
            {"name": "B private.txt", "raw": b"private"}
        )

    def attempt(self, role, user, operation, error=AccessError):
        """Run `operation(user)` and assert it is refused with `error`."""
        with self.subTest(role=role), self.assertRaises(error):
            operation(user)

    def every_role(self, operation, error=AccessError, roles=None):
        for role, user in (roles or self.roles).items():
            self.attempt(role, user, operation, error)

    # ------------------------------------------------------------- forged sends

    def test_nobody_sends_another_companys_files(self):
        def send_with_b_files(user):
            self.env["courier.dispatch"].with_user(user).create(
                {
                    "move_id": self.move_a.id,
                    "subject": "x",
                    "attachment_ids": [
                        Command.set([self.file_of_b_invoice.id, self.private_file_of_b.id])
                    ],
                    "recipient_ids": [Command.create({"email": "exfil@evil.example"})],
                }
            )

        self.every_role(send_with_b_files)
        # Even a file of the user's own company that is not the invoice's.
        other_file = self.env["ir.attachment"].create(
            {"name": "payroll.txt", "raw": b"payroll", "res_model": "res.partner", "res_id": 1}
        )
        self.attempt(
            "invoicing user A",
            self.user_a,
            lambda user: (
                self.env["courier.dispatch"]
                .with_user(user)
                .create(
                    {
                        "move_id": self.move_a.id,
                        "subject": "x",
                        "attachment_ids": [Command.set(other_file.ids)],
                        "recipient_ids": [Command.create({"email": "anna@customer.example"})],
                    }
                )
            ),
        )
        self.assertEqual(self.env["courier.dispatch"].search_count([("subject", "=", "x")]), 0)

    def test_nobody_sends_another_companys_invoice(self):
        self.every_role(
            lambda user: (
                self.env["courier.dispatch"]
                .with_user(user)
                .create(
                    {
                        "move_id": self.move_b.id,
                        "subject": "x",
                        "recipient_ids": [Command.create({"email": "exfil@evil.example"})],
                    }
                )
            ),
            roles={k: v for k, v in self.roles.items() if k != "invoicing user B"},
        )

    def test_nobody_sets_the_fields_the_system_owns_at_creation(self):
        forged = {
            "state": "transmitted",
            "sender_email": "ceo@bank.example",
            "sender_name": "Your bank",
            "web_url": "https://phishing.example/pay",
            "custom_id": self.dispatch_b.custom_id,
            "requested_by_id": self.admin.id,
            "attempts": 0,
            "company_id": self.company_b.id,
        }
        for name, value in forged.items():
            with self.subTest(field=name):
                self.every_role(
                    lambda user, name=name, value=value: (
                        self.env["courier.dispatch"]
                        .with_user(user)
                        .create(
                            {
                                "move_id": self.move_a.id,
                                "subject": "x",
                                name: value,
                                "recipient_ids": [
                                    Command.create({"email": "anna@customer.example"})
                                ],
                            }
                        )
                    )
                )
        self.every_role(
            lambda user: (
                self.env["courier.dispatch"]
                .with_user(user)
                .create(
                    {
                        "move_id": self.move_a.id,
                        "subject": "x",
                        "recipient_ids": [
                            Command.create(
                                {"email": "anna@customer.example", "status": "delivered"}
                            )
                        ],
                    }
                )
            )
        )

    def test_nobody_rewrites_a_send(self):
        self.dispatch_a.sudo().write({"state": "transmitted"})
        changes = {
            "move_id": self.move_b.id,
            "state": "queued",
            "sender_email": "ceo@bank.example",
            "sender_name": "Your bank",
            "web_url": "https://phishing.example/pay",
            "requested_by_id": self.admin.id,
            "custom_id": "forged",
            "subject": "changed",
        }
        for name, value in changes.items():
            with self.subTest(field=name):
                self.every_role(
                    lambda user, name=name, value=value: self.dispatch_a.with_user(user).write(
                        {name: value}
                    ),
                )
        self.assertEqual(self.dispatch_a.state, "transmitted")
        self.assertEqual(self.dispatch_a.move_id, self.move_a)

    def test_nobody_adds_or_moves_recipients(self):
        recipient = self.dispatch_a.recipient_ids
        self.every_role(
            lambda user: recipient.with_user(user).write({"dispatch_id": self.dispatch_b.id})
        )
        for name, value in (
            ("status", "clicked"),
            ("message_id", "1"),
            ("email", "x@evil.example"),
        ):
            with self.subTest(field=name):
                self.every_role(
                    lambda user, name=name, value=value: recipient.with_user(user).write(
                        {name: value}
                    )
                )
        self.every_role(
            lambda user: (
                self.env["courier.recipient"]
                .with_user(user)
                .create({"dispatch_id": self.dispatch_b.id, "email": "spy@evil.example"})
            )
        )
        self.every_role(
            lambda user: (
                self.env["courier.recipient"]
                .with_user(user)
                .create({"dispatch_id": self.dispatch_a.id, "email": "spy@evil.example"})
            )
        )
        self.assertEqual(self.dispatch_b.recipient_ids.mapped("email"), ["bob@customer.example"])

    def test_records_stay_in_their_invoices_company_even_as_superuser(self):
        dispatch = self.dispatch_a.sudo()
        with self.assertRaises(ValidationError):
            dispatch.write({"move_id": self.move_b.id})
        with self.assertRaises(ValidationError):
            dispatch.recipient_ids.write({"dispatch_id": self.dispatch_b.id})
        with self.assertRaises(ValidationError):
            dispatch.write({"company_id": self.company_b.id})

    def test_recipients_are_validated_however_created(self):
        for bad in ("not an address", "a@b", "<script>@x.example", "x@evil.example<img src=x>"):
            with self.subTest(email=bad), self.assertRaises(ValidationError):
                self.env["courier.recipient"].sudo().create(
                    {"dispatch_id": self.dispatch_a.id, "email": bad}
                )
            with self.subTest(email=bad, path="create as user"), self.assertRaises(ValidationError):
                self.env["courier.dispatch"].with_user(self.user_a).create(
                    {
                        "move_id": self.move_a.id,
                        "subject": "x",
                        "recipient_ids": [Command.create({"email": bad})],
                    }
                )

    def test_the_claim_never_hands_out_a_file_the_sender_cannot_read(self):
        # A send forged behind the checks (an import, a bug): the claim re-checks.
        forged = self.make_dispatch(
            self.move_a,
            requested_by_id=self.user_a.id,
            attachment_ids=[Command.set(self.private_file_of_b.ids)],
        )
        claimed = {payload["id"]: payload for payload in self.claim(limit=50)}
        self.assertNotIn(forged.id, claimed)
        self.assertIn(self.dispatch_a.id, claimed)
        self.assertEqual(forged.state, "failed")
        self.assertEqual(forged.error_code, "attachment-denied")
        for payload in claimed.values():
            self.assertNotIn("B private.txt", [a["filename"] for a in payload["attachments"]])

    def test_the_contract_is_the_daemons_alone(self):
        calls = (
            ("courier.dispatch", "courier_claim", ("w", 1, 60)),
            ("courier.dispatch", "courier_report", ([],)),
            ("courier.dispatch", "courier_render_pdf", (self.dispatch_a.id,)),
            ("courier.dispatch", "courier_render_pdfs", ([self.dispatch_a.id],)),
            ("courier.event", "courier_ingest", ([],)),
            ("courier.recipient", "courier_open_tracking", (10, 30)),
        )
        roles = {k: v for k, v in self.roles.items() if k != "daemon"}
        for model, method, args in calls:
            with self.subTest(method=method):
                self.every_role(
                    lambda user, model=model, method=method, args=args: getattr(
                        self.env[model].with_user(user), method
                    )(*args),
                    roles=roles,
                )

    def test_the_daemon_touches_nothing_but_the_contract(self):
        daemon = {"daemon": self.daemon_user}
        for model, record in (
            ("courier.dispatch", self.dispatch_a),
            ("courier.recipient", self.dispatch_a.recipient_ids),
            ("courier.event", self.env["courier.event"]),
            ("account.move", self.move_a),
        ):
            with self.subTest(model=model):
                self.every_role(
                    lambda user, model=model: self.env[model].with_user(user).search([]),
                    roles=daemon,
                )
                if record:
                    self.every_role(
                        lambda user, model=model, record=record: (
                            self.env[model]
                            .with_user(user)
                            .browse(record.ids)
                            .read(["display_name"])
                        ),
                        roles=daemon,
                    )

    def test_company_b_sees_nothing_of_company_a(self):
        for model, records in (
            ("courier.dispatch", self.dispatch_a),
            ("courier.recipient", self.dispatch_a.recipient_ids),
        ):
            visible = self.env[model].with_user(self.user_b).search([("id", "in", records.ids)])
            self.assertFalse(visible, model)
            with self.assertRaises(AccessError):
                records.with_user(self.user_b).read(["display_name"])
        with self.assertRaises(AccessError):
            self.dispatch_a.with_user(self.user_b).action_courier_cancel()

    def test_users_without_invoicing_rights_see_no_sends(self):
        for role in ("internal user", "portal user", "public user"):
            self.attempt(
                role,
                self.roles[role],
                lambda user: self.env["courier.dispatch"].with_user(user).search([]),
            )

    # ------------------------------------------------------------------ wizards

    def test_wizard_html_is_sanitized_and_wizards_are_their_makers(self):
        Wizard = self.env["courier.bulk.send"]
        mine = Wizard.with_user(self.user_a).create(
            {"state": "done", "result_skipped_count": 1, "result_skipped_html": XSS}
        )
        self.assertNotIn("onerror", str(mine.result_skipped_html))
        compose = (
            self.env["courier.compose"].with_user(self.user_a).create({"move_id": self.move_a.id})
        )
        others = {k: v for k, v in self.roles.items() if k != "invoicing user A"}
        for wizard in (mine, compose):
            with self.subTest(model=wizard._name):
                self.every_role(
                    lambda user, wizard=wizard: wizard.with_user(user).read(["display_name"]),
                    roles=others,
                )
                visible = wizard.with_user(self.manager).search([("id", "=", wizard.id)])
                self.assertFalse(visible)
        self.assertEqual(mine.with_user(self.user_a).result_skipped_count, 1)

    # ------------------------------------------------------------------ webhook

    def test_webhook_url_is_for_settings_administrators(self):
        self.env["ir.config_parameter"].sudo().set_param("invoice_courier.webhook_url", WEBHOOK_URL)
        for role, user in self.roles.items():
            with self.subTest(role=role):
                Settings = self.env["res.config.settings"].with_user(user)
                self.assertNotIn(
                    "courier_webhook_url", Settings.default_get(["courier_webhook_url"])
                )
        values = (
            self.env["res.config.settings"]
            .with_user(self.admin)
            .default_get(["courier_webhook_url"])
        )
        self.assertEqual(values["courier_webhook_url"], WEBHOOK_URL)

    # ---------------------------------------------------------------- low ones

    def test_activity_notes_escape_the_daemons_text(self):
        dispatch = self.make_dispatch(self.move_a, requested_by_id=self.user_a.id)
        self.claim(limit=50)
        hostile = '<a href="https://evil.example">pay here</a><img src="https://evil.example/x">'
        self.report(
            [
                {
                    "id": dispatch.id,
                    "custom_id": dispatch.custom_id,
                    "outcome": "failed",
                    "error": {"code": "send-0010", "message": hostile},
                }
            ]
        )
        activity = self.move_a.activity_ids.filtered(lambda a: a.user_id == self.user_a)
        self.assertEqual(len(activity), 1)
        note = str(activity.note)
        self.assertNotIn("<a href", note)
        self.assertNotIn("<img", note)
        self.assertIn("&lt;img", note)

    def test_bad_contract_arguments_get_a_clear_error(self):
        # The same texts as the stand-in ERP's (tests/contract/test_bad_arguments.py).
        Dispatch = self.as_daemon("courier.dispatch")
        Recipient = self.as_daemon("courier.recipient")
        for call, message in (
            (
                lambda: Recipient.courier_open_tracking(500, 1e308),
                "max_age_days: expected a number of days up to 36500, got 1e+308",
            ),
            (
                lambda: Recipient.courier_open_tracking("many", 30),
                "limit: expected an integer, got 'many'",
            ),
            (
                lambda: self.as_daemon("courier.event").courier_ingest({"dedupe_key": "k"}),
                "events: expected a list, got {'dedupe_key': 'k'}",
            ),
            (
                lambda: Dispatch.courier_report({"id": 1}),
                "results: expected a list, got {'id': 1}",
            ),
            (
                lambda: Dispatch.courier_claim("w", 1, 1e308),
                "lease_seconds: expected at most 86400 seconds, got 1e+308",
            ),
            (
                lambda: Dispatch.courier_claim("", 1, 60),
                "worker_id: expected a non-empty string, got ''",
            ),
            (
                lambda: Dispatch.courier_claim("w", 1, 60, "soon"),
                "wait_seconds: expected a number of seconds up to 60, got 'soon'",
            ),
        ):
            with self.subTest(message=message), self.assertRaises(ValidationError) as refused:
                call()
            self.assertEqual(refused.exception.args[0], message)
        self.assertEqual(
            self.as_daemon("courier.event").courier_ingest(["x", 1, {"type": ["x"]}]),
            {"created": 0, "duplicate": 0, "unmatched": 3},
        )
        self.assertEqual(
            Dispatch.courier_report(
                ["x", {"id": 10**30}, {"id": self.dispatch_a.id, "error": "x"}]
            ),
            {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 3},
        )

    # ------------------------------------------------------------ what still works

    def test_compose_with_uploads_and_invoice_files_then_claim_and_report(self):
        upload = (
            self.env["ir.attachment"]
            .with_user(self.user_a)
            .create(
                {"name": "terms.pdf", "raw": b"terms", "res_model": "courier.compose", "res_id": 0}
            )
        )
        invoice_file = (
            self.env["ir.attachment"]
            .with_user(self.user_a)
            .create(
                {
                    "name": "timesheet.pdf",
                    "raw": b"hours",
                    "res_model": "account.move",
                    "res_id": self.move_a.id,
                }
            )
        )
        compose = (
            self.env["courier.compose"]
            .with_user(self.user_a)
            .create(
                {
                    "move_id": self.move_a.id,
                    "attachment_ids": [Command.set([upload.id, invoice_file.id])],
                }
            )
        )
        compose.action_send()
        dispatch = self.move_a.courier_dispatch_ids.filtered(
            lambda d: d.requested_by_id == self.user_a
        )
        self.assertEqual(len(dispatch), 1)
        self.assertEqual(dispatch.attachment_ids, upload | invoice_file)
        self.assertEqual((upload.res_model, upload.res_id), ("account.move", self.move_a.id))
        claimed = {payload["id"]: payload for payload in self.claim(limit=50)}
        names = [a["filename"] for a in claimed[dispatch.id]["attachments"]]
        self.assertIn("terms.pdf", names)
        self.assertIn("timesheet.pdf", names)
        self.assertEqual(self.transmit(dispatch)["transmitted"], 1)
        self.assertEqual(dispatch.state, "transmitted")

    def test_invoicing_users_still_send_in_bulk_and_cancel(self):
        moves = self.make_invoice() | self.make_invoice()
        Wizard = self.env["courier.bulk.send"].with_user(self.user_a)
        wizard = Wizard.browse(Wizard.action_open_for(moves.with_user(self.user_a))["res_id"])
        wizard.action_send()
        self.assertEqual(wizard.queued_count, 2)
        sent = moves.courier_dispatch_ids
        self.assertEqual(sent.requested_by_id, self.user_a)
        sent[:1].with_user(self.manager).action_courier_cancel()
        self.assertEqual(sent[:1].state, "cancelled")
