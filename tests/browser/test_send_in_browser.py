"""An accountant sends an invoice from Odoo (18, 19) in headless Chromium, and sees it tracked.

Against real Odoo with invoice_courier, the Mailjet sandbox and `courierd run`
(tests/browser/stack.py), once in English and once as a French-speaking user,
on every Odoo version found (courierd speaking JSON-RPC to 18, JSON-2 to 19).
What the user sees (issue 12):

- one send path: the envelope is highlighted until the invoice is sent, Odoo's
  own Send is hidden, Odoo's Print & Send window stays in the gear menu;
- the compose window: recipient tags whole, a chosen contact no longer
  offered, the button label coloured in Odoo's editor;
- the page updates itself (Odoo's bus, never a reload): Transmitted, Delivered,
  Bounce, Opened, Viewed, and a new send Queued, each timed from the moment
  Odoo had it to the moment the page showed it (figures printed and kept in
  live-updates.txt; a speed target is a figure, not an assertion);
- chatter notes and the bounce activity in the sender's language, no "Is Move
  Sent" tracking line; the Transmitted time is Mailjet's acceptance;
- the email each recipient got: their own (To: them only), named after them in
  the outbox, its text part a faithful rendering of the edited HTML;
- a readable history: one status a line, the dialog titled after the email;
- the customer opens the email's link, views the invoice and pays it online
  with Odoo's demo payment provider.

Screenshots of every step: test-artifacts/browser/<odoo version>/<lang>/NN-step.png.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import odoorpc
import pytest

from tests.browser.stack import (
    CourierStack,
    courier_stack_for,
    create_accountant,
    install_language,
)
from tests.support.browser import Browser, Screenshots, check_browser, chromium
from tests.support.odoo import ADMIN_LOGIN, ADMIN_PASSWORD, OdooBackend, OdooServer
from tests.support.processes import ARTIFACTS, DaemonProcess, wait_until
from tests.support.sandbox_mail import open_pixel, read_email, tracked_link_to
from tools import demo
from tools.odoo_local import enable_demo_payment, rpc_login


@dataclass(frozen=True)
class Labels:
    """What the UI must say, from the addon's i18n/fr.po for French."""

    envelope: str
    send: str
    print_and_send: str
    history_tab: str
    queued: str
    sent: str
    transmitted: str
    delivered: str
    opened: str
    bounce: str
    viewed: str
    sent_note: str  # {addresses}
    viewed_note: str
    bounce_note: str  # {email}
    bounce_activity: str
    dialog_title: str  # {email}


LABELS = {
    "en_US": Labels(
        envelope="Send by email",
        send="Send the document",
        print_and_send="Print & Send (Odoo)",
        history_tab="Email history",
        queued="Queued",
        sent="Sent",
        transmitted="Transmitted",
        delivered="Delivered",
        opened="Opened",
        bounce="Bounce",
        viewed="Viewed",
        sent_note="Sent to {addresses} through Mailjet",
        viewed_note="Viewed by the customer",
        bounce_note="The email to {email} was not delivered",
        bounce_activity="Invoice email not delivered",
        dialog_title="Email sent to {email}",
    ),
    "fr_FR": Labels(
        envelope="Envoyer par e-mail",
        send="Envoyer le document",
        print_and_send="Imprimer & Envoyer (Odoo)",
        history_tab="Historique des e-mails",
        queued="En file d'attente",
        sent="Envoyé",
        transmitted="Transmis",
        delivered="Délivré",
        opened="Ouvert",
        bounce="Bounce",
        viewed="Consultée",
        sent_note="Envoyé à {addresses} via Mailjet",
        viewed_note="Consultée par le client",
        bounce_note="L'e-mail à {email} n'a pas été délivré",
        bounce_activity="E-mail de facture non délivré",
        dialog_title="E-mail envoyé à {email}",
    ),
}
ANNA, BEN, BOUNCER = demo.CONTACTS  # saved contacts of the demo customer; BOUNCER bounces
TYPED_ADDRESS = "payables@acme.example"
# From the addon's email template; the customer (Acme) reads English.
BODY_PHRASE = "Here is your invoice"
BUTTON_LABEL = "View and pay the invoice"
RED = "#FF0000"
TIMEOUT = 60

