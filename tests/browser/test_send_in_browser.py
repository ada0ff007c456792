"""An accountant sends an invoice from Odoo (18, 19) in headless Chromium, and sees it tracked.

Against real Odoo with invoice_courier, the Mailjet sandbox and `courierd run`
(tests/browser/stack.py): log in, open the demo invoice (tools/demo.py's
Acme), click the envelope, pick a saved contact, type a second address, edit
the subject, "Send the document". courierd delivers; the Email history shows
Transmitted, then (once the sandbox's events may pass the gate to courierd's
receiver) Delivered; the web-document link of the .eml in the sandbox outbox,
opened by a logged-out visitor, turns the invoice Viewed; a click on a status
line shows the subject and body that were sent. Once in English, once as a
French-speaking user (labels in French). On every Odoo version found (courierd
speaking JSON-RPC to 18, JSON-2 to 19). Screenshots of every step:
test-artifacts/browser/<odoo version>/<lang>/NN-step.png.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.stack import (
    CourierStack,
    courier_stack_for,
    create_accountant,
    install_language,
)
from tests.support.browser import Browser, Screenshots, check_browser, chromium
from tests.support.odoo import ADMIN_LOGIN, ADMIN_PASSWORD, OdooBackend, OdooServer
from tests.support.processes import ARTIFACTS, wait_until
from tests.support.sandbox_mail import read_email, tracked_link_to
from tools import demo
from tools.odoo_local import rpc_login


@dataclass(frozen=True)
class Labels:
    """What the UI must say, from the addon's i18n/fr.po for French."""

    envelope: str
    send: str
    history_tab: str
    transmitted: str
    delivered: str
    viewed: str


LABELS = {
    "en_US": Labels(
        envelope="Send by email",
        send="Send the document",
        history_tab="Email history",
        transmitted="Transmitted",
        delivered="Delivered",
        viewed="Viewed",
    ),
    "fr_FR": Labels(
        envelope="Envoyer par e-mail",
        send="Envoyer le document",
        history_tab="Historique des e-mails",
        transmitted="Transmis",
        delivered="Délivré",
        viewed="Consultée",
    ),
}
CONTACT = demo.CONTACTS[0]  # Anna, a saved contact of the demo customer
TYPED_ADDRESS = "payables@acme.example"
# From the addon's email template; the customer (Acme) reads English.
BODY_PHRASE = "Here is your invoice"
STATUS_TIMEOUT = 120

HISTORY_TAB = "a.nav-link[name=courier_history]"
HISTORY_ROWS = "div[name=courier_recipient_ids] tr.o_data_row"
DIALOG = ".modal .o_form_view"


@pytest.fixture(scope="session")
def chromium_available() -> None:
    # Session-scoped as odoo_server is: pytest sets up broader scopes first, and
    # without Chromium the test must skip before any Odoo is installed.
    check_browser()


@pytest.fixture(scope="module")
def courier_stack(
    chromium_available: None,
    odoo_server: OdooServer,
    odoo_version: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CourierStack]:
    """Requests Chromium first (see chromium_available)."""
    # courierd speaks JSON-2 where the Odoo has it (its daemon user got an API key).
    backend = OdooBackend(odoo_server, "json2" if odoo_server.daemon_api_key else "jsonrpc")
    # Queued dispatches earlier tests left are not this test's to send.
    backend.reset()
    workdir = tmp_path_factory.mktemp(f"browser-{odoo_version}")
    with courier_stack_for(backend, workdir, f"browser-courierd-{odoo_version}.log") as stack:
        yield stack


@pytest.mark.parametrize("lang", list(LABELS))
def test_send_track_and_view_an_invoice_in_the_browser(
    lang: str, odoo_version: str, courier_stack: CourierStack
) -> None:
    shots = Screenshots(ARTIFACTS / "browser" / odoo_version / lang)
    run_scenario(courier_stack, lang, shots)


