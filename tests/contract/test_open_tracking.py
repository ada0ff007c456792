"""courier_open_tracking: recipients whose tracking is still open (docs/contract.md)."""

from __future__ import annotations

from tests.contract.client import Contract, event, transmitted, unique_email
from tests.support.erp_backends import ErpBackend


def test_lists_only_recipients_whose_tracking_is_open(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    emails = [unique_email(label) for label in ("sent", "delivered", "deferred", "opened")]
    final = [unique_email(label) for label in ("clicked", "bounced", "spam")]
    [sent_id] = erp_backend.seed_dispatches(1, [", ".join(emails + final)])
    [claimed] = contract.claim_ours([sent_id])
    not_sent = unique_email("queued")
    erp_backend.seed_dispatches(1, [not_sent])
    report = transmitted(claimed)
    contract.report([report])
    ids = {r["email"]: r["message_id"] for r in report["recipients"]}
    contract.ingest(
        [
            event("delivered", ids[emails[1]]),
            event("deferred", ids[emails[2]]),
            event("opened", ids[emails[3]]),
            event("clicked", ids[final[0]]),
            event("bounced", ids[final[1]]),
            event("spam", ids[final[2]]),
        ]
    )

    ours = {*emails, *final, not_sent}
    listed = [r for r in contract.open_tracking(500, 30) if r["email"] in ours]

    assert {r["email"]: r["status"] for r in listed} == dict(
        zip(emails, ["transmitted", "delivered", "deferred", "opened"], strict=True)
    )
    custom_id = claimed["custom_id"]
    for row in listed:
        assert set(row) >= {"recipient_id", "message_id", "custom_id", "email", "status"}
        assert row["custom_id"] == custom_id
        assert row["message_id"] == ids[row["email"]]