HISTORY_TAB = "a.nav-link[name=courier_history]"
HISTORY_ROWS = "div[name=courier_recipient_ids] tr.o_data_row"
DIALOG = ".modal .o_form_view"
TAGS = ".modal div[name=partner_ids] .o_tag"
CHATTER = ".o-mail-Chatter"
NO_RELOAD_MARK = "window.__courierNoReload"


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
    admin = rpc_login(odoo_server.url, odoo_server.db, ADMIN_LOGIN, ADMIN_PASSWORD)
    enable_demo_payment(admin)
    workdir = tmp_path_factory.mktemp(f"browser-{odoo_version}")
    with courier_stack_for(backend, workdir, f"browser-courierd-{odoo_version}.log") as stack:
        yield stack


@pytest.mark.parametrize("lang", list(LABELS))
def test_send_track_view_and_pay_an_invoice_in_the_browser(
    lang: str, odoo_version: str, courier_stack: CourierStack
) -> None:
    folder = ARTIFACTS / "browser" / odoo_version / lang
    Scenario(courier_stack, lang, Screenshots(folder), folder).run()


@dataclass
class Scenario:
    stack: CourierStack
    lang: str
    shots: Screenshots
    folder: Path
    live: dict[str, float] = field(default_factory=dict)

    def run(self) -> None:
        labels = LABELS[self.lang]
        url = self.stack.odoo_url
        admin = rpc_login(url, self.stack.db, ADMIN_LOGIN, ADMIN_PASSWORD)
        if self.lang != "en_US":
            install_language(admin, self.lang)
        invoice = demo.post_invoice(admin, demo.create_customer(admin))
        login, password = create_accountant(admin, self.lang)
        accountant = rpc_login(url, self.stack.db, login, password)
        odoo = Invoice(admin, invoice.id)
        subject = f"{invoice.name}: your invoice ({self.lang}, {secrets.token_hex(3)})"
        emails = [ANNA["email"], BOUNCER["email"], TYPED_ADDRESS]
        self.stack.gate.close()

        with chromium(self.shots) as browser:
            log_in(browser, url, login, password)
            browser.open(f"{url}/odoo/customer-invoices/{invoice.id}")
            self.one_send_path(browser, labels)
            browser.driver.execute_script(f"{NO_RELOAD_MARK} = true;")

            browser.click("button.o_courier_send")
            compose(browser, subject)
            send = browser.element(".modal button[name=action_send]")
            assert send.text == labels.send
            snapshot(browser, "compose")
            with paused(self.stack.courierd):  # the send stays queued
                send.click()
                browser.gone(DIALOG)
                browser.element_with_text(".o_courier_state", labels.queued)
                snapshot(browser, "queued")

            # From here on the page is never reloaded: Odoo's bus updates it.
            self.updates(
                browser,
                "transmitted",
                lambda: odoo.dispatch_states() == {"transmitted"},
                lambda: (
                    history(browser) == dict.fromkeys(emails, labels.transmitted)
                    and badge(browser) == labels.sent
                    and labels.sent_note.format(addresses=", ".join(emails)) in chatter(browser)
                ),
            )
            snapshot(browser, "transmitted")
            # Sent: the envelope is no longer highlighted; Odoo's flag left no tracking line.
            assert "btn-primary" not in browser.element("button.o_courier_send").get_attribute(
                "class"
            )
            assert odoo.is_move_sent_label(self.lang) not in chatter(browser)
            self.transmitted_time_is_mailjets(browser, odoo, subject)

            self.stack.gate.open()
            self.updates(
                browser,
                "delivered",
                lambda: odoo.status(ANNA["email"]) == "delivered",
                lambda: history(browser).get(ANNA["email"]) == labels.delivered,
            )
            self.updates(
                browser,
                "bounced",
                lambda: odoo.status(BOUNCER["email"]) == "bounced",
                lambda: (
                    history(browser).get(BOUNCER["email"]) == labels.bounce
                    and labels.bounce_note.format(email=BOUNCER["email"]) in chatter(browser)
                    and labels.bounce_activity in chatter(browser)
                ),
            )
            snapshot(browser, "delivered-and-bounced")
            show_chatter(browser)
            snapshot(browser, "notes-in-the-senders-language")

            anna_email = sent_email(self.stack.sandbox.outbox, ANNA["email"], subject)
            with urllib.request.urlopen(open_pixel(anna_email), timeout=10) as pixel:
                pixel.read()
            self.updates(
                browser,
                "opened",
                lambda: odoo.status(ANNA["email"]) == "opened",
                lambda: history(browser).get(ANNA["email"]) == labels.opened,
            )
            snapshot(browser, "opened")

            link = tracked_link_to(anna_email, f"{url}/my/invoices/{invoice.id}")
            with chromium(self.shots) as visitor:  # a fresh profile: no Odoo session
                visitor.open(link)
                visitor.element_with_text("body", invoice.name)
                assert urlsplit(visitor.driver.current_url).path == f"/my/invoices/{invoice.id}"
                visitor.screenshot("web-document")
                self.updates(
                    browser,
                    "viewed",
                    lambda: odoo.courier_state() == "viewed",
                    lambda: (
                        badge(browser) == labels.viewed and labels.viewed_note in chatter(browser)
                    ),
                )
                pay_online(visitor)
                # The status page has Odoo finish the payment: the invoice is paid.
                wait_until(
                    lambda: odoo.payment_state() in ("paid", "in_payment"),
                    TIMEOUT,
                    f"invoice {invoice.name} to be paid after the demo payment",
                    interval=0.5,
                )
                visitor.screenshot("paid")
            snapshot(browser, "viewed-and-paid")

            open_status_line(browser, ANNA["email"])
            title = browser.element(".modal .modal-title").text
            assert title == labels.dialog_title.format(email=ANNA["email"]), title
            assert browser.element(f"{DIALOG} div[name=subject]").text == subject
            assert BODY_PHRASE in sent_body_text(browser)
            snapshot(browser, "sent-email")
            browser.driver.find_element("css selector", ".modal .btn-close").click()
            browser.gone(DIALOG)

            # The sender sends again to a corrected address (over RPC, as themselves):
            # the open page shows the new send Queued, then Transmitted.
            with paused(self.stack.courierd):
                accountant.execute(
                    "courier.dispatch",
                    "create",
                    {
                        "move_id": invoice.id,
                        "subject": subject,
                        "body_html": "<p>Here is your invoice again.</p>",
                        "recipient_ids": [(0, 0, {"email": BEN["email"], "name": BEN["name"]})],
                    },
                )
                self.updates(
                    browser,
                    "queued",
                    lambda: odoo.status(BEN["email"]) == "queued",
                    lambda: history(browser).get(BEN["email"]) == labels.queued,
                )
            self.updates(
                browser,
                "transmitted again",
                lambda: odoo.status(BEN["email"]) in ("transmitted", "delivered"),
                lambda: (
                    history(browser).get(BEN["email"]) in (labels.transmitted, labels.delivered)
                ),
            )
            snapshot(browser, "sent-again")

        self.report_live_updates()
        self.check_the_emails(odoo, subject, emails)

    # ------------------------------------------------------------------ steps

    def one_send_path(self, browser: Browser, labels: Labels) -> None:
        """The envelope, highlighted, is the only Send; Odoo's Print & Send is in the gear menu."""
        envelope = browser.element("button.o_courier_send")
        assert envelope.text == labels.envelope
        assert "btn-primary" in envelope.get_attribute("class")
        assert not browser.texts("button[name=action_invoice_sent]"), "Odoo's Send is shown"
        browser.element("button[name=action_print_pdf]")
        snapshot(browser, "invoice")
        browser.click(".o_control_panel .o_cp_action_menus button")
        browser.element_with_text(".o-dropdown--menu .o_menu_item", labels.print_and_send)
        snapshot(browser, "gear-menu")
        browser.click(".o_control_panel .o_cp_action_menus button")
        browser.gone(".o-dropdown--menu .o_menu_item")

    def updates(
        self,
        browser: Browser,
        what: str,
        in_odoo: Callable[[], bool],
        on_page: Callable[[], bool],
    ) -> None:
        """Wait until the page shows what Odoo has, without a reload; keep the delay.

        Both are polled every 0.1 s; the figure is from the first poll that found
        it in Odoo to the first that found it on the page (0 when the page came first).
        """
        deadline = time.monotonic() + TIMEOUT
        in_odoo_at = None
        while True:
            now = time.monotonic()
            if in_odoo_at is None and in_odoo():
                in_odoo_at = now
            if probe(on_page):
                break
            if now > deadline:
                shot = browser.screenshot("timeout")
                raise AssertionError(
                    f"gave up after {TIMEOUT}s waiting for the page to show {what} "
                    f"(Odoo {'had' if in_odoo_at else 'did not have'} it yet; history "
                    f"{probe(lambda: history(browser))}, badge {probe(lambda: badge(browser))}; "
                    f"screenshot: {shot})"
                )
            time.sleep(0.1)
        assert browser.driver.execute_script(f"return {NO_RELOAD_MARK} === true;"), (
            f"the page was reloaded before it showed {what}"
        )
        self.live[what] = round(time.monotonic() - (in_odoo_at or time.monotonic()), 2)

    def transmitted_time_is_mailjets(self, browser: Browser, odoo: Invoice, subject: str) -> None:
        """The time shown is when Mailjet accepted the emails, not when courierd claimed them."""
        accepted = min(
            parsedate_to_datetime(message["Date"])
            for message in sent_emails(self.stack.sandbox.outbox, subject)
        )
        shown = odoo.transmitted_at()
        assert shown >= accepted.replace(microsecond=0), (shown, accepted)
        assert odoo.status_time(ANNA["email"]) == shown
        # On the page, in the user's time zone (UTC): "20:42:05" (18), "8:42 PM" or "20:42" (19).
        text = history_times(browser)[ANNA["email"]]
        assert any(shown.strftime(form) in text for form in ("%H:%M", "%-I:%M %p")), text

    def check_the_emails(self, odoo: Invoice, subject: str, emails: list[str]) -> None:
        outbox = self.stack.sandbox.outbox
        for address in emails:
            [path] = [p for p in outbox.glob(f"*-{address}-*.eml") if subject_of(p) == subject]
            message = read_email(path)
            # Their own email: no other recipient's address.
            assert [a.addr_spec for a in message["To"].addresses] == [address]
        # The text part renders the HTML the editor made, the coloured label whole.
        body = odoo.sent_body()
        (self.folder / "edited-body.html").write_text(body)
        assert "<font" in body and ("rgb(255, 0, 0)" in body or RED.lower() in body.lower()), body
        message = sent_email(outbox, ANNA["email"], subject)
        text = message.get_body(("plain",))
        assert text is not None
        plain = text.get_content()
        (self.folder / "text-part.txt").write_text(plain)
        assert f"{BUTTON_LABEL} [1]" in plain, plain
        assert "None" not in plain, plain

    def report_live_updates(self) -> None:
        lines = [f"{what}: {seconds:.2f} s" for what, seconds in self.live.items()]
        (self.folder / "live-updates.txt").write_text("\n".join(lines) + "\n")
        print(f"\nlive updates ({self.lang}), from Odoo having it to the page showing it:")
        for line in lines:
            print(f"  {line}")


