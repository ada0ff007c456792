"""JSON-2 as Odoo 19 answers it, on every backend that serves it (stand-in and real).

courierd's error mapping (courierd/odoo/client.py) relies on these statuses and
error bodies: 401 without a valid key, 403 for an AccessError, 404 for an
unknown model or method, 422 for a UserError or arguments that do not fit.
Run on the real Odoo 19 too, they keep the stand-in honest.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.erp_backends import ERP_BACKENDS, TRANSPORTS, ErpBackend

JSON2_BACKENDS = [key for key in ERP_BACKENDS if TRANSPORTS[key] == "json2"]
on_json2 = pytest.mark.parametrize("erp_backend", JSON2_BACKENDS, indirect=True)


def post(
    backend: ErpBackend,
    path: str,
    body: Any,
    *,
    key: str | None = "",
    db: str | None = "",
    method: str = "POST",
) -> tuple[int, str, Any]:
    """(status, content type, parsed JSON body or the text) of one request to Odoo."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"bearer {key or backend.api_key}"
    if db is not None:
        headers["X-Odoo-Database"] = db or backend.db
    data = None if method == "GET" else json.dumps(body).encode()
    request = urllib.request.Request(backend.url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, content_type, raw = (
                response.status,
                response.headers["Content-Type"],
                response.read(),
            )
    except urllib.error.HTTPError as exc:
        status, content_type, raw = exc.code, exc.headers["Content-Type"], exc.read()
    if content_type.startswith("application/json"):
        return status, content_type, json.loads(raw)
    return status, content_type, raw.decode(errors="replace")


@on_json2
def test_a_contract_call_takes_named_arguments_and_answers_its_result(
    erp_backend: ErpBackend,
) -> None:
    status, _, body = post(
        erp_backend,
        "/json/2/courier.recipient/courier_open_tracking",
        {"limit": 5, "max_age_days": 30},
    )
    assert status == 200
    assert isinstance(body, list)


@on_json2
@pytest.mark.parametrize(
    ("key", "message"), [(None, "User not authenticated"), ("nope", "Invalid apikey")]
)
def test_no_key_or_a_wrong_key_is_401(
    erp_backend: ErpBackend, key: str | None, message: str
) -> None:
    status, _, body = post(
        erp_backend,
        "/json/2/courier.dispatch/courier_claim",
        {"worker_id": "w", "limit": 1, "lease_seconds": 60},
        key=key,
    )
    assert status == 401
    assert body["name"] == "werkzeug.exceptions.Unauthorized"
    assert message in body["message"]


@on_json2
def test_a_model_the_daemon_may_not_read_is_403(erp_backend: ErpBackend) -> None:
    status, _, body = post(erp_backend, "/json/2/account.move/search_count", {"domain": []})
    assert status == 403
    assert body["name"] == "odoo.exceptions.AccessError"


@on_json2
@pytest.mark.parametrize(
    "path", ["/json/2/no.such.model/search", "/json/2/courier.dispatch/no_such_method"]
)
def test_an_unknown_model_or_method_is_404(erp_backend: ErpBackend, path: str) -> None:
    status, _, body = post(erp_backend, path, {})
    assert status == 404
    assert body["name"] == "werkzeug.exceptions.NotFound"


@on_json2
def test_arguments_that_do_not_fit_are_422(erp_backend: ErpBackend) -> None:
    missing = post(erp_backend, "/json/2/courier.dispatch/courier_claim", {"worker_id": "w"})
    with_ids = post(
        erp_backend,
        "/json/2/courier.dispatch/courier_render_pdfs",
        {"ids": [1], "dispatch_ids": []},
    )
    assert missing[0] == 422 and missing[2]["name"] == "werkzeug.exceptions.UnprocessableEntity"
    assert "limit" in missing[2]["message"]
    assert with_ids[0] == 422 and "with ids" in with_ids[2]["message"]


@on_json2
def test_a_method_refusing_its_arguments_is_422_with_its_error(erp_backend: ErpBackend) -> None:
    status, _, body = post(
        erp_backend, "/json/2/courier.dispatch/courier_render_pdfs", {"dispatch_ids": 7}
    )
    assert status == 422
    # A UserError (or its ValidationError subclass): what the contract documents.
    assert body["name"] in ("odoo.exceptions.UserError", "odoo.exceptions.ValidationError")


@on_json2
def test_get_json2_is_the_probe_courierd_uses(erp_backend: ErpBackend) -> None:
    served = post(erp_backend, "/json/2", None, key=None, method="GET")
    other_db = post(erp_backend, "/json/2", None, key=None, db="no_such_db", method="GET")
    assert served[0] == 404 and served[2]["name"] == "werkzeug.exceptions.NotFound"
    # A database Odoo does not serve: its HTML 404, so courierd does not take it for JSON-2.
    assert other_db[0] == 404 and other_db[1].startswith("text/html")
