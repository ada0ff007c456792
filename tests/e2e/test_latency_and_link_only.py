"""courierd run with the stand-in ERP and the sandbox: the waiting claim and link-only sends.

- A send queued while courierd is idle goes out at once: courierd's claim was
  waiting in the ERP (COURIER_CLAIM_WAIT_SECONDS), not sleeping until the next poll.
- A link-only send (the company's "Send the link only") reaches the sandbox with
  the web document's link and no attachment, and no PDF is rendered for it.
"""

from __future__ import annotations

from standin_erp import StandinErp
from tests.e2e.conftest import Mailjet
from tests.support.processes import courierd_process, wait_until
from tests.support.sandbox_mail import read_email, tracked_links


def _all_transmitted(erp: StandinErp, ids: list[int]) -> bool:
    return all(d["state"] == "transmitted" for d in erp.dispatches(ids))


def test_a_send_queued_while_courierd_waits_goes_out_without_a_poll(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    # Without the waiting claim, a claim that found nothing would be followed by a
    # 60 s pause: the send below would wait for it.
    env = courier_env | {"COURIER_IDLE_SECONDS": "60", "COURIER_CLAIM_WAIT_SECONDS": "20"}
    with courierd_process(env, "e2e-claim-wait.log"):
        wait_until(
            lambda: standin_erp.rpc_calls().get("courier.dispatch.courier_claim", 0) >= 1,
            30,
            "courierd's first claim",
        )
        ids = standin_erp.seed_dispatches(1)
        wait_until(lambda: _all_transmitted(standin_erp, ids), 15, "the send to go out")
        # The waiting claim took it: one claim before, none made in between.
        assert standin_erp.rpc_calls()["courier.dispatch.courier_claim"] <= 2


def test_a_link_only_email_carries_the_link_and_no_attachment(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    ids = standin_erp.store.seed(3, with_pdf=False, link_only=True)

    with courierd_process(courier_env, "e2e-link-only.log"):
        wait_until(lambda: _all_transmitted(standin_erp, ids), 60, "3 link-only sends")

    calls = standin_erp.rpc_calls()
    assert "courier.dispatch.courier_render_pdfs" not in calls
    assert "courier.dispatch.courier_render_pdf" not in calls
    invoices = {d["invoice_id"] for d in standin_erp.dispatches(ids)}
    emails = mailjet.emails()
    assert len(emails) == 3
    linked = set()
    for path in emails:
        message = read_email(path)
        assert [part.get_filename() for part in message.iter_attachments()] == []
        # The link is there, behind Mailjet's click tracking.
        targets = list(tracked_links(message))
        linked |= {i for i in invoices for t in targets if f"/my/invoices/{i}?access_token=" in t}
    assert linked == invoices