# ------------------------------------------------------------------ Odoo (RPC)


@dataclass
class Invoice:
    """The scenario's invoice as Odoo has it, read as admin."""

    admin: odoorpc.ODOO
    invoice_id: int

    def read(self, *names: str) -> dict[str, Any]:
        [move] = self.admin.execute("account.move", "read", [self.invoice_id], list(names))
        return dict(move)

    def courier_state(self) -> str:
        return str(self.read("courier_state")["courier_state"])

    def payment_state(self) -> str:
        return str(self.read("payment_state")["payment_state"])

    def dispatches(self, *names: str) -> list[dict[str, Any]]:
        return list(
            self.admin.execute(
                "courier.dispatch",
                "search_read",
                [("move_id", "=", self.invoice_id)],
                list(names),
            )
        )

    def dispatch_states(self) -> set[str]:
        return {d["state"] for d in self.dispatches("state")}

    def status(self, email: str) -> str | None:
        rows = self.admin.execute(
            "courier.recipient",
            "search_read",
            [("move_id", "=", self.invoice_id), ("email", "=", email)],
            ["status"],
        )
        return str(rows[0]["status"]) if rows else None

    def status_time(self, email: str) -> datetime:
        [row] = self.admin.execute(
            "courier.recipient",
            "search_read",
            [("move_id", "=", self.invoice_id), ("email", "=", email)],
            ["status_time"],
        )
        return datetime.fromisoformat(row["status_time"]).replace(tzinfo=UTC)

    def transmitted_at(self) -> datetime:
        [first] = self.dispatches("transmitted_at")[-1:]
        return datetime.fromisoformat(first["transmitted_at"]).replace(tzinfo=UTC)

    def sent_body(self) -> str:
        [first] = self.dispatches("body_html")[-1:]
        return str(first["body_html"])

    def is_move_sent_label(self, lang: str) -> str:
        described = self.admin.execute_kw(
            "account.move",
            "fields_get",
            [["is_move_sent"]],
            {"attributes": ["string"], "context": {"lang": lang}},
        )
        return str(described["is_move_sent"]["string"])


