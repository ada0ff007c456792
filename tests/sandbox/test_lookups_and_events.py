"""REST lookups (version "v3" client), tracking links and webhook delivery."""

from __future__ import annotations

import email
import re
from email.policy import default
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests
from mailjet_rest import Client, DoesNotExistError

from mailjet_sandbox import SandboxServer, find_eml

from .conftest import API_KEY, API_SECRET, WebhookReceiver, admin, message, wait_until


def send_one(client: Client, **extra: object) -> dict:
    to = str(extra.pop("to", "anna@customer.example"))
    response = client.send.create(data={"Messages": [message(to=to, **extra)]})
    return response.json()["Messages"][0]["To"][0]


def test_message_by_id_and_by_custom_id(
    sandbox: SandboxServer, send_client: Client, rest_client: Client
) -> None:
    sent = send_one(send_client, CustomID="dispatch-42")
    send_one(send_client, CustomID="other")
    message_id = sent["MessageID"]

    wait_until(lambda: rest_client.message.get(id=message_id).json()["Data"][0]["Status"] == "sent")
    shown = {"ShowContactAlt": "true", "ShowCustomID": "true", "ShowSubject": "true"}
    one = rest_client.message.get(id=message_id, filters=shown).json()
    assert one["Count"] == 1 and one["Total"] == 1
    item = one["Data"][0]
    assert item["ID"] == message_id
    assert item["UUID"] == sent["MessageUUID"]
    assert item["CustomID"] == "dispatch-42"
    assert item["ContactAlt"] == "anna@customer.example"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["ArrivedAt"])

    listed = rest_client.message.get(filters={"CustomID": "dispatch-42"}).json()
    assert listed["Count"] == 1
    assert [d["ID"] for d in listed["Data"]] == [message_id]
    none = rest_client.message.get(filters={"CustomID": "never-sent"}).json()
    assert none == {"Count": 0, "Data": [], "Total": 0}


def test_unknown_message_is_404(sandbox: SandboxServer, rest_client: Client) -> None:
    with pytest.raises(DoesNotExistError) as caught:
        rest_client.message.get(id=1152921504606846975)
    assert caught.value.status_code == 404
    assert "Object not found" in caught.value.response_body


def test_rest_needs_credentials(sandbox: SandboxServer) -> None:
    response = requests.get(sandbox.url + "v3/REST/message", auth=(API_KEY, "nope"), timeout=5)
    assert response.status_code == 401
    assert response.json()["StatusCode"] == 401


def test_messagehistory_lists_events(
    sandbox: SandboxServer, send_client: Client, rest_client: Client
) -> None:
    message_id = send_one(send_client)["MessageID"]
    history = wait_until(
        lambda: (h := rest_client.messagehistory.get(id=message_id).json())["Count"] and h
    )
    assert history["Total"] == 1
    (entry,) = history["Data"]
    assert set(entry) == {"Comment", "EventAt", "EventType", "State", "Useragent", "UseragentID"}
    assert entry["EventType"] == "sent"
    assert isinstance(entry["EventAt"], int)


def test_bounce_address_gives_bounce_event_and_no_sent(
    sandbox: SandboxServer,
    send_client: Client,
    rest_client: Client,
    receiver: WebhookReceiver,
) -> None:
    bounced = send_one(send_client, to="bounce@customer.example", CustomID="b-1")
    normal = send_one(send_client, CustomID="n-1")
    events = wait_until(lambda: len(receiver.events()) >= 2 and receiver.events())
    by_message = {e["MessageID"]: e for e in events}
    bounce = by_message[bounced["MessageID"]]
    assert bounce["event"] == "bounce"
    assert bounce["hard_bounce"] is True
    assert bounce["blocked"] is False
    assert bounce["error"] == "user unknown"
    assert bounce["error_related_to"] == "recipient"
    assert bounce["CustomID"] == "b-1"
    assert bounce["Message_GUID"] == bounced["MessageUUID"]
    assert by_message[normal["MessageID"]]["event"] == "sent"
    assert [e["event"] for e in events if e["MessageID"] == bounced["MessageID"]] == ["bounce"]
    status = rest_client.message.get(id=bounced["MessageID"]).json()["Data"][0]["Status"]
    assert status == "bounce"
    # The first POST was answered 500 by the receiver, and retried.
    assert len(receiver.attempts) >= 2
    assert receiver.authorizations[0].startswith("Basic ")


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("softbounce", ["bounce"]),
        ("blocked", ["blocked"]),
        ("spam", ["sent", "spam"]),
        ("unsub", ["sent", "unsub"]),
    ],
)
def test_recognisable_addresses(
    sandbox: SandboxServer,
    send_client: Client,
    receiver: WebhookReceiver,
    local: str,
    expected: list[str],
) -> None:
    message_id = send_one(send_client, to=f"{local}@customer.example")["MessageID"]
    events = wait_until(
        lambda: (
            len(mine := [e for e in receiver.events() if e["MessageID"] == message_id])
            >= len(expected)
            and mine
        )
    )
    assert [e["event"] for e in events] == expected
    if local == "softbounce":
        assert events[0]["hard_bounce"] is False
    if local == "blocked":
        assert events[0]["error"] == "preblocked"