def run_scenario(stack: CourierStack, lang: str, shots: Screenshots) -> None:
    labels = LABELS[lang]
    url = stack.odoo_url
    admin = rpc_login(url, stack.db, ADMIN_LOGIN, ADMIN_PASSWORD)
    if lang != "en_US":
        install_language(admin, lang)
    invoice = demo.post_invoice(admin, demo.create_customer(admin))
    login, password = create_accountant(admin, lang)
    subject = f"{invoice.name}: your invoice ({lang}, {secrets.token_hex(3)})"
    recipients = {CONTACT["email"], TYPED_ADDRESS}
    stack.gate.close()

    with chromium(shots) as browser:
        log_in(browser, url, login, password)
        # The Invoicing app's own path: the navbar shows that app.
        browser.open(f"{url}/odoo/customer-invoices/{invoice.id}")
        envelope = browser.element("button.o_courier_send")
        assert envelope.text == labels.envelope
        snapshot(browser, "invoice")

        envelope.click()
        compose(browser, CONTACT["name"], CONTACT["email"], TYPED_ADDRESS, subject)
        send = browser.element(".modal button[name=action_send]")
        assert send.text == labels.send
        snapshot(browser, "compose")
        send.click()
        browser.gone(DIALOG)

        # The sandbox's events wait at the gate: Transmitted first, whatever the timing.
        wait_for_statuses(browser, labels, recipients, labels.transmitted)
        assert browser.element(HISTORY_TAB).text == labels.history_tab
        snapshot(browser, "transmitted")
        stack.gate.open()
        wait_for_statuses(browser, labels, recipients, labels.delivered)
        snapshot(browser, "delivered")

        sent = sent_email(stack.sandbox.outbox, CONTACT["email"], subject)
        link = tracked_link_to(sent, f"{url}/my/invoices/{invoice.id}")

        def courier_state() -> str:
            [move] = admin.execute("account.move", "read", [invoice.id], ["courier_state"])
            return str(move["courier_state"])

        assert courier_state() == "sent"
        with chromium(shots) as visitor:  # a fresh profile: no Odoo session
            visitor.open(link)
            visitor.element_with_text("body", invoice.name)
            assert urlsplit(visitor.driver.current_url).path == f"/my/invoices/{invoice.id}"
            visitor.screenshot("web-document")
        wait_until(
            lambda: courier_state() == "viewed",
            STATUS_TIMEOUT,
            f"invoice {invoice.name} to turn viewed after the visitor opened the link",
            interval=0.5,
        )
        browser.driver.refresh()
        browser.element_with_text(".o_courier_state", labels.viewed)
        browser.click(HISTORY_TAB)
        snapshot(browser, "viewed")

        open_status_line(browser, CONTACT["email"])
        assert browser.element(f"{DIALOG} div[name=subject]").text == subject
        assert BODY_PHRASE in sent_body_text(browser)
        snapshot(browser, "sent-email")


# ------------------------------------------------------------------ steps


def snapshot(browser: Browser, step: str) -> None:
    """Close Odoo's notifications first, as a user would, then the screenshot.

    Installing a language regenerates the web client's assets, and for a while
    Odoo tells every new page "The page is out of date" in a sticky one.
    """
    for close in browser.driver.find_elements("css selector", ".o_notification_close"):
        if close.is_displayed():
            close.click()
    browser.screenshot(step)


def log_in(browser: Browser, url: str, login: str, password: str) -> None:
    browser.open(f"{url}/web/login")
    browser.type_into("input[name=login]", login)
    browser.type_into("input[name=password]", password)
    browser.click("form button[type=submit]")
    browser.element(".o_main_navbar")


def compose(browser: Browser, contact: str, contact_email: str, typed: str, subject: str) -> None:
    """Only the picked contact and the typed address as recipients, and our subject."""
    tags = ".modal div[name=partner_ids] .o_tag"
    browser.element(DIALOG)
    # The wizard proposes the invoice's own address: take it out.
    for _ in browser.driver.find_elements("css selector", tags):
        browser.click(f"{tags} .o_delete")
    browser.gone(tags)
    browser.type_into(".modal div[name=partner_ids] input", contact.split()[0])
    browser.element_with_text(".o-autocomplete--dropdown-item", contact).click()
    # Odoo 18's tag reads "Name <email>", Odoo 19's the name alone; the history checks the email.
    browser.element_with_text(tags, contact)
    browser.type_into(".modal div[name=other_emails] textarea", typed)
    browser.type_into(".modal div[name=subject] input", subject)


def history_statuses(browser: Browser) -> dict[str, str]:
    """{recipient: status} of the Email history tab, freshly loaded."""
    browser.driver.refresh()
    browser.click(HISTORY_TAB)
    browser.element(HISTORY_ROWS)
    return {
        row.find_element("css selector", "td[name=email]").text: row.find_element(
            "css selector", "td[name=status]"
        ).text
        for row in browser.driver.find_elements("css selector", HISTORY_ROWS)
    }


def wait_for_statuses(browser: Browser, labels: Labels, emails: set[str], wanted: str) -> None:
    browser.poll(
        lambda: history_statuses(browser),
        lambda seen: set(seen) == emails and set(seen.values()) == {wanted},
        STATUS_TIMEOUT,
        f"the Email history ({labels.history_tab}) to show {wanted} for {sorted(emails)}",
    )


def open_status_line(browser: Browser, recipient: str) -> None:
    browser.click(HISTORY_TAB)
    row = browser.element_with_text(HISTORY_ROWS, recipient)
    row.find_element("css selector", "td[name=status]").click()
    browser.element(f"{DIALOG} div[name=subject]")


def sent_body_text(browser: Browser) -> str:
    """The text of the dialog's sent body (shown in a sandboxed iframe, or inline)."""
    body = browser.element(f"{DIALOG} div[name=body_html]")
    frames = body.find_elements("css selector", "iframe")
    if not frames:
        return str(body.text)
    browser.driver.switch_to.frame(frames[0])
    try:
        return str(browser.element("body").text)
    finally:
        browser.driver.switch_to.default_content()


# ------------------------------------------------------------------ outbox


def sent_email(outbox: Path, recipient: str, subject: str) -> EmailMessage:
    """The .eml the sandbox wrote for `recipient` with `subject`."""
    for path in sorted(outbox.rglob("*.eml")):
        message = read_email(path)
        if message["Delivered-To"] == recipient and message["Subject"] == subject:
            return message
    raise AssertionError(f"no email to {recipient} with subject {subject!r} in {outbox}")