# ------------------------------------------------------------------ the page


def probe(read: Callable[[], Any]) -> Any:
    """`read()`, or None while the page is being redrawn (elements gone stale)."""
    from selenium.common.exceptions import WebDriverException

    try:
        return read()
    except WebDriverException:
        return None


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


def compose(browser: Browser, subject: str) -> None:
    """Anna and the bouncing contact picked, an address typed, the button label coloured."""
    browser.element(DIALOG)
    tags_are_whole(browser)
    # The wizard proposes the invoice's own address: take it out.
    for _ in browser.driver.find_elements("css selector", TAGS):
        browser.click(f"{TAGS} .o_delete")
    browser.gone(TAGS)
    pick_contact(browser, ANNA)
    # A contact already chosen is no longer offered.
    assert ANNA["name"] not in offered(browser, ANNA["name"].split()[0]), "Anna offered twice"
    pick_contact(browser, BOUNCER)
    tags_are_whole(browser)
    browser.type_into(".modal div[name=other_emails] textarea", TYPED_ADDRESS)
    browser.type_into(".modal div[name=subject] input", subject)
    colour_the_button_label(browser)


def offered(browser: Browser, typed: str) -> list[str]:
    """The recipients' dropdown after typing `typed` (then cleared)."""
    field = browser.type_into(".modal div[name=partner_ids] input", typed)
    browser.element(".o-autocomplete--dropdown-menu")
    items = browser.texts(".o-autocomplete--dropdown-item")
    field.clear()
    return items


