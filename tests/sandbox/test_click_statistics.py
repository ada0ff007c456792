"""GET /v3/REST/clickstatistics, and courierd's Mailjet adapter reading it and the history.

Field names follow Mailjet's reference for the clickstatistics resource: ClickedAt
(RFC 3339), ClickedDelay, ContactID, ID, MessageID, Url, UserAgentID.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email.policy import default
from pathlib import Path

import pytest
import requests
from mailjet_rest import Client
from pydantic import SecretStr

from courierd.domain.errors import FailureKind, MailProviderCallFailed
from courierd.domain.tracking import unix_from_iso
from courierd.mailjet.client import MailjetClient
from mailjet_sandbox import SandboxServer, find_eml
from mailjet_sandbox.faults import Fault

from .conftest import API_KEY, API_SECRET, message, wait_until

PORTAL = "https://erp.example.com/my/invoices/17?access_token=x"
OTHER = "https://company.example/terms"


def _send(client: Client, to: str = "anna@customer.example") -> int:
    html = f'<p><a href="{PORTAL}">invoice</a> <a href="{OTHER}">terms</a></p>'
    body = {"Messages": [message(to=to, HTMLPart=html, CustomID=f"cs-{to}")]}
    return int(client.send.create(data=body).json()["Messages"][0]["To"][0]["MessageID"])


def _click_urls(outbox: Path, message_id: int) -> list[str]:
    mail = email.message_from_bytes(find_eml(outbox, message_id).read_bytes(), policy=default)
    html_part = mail.get_body(("html",))
    assert html_part is not None
    return [u.replace("&amp;", "&") for u in re.findall(r'href="([^"]+)"', html_part.get_content())]


def _click(url: str, agent: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0") -> None:
    response = requests.get(url, allow_redirects=False, headers={"User-Agent": agent}, timeout=5)
    assert response.status_code == 302


@pytest.fixture
def courier_mailjet(sandbox: SandboxServer) -> Iterator[MailjetClient]:
    client = MailjetClient(
        api_key=SecretStr(API_KEY), api_secret=SecretStr(API_SECRET), api_url=sandbox.url
    )
    yield client
    client.close()


def test_one_item_per_click_with_mailjets_field_names(
    sandbox: SandboxServer, send_client: Client, rest_client: Client, outbox: Path
) -> None:
    message_id = _send(send_client)
    portal_link, other_link = _click_urls(outbox, message_id)
    _click(portal_link)
    _click(other_link)
    _click(portal_link)

    # A click is recorded after the message's own (slightly delayed) delivery event.
    body = wait_until(
        lambda: (
            (b := rest_client.clickstatistics.get(filters={"MessageID": message_id}).json())[
                "Count"
            ]
            == 3
            and b
        )
    )

    assert body["Count"] == body["Total"] == 3
    assert [c["Url"] for c in body["Data"]] == [PORTAL, OTHER, PORTAL]
    first = body["Data"][0]
    assert set(first) == {
        "ClickedAt",
        "ClickedDelay",
        "ContactID",
        "ID",
        "MessageID",
        "Url",
        "UserAgentID",
    }
    assert first["MessageID"] == message_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["ClickedAt"])
    assert first["ClickedDelay"] >= 0
    assert len({c["ID"] for c in body["Data"]}) == 3
    # The same click in the message's history: same time, same user agent ID.
    history = rest_client.messagehistory.get(id=message_id).json()["Data"]
    clicked = [h for h in history if h["EventType"] == "clicked"]
    assert [h["EventAt"] for h in clicked] == [unix_from_iso(c["ClickedAt"]) for c in body["Data"]]
    assert {h["UseragentID"] for h in clicked} == {first["UserAgentID"]}


def test_filtered_by_message_and_paged(
    sandbox: SandboxServer, send_client: Client, rest_client: Client, outbox: Path
) -> None:
    clicked = _send(send_client, "anna@customer.example")
    untouched = _send(send_client, "bob@customer.example")
    for link in _click_urls(outbox, clicked):
        _click(link)
    wait_until(lambda: len(rest_client.clickstatistics.get().json()["Data"]) == 2)

    assert rest_client.clickstatistics.get(filters={"MessageID": untouched}).json()["Data"] == []
    everything = rest_client.clickstatistics.get().json()["Data"]
    assert {c["MessageID"] for c in everything} == {clicked}
    page = rest_client.clickstatistics.get(
        filters={"MessageID": clicked, "Limit": 1, "Offset": 1}
    ).json()
    assert [c["Url"] for c in page["Data"]] == [OTHER]


def test_a_bad_message_id_is_a_400_and_credentials_are_needed(sandbox: SandboxServer) -> None:
    url = sandbox.url + "v3/REST/clickstatistics"
    bad = requests.get(url, params={"MessageID": "abc"}, auth=(API_KEY, API_SECRET), timeout=5)
    anonymous = requests.get(url, timeout=5)
    assert bad.status_code == 400
    assert anonymous.status_code == 401


def test_the_adapter_reads_history_and_clicks(
    send_client: Client, courier_mailjet: MailjetClient, outbox: Path
) -> None:
    message_id = _send(send_client)
    portal_link, _ = _click_urls(outbox, message_id)
    _click(portal_link, agent="TestBrowser/3")

    history = wait_until(
        lambda: len(h := courier_mailjet.message_history(str(message_id))) == 2 and h
    )
    clicks = courier_mailjet.click_statistics(str(message_id))

    assert [h["EventType"] for h in history] == ["sent", "clicked"]
    assert history[1]["Useragent"] == "TestBrowser/3"
    assert [c["Url"] for c in clicks] == [PORTAL]


def test_the_adapter_answers_nothing_for_a_message_mailjet_does_not_know(
    sandbox: SandboxServer, courier_mailjet: MailjetClient
) -> None:
    assert courier_mailjet.message_history("999999999999") == []
    assert courier_mailjet.click_statistics("999999999999") == []


def test_the_adapter_raises_a_kind_on_429_and_on_5xx(
    sandbox: SandboxServer, courier_mailjet: MailjetClient
) -> None:
    throttled = {"path_prefix": "/v3/REST/messagehistory", "status": 429, "times": 1}
    broken = {"path_prefix": "/v3/REST/clickstatistics", "status": 503, "times": 1}
    sandbox.faults.add(Fault.from_json(throttled))
    sandbox.faults.add(Fault.from_json(broken))

    with pytest.raises(MailProviderCallFailed) as rate_limited:
        courier_mailjet.message_history("1")
    with pytest.raises(MailProviderCallFailed) as server_error:
        courier_mailjet.click_statistics("1")

    assert rate_limited.value.failure.kind == FailureKind.RATE_LIMITED
    assert server_error.value.failure.kind == FailureKind.SERVER_ERROR
