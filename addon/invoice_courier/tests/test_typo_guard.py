# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 14, point 2: addresses flagged before sending, never refused.

A domain one edit away from a common one (courier.mail.domain, shipped as
data) gets a suggestion; an address that hard-bounced before gets when. The
compose window, the bulk send and the contact form show it; sending still
works.
"""

from odoo import Command
from odoo.addons.invoice_courier.tools.address_typos import (
    one_edit_apart,
    suggest_address,
    suggest_domain,
)
from odoo.exceptions import AccessError
from odoo.tests import Form, tagged
from odoo.tests.common import new_test_user

from .contract_common import CourierCase

COMMON = ["gmail.com", "hotmail.fr", "outlook.com", "mail.com"]


@tagged("post_install", "-at_install")
class TestOneEditAway(CourierCase):
    def test_each_kind_of_edit_and_nothing_more(self):
        for typed, known in (
            ("gmial.com", "gmail.com"),  # two neighbours swapped
            ("gmal.com", "gmail.com"),  # a letter left out
            ("gmaill.com", "gmail.com"),  # a letter too many
            ("gnail.com", "gmail.com"),  # a letter wrong
            ("gmail.co", "gmail.com"),  # the last letter left out
            ("hotmail.fe", "hotmail.fr"),
        ):
            with self.subTest(typed=typed):
                self.assertTrue(one_edit_apart(typed, known))
        for typed, known in (
            ("gmail.com", "gmail.com"),  # the same: no typo
            ("gmali.cmo", "gmail.com"),  # two edits
            ("gmail.fr", "gmail.com"),
            ("customer.example", "gmail.com"),
        ):
            with self.subTest(typed=typed):
                self.assertFalse(one_edit_apart(typed, known))

    def test_suggestions(self):
        self.assertEqual(suggest_address("anna@gmial.com", COMMON), "anna@gmail.com")
        self.assertEqual(suggest_address("Anna@Hotmial.fr", COMMON), "Anna@hotmail.fr")
        self.assertIsNone(suggest_address("anna@gmail.com", COMMON))
        # A common domain itself is never a typo of another one.
        self.assertIsNone(suggest_domain("mail.com", COMMON))
        self.assertIsNone(suggest_address("not an address", COMMON))

    def test_the_common_domains_ship_as_data(self):
        domains = self.env["courier.mail.domain"]._courier_common_domains()
        self.assertGreaterEqual(len(domains), 30)
        for domain in ("gmail.com", "hotmail.fr", "outlook.com", "yahoo.fr", "orange.fr"):
            self.assertIn(domain, domains)
        for domain in ("free.fr", "laposte.net", "icloud.com"):
            self.assertIn(domain, domains)


@tagged("post_install", "-at_install")
class TestTypoGuard(CourierCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.customer = Partner.create(
            {"name": "Typo Customer", "is_company": True, "email": "accounts@typo.example"}
        )
        cls.mistyped = Partner.create(
            {"name": "Anna Typo", "parent_id": cls.customer.id, "email": "anna@gmial.com"}
        )
        cls.accountant = new_test_user(
            cls.env, login="courier_typo_accountant", groups="account.group_account_invoice"
        )
        cls.manager = new_test_user(
            cls.env, login="courier_typo_manager", groups="account.group_account_manager"
        )

    def _invoice(self, partner=None):
        return self.init_invoice(
            "out_invoice", partner=partner or self.customer, amounts=[100.0], post=True
        )

    def _compose(self, move, **values):
        return (
            self.env["courier.compose"]
            .with_user(self.accountant)
            .create({"move_id": move.id, **values})
        )

    def _hard_bounce(self, email, when="2026-11-20T10:00:00Z", hard=True):
        move = self._invoice()
        dispatch = self.make_dispatch(move, emails=(email,))
        self.claim()
        self.transmit(dispatch, time=when)
        kind = "hard bounce" if hard else "soft bounce"
        self.ingest(
            [self.event(dispatch.recipient_ids, "bounced", when, detail=f"{kind}: user unknown")]
        )
        return dispatch.recipient_ids

    def test_compose_flags_a_mistyped_contact_and_a_typed_address(self):
        compose = self._compose(
            self._invoice(),
            partner_ids=[Command.set(self.mistyped.ids)],
            other_emails="bob@hotmial.fr, carla@typo.example",
        )
        warning = str(compose.address_warning)
        self.assertIn("anna@gmial.com: did you mean anna@gmail.com?", warning)
        self.assertIn("bob@hotmial.fr: did you mean bob@hotmail.fr?", warning)
        self.assertNotIn("carla@typo.example", warning)

    def test_the_warning_follows_what_is_typed(self):
        form = Form(self._compose(self._invoice()).with_user(self.accountant))
        self.assertFalse(form.address_warning)
        form.other_emails = "dan@outlok.com"
        self.assertIn("did you mean dan@outlook.com?", str(form.address_warning))
        form.other_emails = "dan@outlook.com"
        self.assertFalse(form.address_warning)

    def test_the_user_can_still_send(self):
        move = self._invoice()
        compose = self._compose(move, partner_ids=[Command.set(self.mistyped.ids)])
        self.assertTrue(compose.address_warning)
        compose.action_send()
        dispatch = self.env["courier.dispatch"].search([("move_id", "=", move.id)])
        self.assertEqual(dispatch.recipient_ids.mapped("email"), ["anna@gmial.com"])

    def test_an_address_that_hard_bounced_is_flagged_with_when(self):
        self._hard_bounce("gone@typo.example")
        compose = self._compose(self._invoice(), other_emails="gone@typo.example")
        warning = str(compose.address_warning)
        self.assertIn("gone@typo.example hard-bounced on", warning)
        self.assertIn("2026", warning, "the date of the bounce")

    def test_a_soft_bounce_or_a_later_delivery_clears_the_flag(self):
        self._hard_bounce("soft@typo.example", hard=False)
        recipient = self._hard_bounce("back@typo.example", when="2026-11-20T10:00:00Z")
        self.assertFalse(
            self._compose(self._invoice(), other_emails="soft@typo.example").address_warning
        )
        self.assertTrue(
            self._compose(self._invoice(), other_emails="back@typo.example").address_warning
        )
        # The mailbox works again: a later email to it was delivered.
        later = self.make_dispatch(recipient.move_id, emails=("back@typo.example",))
        self.claim()
        self.transmit(later, time="2026-11-25T10:00:00Z")
        self.ingest([self.event(later.recipient_ids, "delivered", "2026-11-25T10:00:05Z")])
        self.assertFalse(
            self._compose(self._invoice(), other_emails="back@typo.example").address_warning
        )

    def test_another_companys_bounces_stay_there(self):
        company_b = self.setup_other_company()["company"]
        company_b.courier_sender_email = "billing@b.example"
        move_b = self.make_invoice(company=company_b)
        dispatch = self.make_dispatch(move_b, emails=("shared@typo.example",))
        self.claim()
        self.transmit(dispatch)
        self.ingest(
            [
                self.event(
                    dispatch.recipient_ids,
                    "bounced",
                    "2026-11-20T10:00:00Z",
                    detail="hard bounce: x",
                )
            ]
        )
        compose = self._compose(self._invoice(), other_emails="shared@typo.example")
        self.assertFalse(compose.address_warning, "the accountant works in company A only")

    def test_an_administrator_edits_the_list(self):
        compose = self._compose(self._invoice(), other_emails="eve@gmial.com")
        self.assertTrue(compose.address_warning)
        with self.assertRaises(AccessError):
            self.env["courier.mail.domain"].with_user(self.accountant).create({"name": "gmial.com"})
        self.env["courier.mail.domain"].with_user(self.manager).create({"name": " GMIAL.com "})
        self.assertIn("gmial.com", self.env["courier.mail.domain"]._courier_common_domains())
        compose.invalidate_recordset(["address_warning"])
        self.assertFalse(compose.address_warning, "a listed domain is never a typo")

    def test_bulk_send_names_the_invoice_of_each_flagged_address(self):
        mistyped_customer = self.env["res.partner"].create(
            {"name": "Zoe", "email": "zoe@outlok.com"}
        )
        flagged, fine = self._invoice(mistyped_customer), self._invoice()
        wizard = (
            self.env["courier.bulk.send"]
            .with_user(self.accountant)
            .create({"move_ids": [Command.set((flagged | fine).ids)]})
        )
        warning = str(wizard.address_warning)
        self.assertIn("zoe@outlok.com: did you mean zoe@outlook.com?", warning)
        self.assertIn(flagged.name, warning)
        self.assertNotIn(fine.name, warning)
        wizard.action_send()
        self.assertEqual(wizard.queued_count, 2, "a warning only: both are queued")

    def test_the_contact_form_shows_the_same_check(self):
        self.assertIn(
            "anna@gmial.com: did you mean anna@gmail.com?",
            str(self.mistyped.with_user(self.accountant).courier_email_warning),
        )
        self.assertFalse(self.customer.courier_email_warning)
        self._hard_bounce("accounts@typo.example")
        self.customer.invalidate_recordset(["courier_email_warning"])
        self.assertIn("hard-bounced on", str(self.customer.courier_email_warning))
        form = Form(self.mistyped)
        form.email = "anna@gmail.com"
        self.assertFalse(form.courier_email_warning, "fixed: the banner goes")

    def test_warnings_in_french(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(
            ["invoice_courier"], ["fr_FR"], overwrite=True
        )
        self._hard_bounce("gone@typo.example")
        compose = self._compose(
            self._invoice(), other_emails="anna@gmial.com, gone@typo.example"
        ).with_context(lang="fr_FR")
        warning = str(compose.address_warning)
        self.assertIn("Vérifiez ces adresses avant", warning)
        self.assertIn("anna@gmial.com : vouliez-vous dire anna@gmail.com ?", warning)
        self.assertIn("gone@typo.example a été rejetée définitivement le", warning)
