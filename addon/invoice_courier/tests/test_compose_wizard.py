# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.invoice_courier.tools.email_address import normalize_strict, split_addresses
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval


@tagged("post_install", "-at_install")
class TestComposeWizard(AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.customer = Partner.create(
            {"name": "Customer Inc", "is_company": True, "email": "billing@customer.example"}
        )
        cls.anna = Partner.create(
            {"name": "Anna", "parent_id": cls.customer.id, "email": "anna@customer.example"}
        )
        cls.bob = Partner.create({"name": "Bob", "parent_id": cls.customer.id, "email": False})
        cls.outsider = Partner.create({"name": "Outsider", "email": "someone@elsewhere.example"})
        cls.invoice = cls._posted_invoice(cls.customer)

    @classmethod
    def _invoice(cls, partner, move_type="out_invoice"):
        return cls.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": partner.id,
                "invoice_date": "2026-11-27",
                "invoice_line_ids": [
                    Command.create({"name": "Consulting", "quantity": 1, "price_unit": 1250.0})
                ],
            }
        )

    @classmethod
    def _posted_invoice(cls, partner, move_type="out_invoice"):
        move = cls._invoice(partner, move_type)
        move.action_post()
        return move

    def _compose(self, move=None, **values):
        return self.env["courier.compose"].create({"move_id": (move or self.invoice).id, **values})

    def test_window_is_prefilled(self):
        form = Form(
            self.env["courier.compose"].with_context(
                active_model="account.move", active_id=self.invoice.id
            )
        )
        self.assertEqual(form.move_id, self.invoice)
        self.assertEqual(form.partner_ids[:], self.customer, "the invoice address is pre-selected")
        self.assertIn(self.invoice.name, form.subject)
        self.assertIn(self.customer.name, form.body_html)
        self.invoice.invalidate_recordset(["access_token"])
        portal_url = self.invoice.get_base_url() + self.invoice.get_portal_url()
        self.assertIn("access_token=", portal_url)
        self.assertEqual(form.web_url, portal_url)
        self.assertIn(
            portal_url.replace("&", "&amp;"), form.body_html, "the body links to the web document"
        )
        filename = self.invoice.name.replace("/", "_") + ".pdf"
        self.assertEqual(form.attachment_label, f"{filename} (attached when sent)")
        self.assertFalse(self.invoice.invoice_pdf_report_id, "opening the window renders no PDF")

    def test_contacts_without_email_and_outsiders_are_not_offered(self):
        compose = self._compose()
        domain_text = self.env["courier.compose"].fields_get(["partner_ids"])["partner_ids"][
            "domain"
        ]
        context = {"commercial_partner_id": compose.commercial_partner_id.id, "partner_ids": []}
        offered = self.env["res.partner"].search(safe_eval(domain_text, context))
        self.assertEqual(offered, self.customer | self.anna)
        # A contact already chosen (the invoice's address, proposed) is no longer offered.
        context["partner_ids"] = compose.partner_ids.ids
        self.assertEqual(self.env["res.partner"].search(safe_eval(domain_text, context)), self.anna)

    def test_address_of_a_contact_is_prefilled(self):
        invoice = self._posted_invoice(self.anna)
        compose = self._compose(invoice)
        self.assertEqual(compose.partner_ids, self.anna)
        self.assertEqual(compose.commercial_partner_id, self.customer)

    def test_separators(self):
        self.assertEqual(
            split_addresses("a@x.example, b@x.example;c@x.example\nd@x.example\r\n ;, e@x.example"),
            ["a@x.example", "b@x.example", "c@x.example", "d@x.example", "e@x.example"],
        )
        self.assertEqual(split_addresses("  \n ; "), [])

    def test_strict_validation(self):
        self.assertEqual(normalize_strict("Anna@Customer.Example"), "anna@customer.example")
        self.assertEqual(normalize_strict("Anna <anna@customer.example>"), "anna@customer.example")
        self.assertEqual(
            normalize_strict("o'neil+billing@sub.customer.example"),
            "o'neil+billing@sub.customer.example",
        )
        self.assertEqual(normalize_strict("info@example.xn--p1ai"), "info@example.xn--p1ai")
        for bad in (
            "anna@",
            "@customer.example",
            "anna",
            "anna@customer",
            "anna@@customer.example",
            "anna@customer.example.",
            "an na@customer.example",
            "a@b.example c@d.example",
        ):
            self.assertFalse(normalize_strict(bad), bad)

    def test_invalid_typed_addresses_are_named(self):
        with self.assertRaises(ValidationError) as caught:
            self._compose(
                other_emails="good@customer.example, not-an-address; anna@customer\nx@@y.example"
            )
        message = str(caught.exception)
        for invalid in ("not-an-address", "anna@customer", "x@@y.example"):
            self.assertIn(invalid, message)
        self.assertNotIn("good@customer.example", message)

    def test_queue_with_contacts_and_typed_addresses(self):
        compose = self._compose(
            partner_ids=[Command.set((self.customer | self.anna).ids)],
            other_emails="Accounts@Customer.example; anna@customer.example,\nceo@customer.example",
        )
        action = compose.action_send()
        self.assertEqual(action, {"type": "ir.actions.act_window_close"})
        dispatch = self.invoice.courier_dispatch_ids
        self.assertEqual(len(dispatch), 1)
        self.assertEqual(dispatch.state, "queued")
        self.assertEqual(dispatch.subject, compose.subject)
        self.assertIn(self.customer.name, dispatch.body_html)
        self.assertEqual(
            sorted(dispatch.recipient_ids.mapped("email")),
            [
                "accounts@customer.example",
                "anna@customer.example",
                "billing@customer.example",
                "ceo@customer.example",
            ],
            "one recipient per distinct address, typed duplicates of a contact dropped",
        )
        anna_line = dispatch.recipient_ids.filtered(lambda r: r.email == "anna@customer.example")
        self.assertEqual(anna_line.partner_id, self.anna)
        self.assertTrue(
            all(status == "queued" for status in dispatch.recipient_ids.mapped("status"))
        )
        self.assertEqual(self.invoice.courier_state, "queued")
        self.assertFalse(
            self.invoice.invoice_pdf_report_id, "the PDF is rendered later by courierd"
        )

    def test_billing_user_can_send(self):
        billing_user = mail_new_test_user(
            self.env,
            login="courier_compose_billing",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.env.company.id,
            company_ids=[Command.set(self.env.company.ids)],
        )
        Compose = self.env["courier.compose"].with_user(billing_user)
        form = Form(Compose.with_context(active_model="account.move", active_ids=self.invoice.ids))
        form.other_emails = "ceo@customer.example"
        form.save().action_send()
        dispatch = self.invoice.courier_dispatch_ids
        self.assertEqual(dispatch.requested_by_id, billing_user)
        self.assertEqual(
            sorted(dispatch.recipient_ids.mapped("email")),
            ["billing@customer.example", "ceo@customer.example"],
        )
        self.assertEqual(self.invoice.courier_state, "queued")

    def test_typed_addresses_only(self):
        compose = self._compose(partner_ids=[Command.clear()], other_emails="ceo@customer.example")
        compose.action_send()
        self.assertEqual(
            self.invoice.courier_dispatch_ids.recipient_ids.mapped("email"),
            ["ceo@customer.example"],
        )
        self.assertFalse(self.invoice.courier_dispatch_ids.recipient_ids.partner_id)

    def test_edited_subject_and_body_are_sent(self):
        compose = self._compose()
        compose.write(
            {"subject": "Your invoice, as promised", "body_html": "<p>Hello from accounting</p>"}
        )
        compose.action_send()
        dispatch = self.invoice.courier_dispatch_ids
        self.assertEqual(dispatch.subject, "Your invoice, as promised")
        self.assertIn("Hello from accounting", dispatch.body_html)

    def test_credit_note_can_be_sent(self):
        refund = self._posted_invoice(self.customer, "out_refund")
        compose = self._compose(refund)
        self.assertIn(refund.name, compose.subject)
        compose.action_send()
        self.assertEqual(refund.courier_state, "queued")

    def test_no_recipient_refused(self):
        compose = self._compose(partner_ids=[Command.clear()], other_emails="  ;\n")
        with self.assertRaisesRegex(UserError, "at least one recipient"):
            compose.action_send()
        self.assertFalse(self.invoice.courier_dispatch_ids)
        self.assertEqual(self.invoice.courier_state, "not_sent")

    def test_draft_refused(self):
        draft = self._invoice(self.customer)
        compose = self._compose(draft)
        with self.assertRaisesRegex(UserError, "draft"):
            compose.action_send()
        self.assertFalse(draft.courier_dispatch_ids)

    def test_cancelled_refused(self):
        cancelled = self._invoice(self.customer)
        cancelled.button_cancel()
        compose = self._compose(cancelled)
        with self.assertRaisesRegex(UserError, "cancelled"):
            compose.action_send()
        self.assertFalse(cancelled.courier_dispatch_ids)

    def test_vendor_bill_refused(self):
        bill = self._posted_invoice(self.customer, "in_invoice")
        compose = self._compose(bill)
        with self.assertRaisesRegex(UserError, "not a customer invoice"):
            compose.action_send()

    def test_contact_outside_the_customer_refused(self):
        compose = self._compose(partner_ids=[Command.set(self.outsider.ids)])
        with self.assertRaisesRegex(UserError, "Outsider"):
            compose.action_send()

    def test_contact_without_email_refused(self):
        compose = self._compose(partner_ids=[Command.set(self.bob.ids)])
        with self.assertRaisesRegex(UserError, "Bob"):
            compose.action_send()

    def test_customer_language_and_french_labels(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(
            ["invoice_courier"], ["fr_FR"], overwrite=True
        )
        self.customer.lang = "fr_FR"
        compose = self._compose()
        self.assertEqual(compose.lang, "fr_FR")
        self.assertIn("Facture", compose.subject)
        self.assertIn("Voir et payer la facture", compose.body_html)

        def labels(model, field):
            described = self.env[model].with_context(lang="fr_FR").fields_get([field])[field]
            return described["string"], dict(described.get("selection") or [])

        _string, states = labels("account.move", "courier_state")
        self.assertEqual(
            states,
            {
                "not_sent": "Non envoyé",
                "queued": "En file d'attente",
                "sent": "Envoyé",
                "viewed": "Consultée",
                "downloaded": "Téléchargée",
                "paid": "Payée en ligne",
                "bounced": "Bounce",
                "failed": "Échec",
            },
        )
        _string, statuses = labels("courier.recipient", "status")
        for key, french in (
            ("transmitted", "Transmis"),
            ("delivered", "Délivré"),
            ("opened", "Ouvert"),
            ("clicked", "Cliqué"),
            ("bounced", "Bounce"),
            ("blocked", "Bloqué"),
            ("spam", "Spam"),
            ("unsubscribed", "Désabonné"),
            ("deferred", "Différé"),
        ):
            self.assertEqual(statuses[key], french)
        self.assertEqual(labels("courier.compose", "partner_ids")[0], "Destinataires")
        self.assertEqual(labels("courier.compose", "other_emails")[0], "Autres adresses")
        arch = (
            self.env["courier.compose"]
            .with_context(lang="fr_FR")
            .get_view(self.env.ref("invoice_courier.courier_compose_view_form").id)["arch"]
        )
        self.assertIn("Envoyer le document", arch)
        move_arch = (
            self.env["account.move"]
            .with_context(lang="fr_FR")
            .get_view(self.env.ref("account.view_move_form").id)["arch"]
        )
        self.assertIn("Historique des e-mails", move_arch)
        self.assertIn("Envoyer par e-mail", move_arch)
        with self.assertRaisesRegex(UserError, "brouillon"):
            self._compose(self._invoice(self.customer)).with_context(lang="fr_FR").action_send()
