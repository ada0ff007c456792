"""Queued dispatches go out through the sandbox and come back transmitted."""

from __future__ import annotations

import email
from email.message import Message

from standin_erp import StandinErp
from tests.e2e.conftest import Mailjet
from tests.support.processes import ROOT, courierd_process, wait_until
from tests.support.sandbox_mail import read_email


def _all_final(erp: StandinErp, ids: list[int]) -> bool:
    return all(d["state"] in ("transmitted", "failed") for d in erp.dispatches(ids))


def test_120_dispatches_go_out_in_three_send_calls(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    ids = standin_erp.seed_dispatches(120)

    with courierd_process(courier_env, "e2e-120-dispatches.log"):
        wait_until(lambda: _all_final(standin_erp, ids), 60, "120 dispatches to be reported")

    dispatches = standin_erp.dispatches(ids)
    assert {d["state"] for d in dispatches} == {"transmitted"}
    assert {d["invoice_state"] for d in dispatches} == {"sent"}
    message_ids = [r["message_id"] for d in dispatches for r in d["recipients"]]
    assert all(message_ids) and len(set(message_ids)) == 120
    stats = mailjet.stats()
    assert stats["send_calls"] == 3
    assert stats["send_calls_by_status"] == {"200": 3}
    assert stats["messages_accepted"] == 120
    assert len(mailjet.emails()) == 120
    assert {path.stem.rsplit("-", 1)[1] for path in mailjet.emails()} == set(message_ids)


def test_a_call_never_carries_more_than_50_recipients(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    # Mailjet refuses a whole call over 50 recipients (send-0015): 30 invoices to
    # two contacts each must go in two calls, 25 + 5, not in one of 60 recipients.
    emails = [f"anna{i}@customer.example,bob{i}@customer.example" for i in range(30)]
    ids = standin_erp.seed_dispatches(30, emails)

    with courierd_process(courier_env, "e2e-recipients-per-call.log"):
        wait_until(lambda: _all_final(standin_erp, ids), 60, "30 dispatches to be reported")

    dispatches = standin_erp.dispatches(ids)
    assert {d["state"] for d in dispatches} == {"transmitted"}
    assert all(
        len(d["recipients"]) == 2 and all(r["message_id"] for r in d["recipients"])
        for d in dispatches
    )
    stats = mailjet.stats()
    assert stats["send_calls_by_status"] == {"200": 2}
    # Each recipient gets their own email: 60 messages, at most 50 a call.
    assert stats["messages_accepted"] == 60
    assert len(mailjet.emails()) == 60


def test_each_recipient_gets_their_own_email_unless_one_to_all(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    both = "anna@customer.example,typed@elsewhere.example"
    private = standin_erp.store.seed(1, [both])
    shared = standin_erp.store.seed(1, [both], one_email_to_all=True)

    with courierd_process(courier_env, "e2e-private-recipients.log"):
        ids = private + shared
        wait_until(lambda: _all_final(standin_erp, ids), 60, "2 dispatches to be reported")

    private_sent, shared_sent = standin_erp.dispatches(ids)
    # The sandbox writes one .eml per recipient of each message it accepts.
    by_id = {path.stem.rsplit("-", 1)[1]: read_email(path) for path in mailjet.emails()}
    for recipient in private_sent["recipients"]:
        own = by_id[recipient["message_id"]]
        # Its own email: only its own address, nobody else's.
        assert own["To"].addresses[0].addr_spec == recipient["email"]
        assert len(own["To"].addresses) == 1
        assert own["Delivered-To"] == recipient["email"]
    for recipient in shared_sent["recipients"]:
        shown = [a.addr_spec for a in by_id[recipient["message_id"]]["To"].addresses]
        assert shown == both.split(",")
    stats = mailjet.stats()
    assert stats["messages_accepted"] == 3
    assert len(by_id) == 4


def test_pending_pdfs_are_rendered_and_attached(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    ids = standin_erp.store.seed(4, with_pdf=False)

    with courierd_process(courier_env, "e2e-pdf-pending.log"):
        wait_until(lambda: _all_final(standin_erp, ids), 60, "4 dispatches to be reported")

    assert {d["state"] for d in standin_erp.dispatches(ids)} == {"transmitted"}
    # COURIER_PDF_BATCH_SIZE's default (5): the 4 renders in one call.
    calls = standin_erp.rpc_calls()
    assert calls.get("courier.dispatch.courier_render_pdfs") == 1
    assert "courier.dispatch.courier_render_pdf" not in calls
    emails = mailjet.emails()
    assert len(emails) == 4, "one email per dispatch, each checked below"
    for path in emails:
        parsed: Message = email.message_from_bytes(path.read_bytes())
        pdfs = [p for p in parsed.walk() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1
        assert pdfs[0].get_payload(decode=True).startswith(b"%PDF")


def test_an_invalid_address_fails_only_its_dispatch(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    emails = [f"ok{i}@customer.example" for i in range(5)]
    emails[2] = "not-an-address@"
    ids = standin_erp.seed_dispatches(5, emails)

    with courierd_process(courier_env, "e2e-invalid-address.log"):
        wait_until(lambda: _all_final(standin_erp, ids), 60, "5 dispatches to be reported")

    dispatches = standin_erp.dispatches(ids)
    bad = dispatches.pop(2)
    assert bad["state"] == "failed"
    assert bad["invoice_state"] == "failed"
    assert bad["error_code"], "Mailjet's ErrorCode is kept"
    assert "not-an-address@" in (bad["last_error"] or ""), bad["last_error"]
    assert bad["recipients"][0]["message_id"] is None
    assert {d["state"] for d in dispatches} == {"transmitted"}
    assert len(mailjet.emails()) == 4
    assert mailjet.stats()["send_calls"] == 1


def test_429_then_success_sends_each_email_once(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    mailjet.inject("/v3.1/send", 429, times=1)
    ids = standin_erp.seed_dispatches(10)

    with courierd_process(courier_env, "e2e-429.log"):
        wait_until(lambda: _all_final(standin_erp, ids), 60, "10 dispatches to be reported")

    dispatches = standin_erp.dispatches(ids)
    assert {d["state"] for d in dispatches} == {"transmitted"}
    assert {d["attempts"] for d in dispatches} == {2}
    stats = mailjet.stats()
    assert stats["send_calls_by_status"].get("429") == 1
    assert stats["messages_accepted"] == 10
    assert len(mailjet.emails()) == 10


def test_courierd_run_sends_through_the_configured_template_mapping(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    template_mapping = ROOT / "mappings" / "examples" / "messages-template.yaml"
    ids = standin_erp.seed_dispatches(1, ["anna@customer.example"])
    env = courier_env | {"COURIER_MESSAGE_MAPPING": str(template_mapping)}

    with courierd_process(env, "e2e-template-mapping.log"):
        wait_until(lambda: _all_final(standin_erp, ids), 60, "the dispatch to be reported")

    [dispatch] = standin_erp.dispatches(ids)
    assert dispatch["state"] == "transmitted"
    [path] = mailjet.emails()
    html_part = read_email(path).get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    # The sandbox shows the template and each variable it was sent with.
    assert 'data-template-id="4082179"' in html
    assert 'data-variable="invoice_number"' in html
    assert 'data-variable="invoice_url"' in html