def _tracking_urls(outbox: Path, message_id: int) -> tuple[str, str]:
    mail = email.message_from_bytes(find_eml(outbox, message_id).read_bytes(), policy=default)
    html_part = mail.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    (click,) = re.findall(r'href="([^"]+)"', html)
    (pixel,) = re.findall(r'<img src="([^"]+)"', html)
    return click.replace("&amp;", "&"), pixel


def test_click_redirects_and_reaches_the_webhook_after_a_500(
    sandbox: SandboxServer,
    send_client: Client,
    rest_client: Client,
    receiver: WebhookReceiver,
    outbox: Path,
) -> None:
    target = "https://erp.example.com/my/invoices/17?access_token=x"
    message_id = send_one(send_client, CustomID="click-1")["MessageID"]
    click_url, _ = _tracking_urls(outbox, message_id)
    assert click_url.startswith(f"{sandbox.url}t/c/")
    assert unquote(click_url.split("?u=", 1)[1]) == target

    response = requests.get(
        click_url, allow_redirects=False, headers={"User-Agent": "TestBrowser/1.0"}, timeout=5
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target

    events = wait_until(lambda: len(receiver.events()) >= 2 and receiver.events())
    assert [e["event"] for e in events] == ["sent", "click"]
    click = events[1]
    assert click["url"] == target
    assert click["agent"] == "TestBrowser/1.0"
    assert click["ip"] == "127.0.0.1"
    assert click["MessageID"] == message_id
    assert click["CustomID"] == "click-1"
    assert receiver.attempts[0] != [] and len(receiver.attempts) > len(receiver.accepted)
    stats = wait_until(
        lambda: (st := admin(sandbox, "stats"))["webhook_posts"] == len(receiver.accepted) and st
    )
    assert stats["webhook_failures"] >= 1
    history = rest_client.messagehistory.get(id=message_id).json()
    assert [d["EventType"] for d in history["Data"]] == ["sent", "clicked"]
    assert history["Data"][1]["Useragent"] == "TestBrowser/1.0"


def test_open_pixel_gives_open_event(
    sandbox: SandboxServer, send_client: Client, receiver: WebhookReceiver, outbox: Path
) -> None:
    message_id = send_one(send_client)["MessageID"]
    _, pixel = _tracking_urls(outbox, message_id)
    response = requests.get(pixel, headers={"User-Agent": "MailClient/2"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    events = wait_until(lambda: len(receiver.events()) >= 2 and receiver.events())
    assert [e["event"] for e in events] == ["sent", "open"]
    assert events[1]["agent"] == "MailClient/2"


def test_tracking_off_leaves_html_alone(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    message_id = send_one(send_client, TrackClicks="disabled", TrackOpens="disabled")["MessageID"]
    mail = email.message_from_bytes(find_eml(outbox, message_id).read_bytes(), policy=default)
    html_part = mail.get_body(("html",))
    assert html_part is not None
    assert html_part.get_content().strip() == message()["HTMLPart"]


def test_unknown_click_target_is_not_redirected(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    message_id = send_one(send_client)["MessageID"]
    click_url, _ = _tracking_urls(outbox, message_id)
    forged = click_url.split("?u=")[0] + "?u=https%3A%2F%2Fevil.example%2F"
    assert requests.get(forged, allow_redirects=False, timeout=5).status_code == 404


def test_state_survives_a_restart(outbox: Path) -> None:
    with SandboxServer(outbox, API_KEY, API_SECRET, sent_delay=0.0) as first:
        client = Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=first.url)
        message_id = send_one(client, CustomID="persist")["MessageID"]
    with SandboxServer(outbox, API_KEY, API_SECRET) as second:
        rest = Client(auth=(API_KEY, API_SECRET), version="v3", api_url=second.url)
        data = rest.message.get(filters={"CustomID": "persist"}).json()["Data"]
        assert [d["ID"] for d in data] == [message_id]
        assert data[0]["Status"] == "sent"
        again = send_one(Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=second.url))
        assert again["MessageID"] > message_id


def test_events_scheduled_before_a_restart_are_delivered_after_it(outbox: Path) -> None:
    receiver = WebhookReceiver().start()
    try:
        # No webhook on the first run: the event waits in the outbox index.
        with SandboxServer(outbox, API_KEY, API_SECRET, sent_delay=0.0) as first:
            client = Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=first.url)
            message_id = send_one(client)["MessageID"]
        with SandboxServer(outbox, API_KEY, API_SECRET, webhook_url=receiver.url):
            events = wait_until(receiver.events)
        assert [(e["event"], e["MessageID"]) for e in events] == [("sent", message_id)]
    finally:
        receiver.stop()
