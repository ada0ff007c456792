"""Link-only sends through a real Odoo: no PDF in the claim, the link in the body, and the
portal hands out the invoice's PDF, made when first asked for (not Odoo's pro forma)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from tests.contract.client import Contract, transmitted
from tests.support.odoo import OdooBackend


@pytest.fixture
def link_only(odoo_backend: OdooBackend) -> Iterator[OdooBackend]:
    admin = odoo_backend.admin
    company_id = admin.env.user.company_id.id
    admin.execute("res.company", "write", [company_id], {"courier_link_only": True})
    try:
        yield odoo_backend
    finally:
        admin.execute("res.company", "write", [company_id], {"courier_link_only": False})


def _get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=300) as response:
        return response.headers.get("Content-Type", ""), response.read()


def test_link_only_send_has_no_pdf_and_the_portal_makes_it_when_asked(
    link_only: OdooBackend,
) -> None:
    [dispatch_id] = link_only.seed_dispatches(1, with_pdf=False)
    contract = Contract(link_only)
    try:
        [claimed] = contract.claim_ours([dispatch_id])
        contract.report([transmitted(claimed)])
    finally:
        contract.close()

    assert claimed["link_only"] is True
    assert claimed["pdf_pending"] is False
    assert claimed["attachments"] == []
    assert claimed["web_url"] in claimed["html"]
    move_id = claimed["invoice_id"]
    admin = link_only.admin
    [before] = admin.execute("account.move", "read", [move_id], ["invoice_pdf_report_id"])
    assert before["invoice_pdf_report_id"] is False  # nothing was rendered for the send

    content_type, pdf = _get(claimed["web_url"] + "&report_type=pdf&download=true")

    assert content_type.startswith("application/pdf")
    assert pdf.startswith(b"%PDF")
    [after] = admin.execute("account.move", "read", [move_id], ["invoice_pdf_report_id"])
    assert after["invoice_pdf_report_id"], "the PDF the customer got is the invoice's, stored"
    assert _get(claimed["web_url"] + "&report_type=pdf&download=true")[1] == pdf  # made once