def pick_contact(browser: Browser, contact: dict[str, str]) -> None:
    browser.type_into(".modal div[name=partner_ids] input", contact["name"].split()[0])
    browser.element_with_text(".o-autocomplete--dropdown-item", contact["name"]).click()
    # Odoo 18's tag reads "Name <email>", Odoo 19's the name alone; the history checks the email.
    browser.element_with_text(TAGS, contact["name"])


def tags_are_whole(browser: Browser) -> None:
    """Every recipient tag shows its whole text (18: name and address), nothing cut."""
    cut = browser.driver.execute_script(
        """
        return [...document.querySelectorAll(arguments[0])]
            .map((tag) => tag.querySelector('.o_badge_text, .o_tag_badge_text') || tag)
            .filter((text) => text.scrollWidth > text.clientWidth + 1)
            .map((text) => text.textContent);
        """,
        TAGS,
    )
    assert not cut, f"recipient tags cut short: {cut}"


def colour_the_button_label(browser: Browser) -> None:
    """Select the template button's label and give it a font colour from the editor's toolbar."""
    link = browser.element(".modal div[name=body_html] .odoo-editor-editable a")
    link.click()
    browser.driver.execute_script(
        """
        const link = arguments[0];
        const range = document.createRange();
        range.selectNodeContents(link);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        link.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        """,
        link,
    )
    browser.click(".o-we-toolbar button.o-select-color-foreground")
    browser.click(f'.o_font_color_selector button.o_color_button[data-color="{RED}"]')
    browser.element_with_text(".modal div[name=body_html] .odoo-editor-editable a font", "View")
    browser.click(".modal div[name=subject] input")  # the toolbar closes, the body is kept


