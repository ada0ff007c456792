"""The Send API v3.1 through the real mailjet-rest client over loopback."""

from __future__ import annotations

import base64
import email
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.policy import default
from pathlib import Path

import pytest
from mailjet_rest import Client, MailjetAuthError, ValidationError

from mailjet_sandbox import SandboxServer, find_eml

from .conftest import API_KEY, API_SECRET, admin, message


def emls(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml"))


def test_success_shape_and_ids(sandbox: SandboxServer, send_client: Client, outbox: Path) -> None:
    response = send_client.send.create(
        data={
            "Messages": [
                message(CustomID="c-1", Cc=[{"Email": "cc@customer.example"}]),
            ]
        }
    )
    assert response.status_code == 200
    (answer,) = response.json()["Messages"]
    assert list(answer) == ["Status", "CustomID", "To", "Cc", "Bcc"]
    assert answer["Status"] == "success"
    assert answer["CustomID"] == "c-1"
    assert answer["Bcc"] == []
    ids = []
    named = []
    for entry in answer["To"] + answer["Cc"]:
        assert list(entry) == ["Email", "MessageUUID", "MessageID", "MessageHref"]
        assert isinstance(entry["MessageID"], int)
        assert 2**32 < entry["MessageID"] < 2**63
        assert uuid.UUID(entry["MessageUUID"]).version == 4
        assert entry["MessageHref"] == f"{sandbox.url}v3/REST/message/{entry['MessageID']}"
        ids.append(entry["MessageID"])
        named.append(f"{entry['Email']}-{entry['MessageID']}.eml")
    assert len(set(ids)) == 2
    # <UTC time>-<recipient>-<MessageID>.eml: a recipient's email is found by its address.
    assert sorted(p.name[len("20261127-081502-") :] for p in emls(outbox)) == sorted(named)
    assert all(re.fullmatch(r"\d{8}-\d{6}-.+", p.name) for p in emls(outbox))
    mail = email.message_from_bytes(find_eml(outbox, ids[0]).read_bytes(), policy=default)
    assert mail["X-MJ-CustomID"] == "c-1"
    assert mail.get_content_type() == "multipart/alternative"
    stats = admin(sandbox, "stats")
    assert stats["send_calls"] == 1
    assert stats["send_calls_by_status"] == {"200": 1}
    assert stats["messages_accepted"] == 1
    assert stats["emails_written"] == 2


def test_one_bad_message_in_three_is_http_400_and_the_two_good_ones_are_sent(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    batch = [
        message(CustomID="a"),
        message(to="not-an-address", CustomID="b"),
        message(CustomID="c"),
    ]
    # mailjet-rest 1.9.1 raises on any 4xx; the per-message answers are in the
    # exception's response_body (raw text), and only there.
    with pytest.raises(ValidationError) as caught:
        send_client.send.create(data={"Messages": batch})
    assert caught.value.status_code == 400
    body = json.loads(caught.value.response_body)
    statuses = [m["Status"] for m in body["Messages"]]
    assert statuses == ["success", "error", "success"]
    error = body["Messages"][1]["Errors"][0]
    assert error["ErrorCode"] == "mj-0013"
    assert error["ErrorRelatedTo"] == ["To[0].Email"]
    assert set(error) == {
        "ErrorIdentifier",
        "ErrorCode",
        "StatusCode",
        "ErrorMessage",
        "ErrorRelatedTo",
    }
    sent_ids = {body["Messages"][i]["To"][0]["MessageID"] for i in (0, 2)}
    assert {int(p.stem.rsplit("-", 1)[1]) for p in emls(outbox)} == sent_ids
    assert admin(sandbox, "stats")["send_calls_by_status"] == {"400": 1}


def test_51_messages_rejected(sandbox: SandboxServer, send_client: Client, outbox: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        send_client.send.create(data={"Messages": [message() | {"To": []} for _ in range(51)]})
    body = json.loads(caught.value.response_body)
    assert body["ErrorCode"] == "mj-0008"
    assert body["StatusCode"] == 400
    assert emls(outbox) == []


def test_51_recipients_rejected(sandbox: SandboxServer, send_client: Client, outbox: Path) -> None:
    to = [{"Email": f"r{i}@customer.example"} for i in range(51)]
    with pytest.raises(ValidationError) as caught:
        send_client.send.create(data={"Messages": [message() | {"To": to}]})
    body = json.loads(caught.value.response_body)
    assert body["ErrorCode"] == "send-0015"
    assert body["ErrorRelatedTo"] == ["To", "Bcc", "Cc"]
    assert emls(outbox) == []


def test_subject_of_256_characters_rejected(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    with pytest.raises(ValidationError) as caught:
        send_client.send.create(data={"Messages": [message(Subject="x" * 256)]})
    (answer,) = json.loads(caught.value.response_body)["Messages"]
    assert answer["Status"] == "error"
    assert answer["Errors"][0]["ErrorCode"] == "mj-0006"
    assert answer["Errors"][0]["ErrorRelatedTo"] == ["Subject"]
    assert emls(outbox) == []


def test_16_mb_attachment_rejected(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    content = base64.b64encode(b"%PDF" * (4 * 1024 * 1024)).decode()  # 16 MiB decoded
    att = {"ContentType": "application/pdf", "Filename": "big.pdf", "Base64Content": content}
    with pytest.raises(ValidationError) as caught:
        send_client.send.create(data={"Messages": [message(Attachments=[att])]})
    (answer,) = json.loads(caught.value.response_body)["Messages"]
    assert answer["Errors"][0]["ErrorCode"] == "mj-0011"
    assert emls(outbox) == []


def test_attachment_written_as_mime_part(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    pdf = b"%PDF-1.4 invoice"
    att = {
        "ContentType": "application/pdf",
        "Filename": "INV_2026_00017.pdf",
        "Base64Content": base64.b64encode(pdf).decode(),
    }
    response = send_client.send.create(data={"Messages": [message(Attachments=[att])]})
    message_id = response.json()["Messages"][0]["To"][0]["MessageID"]
    mail = email.message_from_bytes(find_eml(outbox, message_id).read_bytes(), policy=default)
    (part,) = list(mail.iter_attachments())
    assert part.get_filename() == "INV_2026_00017.pdf"
    assert part.get_content() == pdf


def test_wrong_credentials_401(sandbox: SandboxServer, outbox: Path) -> None:
    client = Client(auth=(API_KEY, "wrong"), version="v3.1", api_url=sandbox.url)
    with client, pytest.raises(MailjetAuthError) as caught:
        client.send.create(data={"Messages": [message()]})
    assert caught.value.status_code == 401
    body = json.loads(caught.value.response_body)
    assert body["StatusCode"] == 401
    assert body["ErrorCode"] == "mj-0015"
    assert emls(outbox) == []
    assert admin(sandbox, "stats")["send_calls_by_status"] == {"401": 1}


def test_broken_json_is_mj_0002(sandbox: SandboxServer, send_client: Client) -> None:
    with pytest.raises(ValidationError) as caught:
        send_client.send.create(data=b"{not json", headers={"Content-Type": "application/json"})
    assert json.loads(caught.value.response_body)["ErrorCode"] == "mj-0002"


def test_sandbox_mode_validates_and_sends_nothing(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    response = send_client.send.create(
        data={"Messages": [message(CustomID="dry")], "SandboxMode": True}
    )
    (answer,) = response.json()["Messages"]
    assert answer["Status"] == "success"
    assert answer["CustomID"] == "dry"
    assert answer["To"] == [
        {
            "Email": "anna@customer.example",
            "MessageUUID": "",
            "MessageID": 0,
            "MessageHref": f"{sandbox.url}v3/message/0",
        }
    ]
    assert emls(outbox) == []
    assert admin(sandbox, "messages") == []
    with pytest.raises(ValidationError):
        send_client.send.create(data={"Messages": [message(to="bad@")], "SandboxMode": True})


def test_concurrent_calls_get_unique_ids(sandbox: SandboxServer, outbox: Path) -> None:
    def send_five(worker: int) -> list[int]:
        with Client(auth=(API_KEY, API_SECRET), version="v3.1", api_url=sandbox.url) as client:
            batch = [message(to=f"w{worker}m{i}@customer.example") for i in range(5)]
            answer = client.send.create(data={"Messages": batch}).json()
        return [m["To"][0]["MessageID"] for m in answer["Messages"]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [i for chunk in pool.map(send_five, range(8)) for i in chunk]
    assert len(set(ids)) == 40
    assert {int(p.stem.rsplit("-", 1)[1]) for p in emls(outbox)} == set(ids)
    assert admin(sandbox, "stats")["send_calls_by_status"] == {"200": 8}
