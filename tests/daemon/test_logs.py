import io
import json
import logging

import pytest
from pydantic import SecretStr

from courierd.ops import logs


class _Stream(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def captured():
    stream = _Stream()
    logs.configure("debug", "json", stream)
    yield stream
    logging.getLogger().handlers.clear()


def _lines(stream: _Stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_bound_dispatch_and_custom_id(captured):
    logs.get_logger("t").bind(dispatch_id=42, custom_id="cid42").info("transmitted")
    (line,) = _lines(captured)
    assert line["event"] == "transmitted"
    assert line["dispatch_id"] == 42
    assert line["custom_id"] == "cid42"
    assert line["level"] == "info"
    assert "timestamp" in line


def test_secret_keys_and_values_never_reach_the_output(captured):
    log = logs.get_logger("t")
    log.info(
        "connecting",
        odoo_password="hunter2-odoo",
        mailjet_api_key="mjkey-abcdef",
        api_secret=SecretStr("mjsecret-xyz"),
        headers={"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
        settings={"nested": {"token": "tok-123456"}},
    )
    log.warning("call failed: Authorization: Basic c2VjcmV0OnNlY3JldA== refused")
    log.error("url http://courierd:pw-in-url-9@erp.example.com/jsonrpc failed")
    out = captured.getvalue()
    for secret in (
        "hunter2-odoo",
        "mjkey-abcdef",
        "mjsecret-xyz",
        "dXNlcjpwYXNzd29yZA",
        "tok-123456",
        "c2VjcmV0OnNlY3JldA",
        "pw-in-url-9",
    ):
        assert secret not in out
    assert logs.MASK in out


def test_stdlib_loggers_are_masked_and_rendered_as_json(captured):
    logging.getLogger("mailjet_rest.client").warning("retrying with api_key=abc123456789")
    (line,) = _lines(captured)
    assert "abc123456789" not in line["event"]
    assert line["logger"] == "mailjet_rest.client"


def test_exception_tracebacks_are_masked(captured):
    try:
        raise RuntimeError("login failed for password=s3cr3t-value")
    except RuntimeError:
        logs.get_logger("t").exception("boom")
    assert "s3cr3t-value" not in captured.getvalue()


def test_odoorpc_debug_logging_is_silenced(captured):
    logging.getLogger("odoorpc.rpc.jsonrpclib").debug("(JSON,send) args [db, 2, 'pw']")
    assert captured.getvalue() == ""


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://courierd:pw-9@erp.example.com:8069", "http://********@erp.example.com:8069"),
        ("https://tok3n-only@erp.example.com/", "https://********@erp.example.com/"),
        ("at http://erp.example.com:8069 for anna@customer.example", None),
    ],
)
def test_mask_url_hides_the_whole_user_info(text, shown):
    assert logs.mask_url(text) == (shown or text)