def show_chatter(browser: Browser) -> None:
    browser.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'start'});", browser.element(CHATTER)
    )


def badge(browser: Browser) -> str:
    return str(browser.element(".o_courier_state", timeout=5).text)


def chatter(browser: Browser) -> str:
    return str(browser.element(CHATTER, timeout=5).text)


def history(browser: Browser) -> dict[str, str]:
    """{recipient: status} as the Email history tab shows it now (no reload)."""
    if not browser.driver.find_elements("css selector", f"{HISTORY_TAB}.active"):
        browser.click(HISTORY_TAB)
    return {
        row.find_element("css selector", "td[name=email]").text: row.find_element(
            "css selector", "td[name=history_status]"
        ).text
        for row in browser.driver.find_elements("css selector", HISTORY_ROWS)
    }


def history_times(browser: Browser) -> dict[str, str]:
    return {
        row.find_element("css selector", "td[name=email]").text: row.find_element(
            "css selector", "td[name=status_time]"
        ).text
        for row in browser.driver.find_elements("css selector", HISTORY_ROWS)
    }


def open_status_line(browser: Browser, recipient: str) -> None:
    history(browser)  # the tab shown
    row = browser.element_with_text(HISTORY_ROWS, recipient)
    status = row.find_element("css selector", "td[name=history_status]")
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", status)
    status.click()
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


def pay_online(visitor: Browser) -> None:
    """Pay Now on the web document, with Odoo's demo provider and a test card."""
    visitor.element("a[data-bs-target='#pay_with']").click()
    visitor.element("#o_payment_form")
    radios = visitor.driver.find_elements("css selector", "input[name=o_payment_radio]")
    if len(radios) > 1:  # one provider is preselected
        visitor.click("input[name=o_payment_radio][data-provider-code=demo]")
    visitor.type_into("#customer_input", "4242 4242 4242 4242")
    visitor.screenshot("pay")
    visitor.click("button[name=o_payment_submit_button]")
    visitor.wait(lambda d: "/payment/status" in d.current_url, "the payment status page")


# ------------------------------------------------------------------ courierd


@contextmanager
def paused(courierd: DaemonProcess) -> Iterator[None]:
    """courierd stopped (SIGSTOP) meanwhile: what is queued stays queued, then goes on."""
    os.kill(courierd.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(courierd.pid, signal.SIGCONT)


# ------------------------------------------------------------------ outbox


def subject_of(path: Path) -> str:
    return str(read_email(path)["Subject"])


def sent_emails(outbox: Path, subject: str) -> list[EmailMessage]:
    return [m for p in sorted(outbox.glob("*.eml")) if (m := read_email(p))["Subject"] == subject]


def sent_email(outbox: Path, recipient: str, subject: str) -> EmailMessage:
    """The .eml the sandbox wrote for `recipient` with `subject` (its name holds the address)."""
    for path in sorted(outbox.glob(f"*-{recipient}-*.eml")):
        message = read_email(path)
        if message["Delivered-To"] == recipient and message["Subject"] == subject:
            return message
    raise AssertionError(f"no email to {recipient} with subject {subject!r} in {outbox}")
