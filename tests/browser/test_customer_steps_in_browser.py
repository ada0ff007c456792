"""Issue 14 in headless Chromium: the typo guard, a download and a payment, the statistics.

Against real Odoo (18, 19) with invoice_courier, the Mailjet sandbox and
`courierd run` (the fixtures of test_send_in_browser.py). An earlier email to
the customer's bounce contact hard-bounces (the sandbox bounces `bounce.*`
addresses); then an accountant opens the compose window of an invoice whose
customer's address is on gmial.com: the window suggests gmail.com and, for
the bounce address typed in, says when it bounced; sending still works. The
customer's form shows the same banner. A logged-out visitor opens the
invoice's web document, downloads the PDF (Downloaded) and pays it with
Odoo's demo payment provider (Paid online): the accountant sees each step in
the badge and the Email history's Timeline. Then Invoicing > Reporting >
Email delivery: the graph, the pivot, the per-customer list and the bounced
addresses, whose button opens the contact to fix. Once in English, once in
French. Screenshots: test-artifacts/browser/<odoo version>/<lang>/steps/NN-step.png.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import odoorpc
import pytest

from tests.browser import test_send_in_browser as send_test
from tests.browser.stack import CourierStack, create_accountant, install_language
from tests.browser.test_send_in_browser import DIALOG, HISTORY_TAB, log_in, snapshot
from tests.support.browser import Browser, Screenshots, chromium
from tests.support.odoo import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.support.processes import ARTIFACTS, wait_until
from tools import demo
from tools.odoo_local import rpc_login

# The send test's fixtures (Chromium first, then the sandbox and courierd): this
# module gets its own stack.
chromium_available = send_test.chromium_available
courier_stack = send_test.courier_stack

STEP_TIMEOUT = 120
WARNING = ".o_courier_address_warning"
TIMELINE_ROWS = "div[name=courier_event_ids] tr.o_data_row"
TEST_CARD = "4242 4242 4242 4242"


@dataclass(frozen=True)
class Labels:
    """What the UI must say, from the addon's i18n/fr.po for French."""

    did_you_mean: str
    hard_bounced: str
    downloaded: str
    paid: str
    timeline: str
    reporting: str
    open_contact: str


LABELS = {
    "en_US": Labels(
        did_you_mean="did you mean",
        hard_bounced="hard-bounced on",
        downloaded="Downloaded",
        paid="Paid online",
        timeline="Timeline",
        reporting="Email delivery",
        open_contact="Open the contact",
    ),
    "fr_FR": Labels(
        did_you_mean="vouliez-vous dire",
        hard_bounced="a été rejetée définitivement le",
        downloaded="Téléchargée",
        paid="Payée en ligne",
        timeline="Chronologie",
        reporting="Délivrabilité des e-mails",
        open_contact="Ouvrir le contact",
    ),
}


@pytest.mark.parametrize("lang", list(LABELS))
def test_typo_guard_download_payment_and_statistics_in_the_browser(
    lang: str, odoo_version: str, courier_stack: CourierStack
) -> None:
    shots = Screenshots(ARTIFACTS / "browser" / odoo_version / lang / "steps")
    run_steps(courier_stack, lang, shots)


def run_steps(stack: CourierStack, lang: str, shots: Screenshots) -> None:
    labels = LABELS[lang]
    url = stack.odoo_url
    admin = rpc_login(url, stack.db, ADMIN_LOGIN, ADMIN_PASSWORD)
    if lang != "en_US":
        install_language(admin, lang)
    enable_demo_payments(admin)
    tag = secrets.token_hex(3)
    typo_address = f"accounts.{tag}@gmial.com"
    bounce_address = f"bounce.{tag}@typo.example"
    customer_id = admin.execute(
        "res.partner",
        "create",
        {
            "name": f"Typo & Co {tag}",
            "is_company": True,
            "email": typo_address,
            "lang": "en_US",
            "child_ids": [(0, 0, {"name": f"Bounce {tag}", "email": bounce_address})],
        },
    )
    login, password = create_accountant(admin, lang)
    stack.gate.open()
    hard_bounce(admin, demo.post_invoice(admin, customer_id).id, bounce_address)
    invoice = demo.post_invoice(admin, customer_id)

    def courier_state() -> str:
        [move] = admin.execute("account.move", "read", [invoice.id], ["courier_state"])
        return str(move["courier_state"])

    with chromium(shots) as browser:
        log_in(browser, url, login, password)
        browser.open(f"{url}/odoo/customer-invoices/{invoice.id}")
        browser.click("button.o_courier_send")
        browser.element(DIALOG)
        # The invoice address is proposed: its domain is one letter swap from gmail.com.
        browser.element_with_text(f".modal {WARNING}", labels.did_you_mean)
        browser.type_into(".modal div[name=other_emails] textarea", bounce_address)
        browser.click(".modal div[name=subject] input")  # leaving the field applies it
        warning = browser.element_with_text(f".modal {WARNING}", labels.hard_bounced)
        assert f"accounts.{tag}@gmail.com" in warning.text
        assert bounce_address in warning.text
        snapshot(browser, "typo-guard")
        browser.click(".modal button[name=action_send]")  # a warning only: it sends
        wait_until(
            lambda: admin.execute("courier.dispatch", "search", [("move_id", "=", invoice.id)]),
            STEP_TIMEOUT,
            f"the send of {invoice.name} to be queued despite the warnings",
            interval=0.5,
        )

        browser.open(f"{url}/odoo/res.partner/{customer_id}")
        browser.element_with_text(WARNING, labels.did_you_mean)
        snapshot(browser, "contact-warning")

        wait_until(
            lambda: courier_state() in ("sent", "bounced"),
            STEP_TIMEOUT,
            f"invoice {invoice.name} to be sent by courierd",
            interval=0.5,
        )
        portal_path = admin.execute("account.move", "get_portal_url", [invoice.id])
        with chromium(shots) as visitor:  # a fresh profile: a logged-out customer
            visitor.open(f"{url}{portal_path}")
            visitor.element_with_text("body", invoice.name)
            visitor.click("a.o_download_btn")
            wait_until(
                lambda: courier_state() == "downloaded",
                STEP_TIMEOUT,
                f"invoice {invoice.name} to turn downloaded after the visitor's download",
                interval=0.5,
            )
            browser.open(f"{url}/odoo/customer-invoices/{invoice.id}")
            browser.element_with_text(".o_courier_state", labels.downloaded)
            snapshot(browser, "downloaded")

            pay_online(visitor)
            wait_until(
                lambda: courier_state() == "paid",
                STEP_TIMEOUT,
                f"invoice {invoice.name} to turn paid online after the visitor's payment",
                interval=0.5,
            )
            visitor.screenshot("paid-on-the-portal")

        browser.driver.refresh()
        browser.element_with_text(".o_courier_state", labels.paid)
        browser.click(HISTORY_TAB)
        separator = browser.element(".o_horizontal_separator:has(+ div[name=courier_event_ids])")
        assert separator.text.casefold() == labels.timeline.casefold(), separator.text
        timeline = browser.texts(f"{TIMELINE_ROWS} td[name=type]")
        assert labels.downloaded in timeline and labels.paid in timeline, timeline
        browser.driver.execute_script("arguments[0].scrollIntoView()", separator)
        snapshot(browser, "paid-and-timeline")

        statistics(browser, url, labels, f"Typo & Co {tag}", bounce_address)


