"""courier_render_pdfs: several dispatches' PDFs in one call (docs/contract.md)."""

from __future__ import annotations

import base64

import pytest

from tests.contract.client import Contract, ContractRefused
from tests.support.erp_backends import ErpBackend


def test_render_pdfs_returns_each_dispatch_its_own_pdf(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    *ours, other = erp_backend.seed_dispatches(4, with_pdf=False)
    contract.claim_ours(ours)

    results = contract.render_pdfs([*ours, other, 2_000_000_000])

    assert set(results) == {str(i) for i in [*ours, other, 2_000_000_000]}
    pdfs = [results[str(dispatch_id)] for dispatch_id in ours]
    for pdf in pdfs:
        assert pdf["content_type"] == "application/pdf"
        assert pdf["filename"].endswith(".pdf")
        assert base64.b64decode(pdf["base64"]).startswith(b"%PDF")
    assert len({pdf["filename"] for pdf in pdfs}) == len(ours)
    assert len({pdf["base64"] for pdf in pdfs}) == len(ours), "each invoice its own part"
    # Not being sent (still queued, or failed by claim_ours as not ours): an error of its own.
    assert "only a dispatch being sent" in results[str(other)]["error"]
    assert "does not exist" in results["2000000000"]["error"]
    # Each PDF was stored on its invoice: the single call returns the same.
    for dispatch_id, pdf in zip(ours, pdfs, strict=True):
        assert contract.render_pdf(dispatch_id)["base64"] == pdf["base64"]


def test_render_pdfs_refuses_a_non_list(erp_backend: ErpBackend, contract: Contract) -> None:
    with pytest.raises(ContractRefused):
        contract.call("courier.dispatch", "courier_render_pdfs", dispatch_ids=7)