# ------------------------------------------------------------------ steps


def enable_demo_payments(admin: odoorpc.ODOO) -> None:
    """Odoo's demo payment provider (payment_demo), installed once, in test mode, published."""
    [module] = admin.execute(
        "ir.module.module", "search_read", [("name", "=", "payment_demo")], ["state"]
    )
    if module["state"] != "installed":
        admin.execute("ir.module.module", "button_immediate_install", [module["id"]])
    provider_ids = admin.execute("payment.provider", "search", [("code", "=", "demo")])
    admin.execute(
        "payment.provider", "write", provider_ids, {"state": "test", "is_published": True}
    )


def hard_bounce(admin: odoorpc.ODOO, invoice_id: int, address: str) -> None:
    """An email of `invoice_id` to `address`, sent by courierd, that the sandbox hard-bounces."""
    dispatch_id = admin.execute(
        "courier.dispatch",
        "create",
        {
            "move_id": invoice_id,
            "subject": "An earlier invoice",
            "body_html": "<p>An earlier invoice</p>",
            "recipient_ids": [(0, 0, {"email": address, "name": address})],
        },
    )

    def status() -> str:
        recipients = admin.execute(
            "courier.recipient", "search_read", [("dispatch_id", "=", dispatch_id)], ["status"]
        )
        return str(recipients[0]["status"]) if recipients else ""

    wait_until(
        lambda: status() == "bounced",
        STEP_TIMEOUT,
        f"the email to {address} to bounce",
        interval=0.5,
    )


def pay_online(visitor: Browser) -> None:
    """Pay Now on the web document, with the demo provider's successful test payment."""
    visitor.click("a[data-bs-target='#pay_with']")
    visitor.element("#pay_with .modal-content")
    radios = visitor.driver.find_elements("css selector", "#pay_with input[name=o_payment_radio]")
    demo_radio = next(
        (radio for radio in radios if radio.get_attribute("data-provider-code") == "demo"), None
    )
    if demo_radio is not None and not demo_radio.is_selected():
        visitor.driver.execute_script("arguments[0].click();", demo_radio)
    visitor.type_into("#pay_with #customer_input", TEST_CARD)
    visitor.click("#pay_with button[name=o_payment_submit_button]")
    visitor.wait(
        lambda driver: (
            "/my/invoices/" in driver.current_url and "/payment/status" not in driver.current_url
        ),
        "the payment to land back on the invoice's web document",
    )


def statistics(
    browser: Browser, url: str, labels: Labels, customer: str, bounce_address: str
) -> None:
    """Invoicing > Reporting > Email delivery: graph, pivot, per customer, bounced addresses."""
    browser.open(f"{url}/odoo/action-invoice_courier.action_courier_delivery_stats")
    browser.element(".o_graph_renderer canvas")
    assert labels.reporting in browser.element(".o_breadcrumb").text
    snapshot(browser, "delivery-graph")
    browser.click("button.o_switch_view.o_pivot")
    browser.element(".o_pivot table")
    snapshot(browser, "delivery-pivot")

    browser.open(f"{url}/odoo/action-invoice_courier.action_courier_customer_stats")
    row = browser.element_with_text(".o_list_renderer tr.o_data_row", customer)
    assert bounce_address in row.text
    snapshot(browser, "delivery-per-customer")

    browser.open(f"{url}/odoo/action-invoice_courier.action_courier_bounced_address")
    row = browser.element_with_text(".o_list_renderer tr.o_data_row", bounce_address)
    snapshot(browser, "bounced-addresses")
    button = row.find_element("css selector", "button[name=action_open_contact]")
    assert button.text == labels.open_contact or labels.open_contact in (
        button.get_attribute("title") or ""
    )
    button.click()
    browser.element_with_text(WARNING, labels.hard_bounced)
    snapshot(browser, "bounced-contact")
