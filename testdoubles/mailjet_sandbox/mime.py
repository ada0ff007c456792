"""Building the MIME email the sandbox "delivers" to one recipient, and naming its file."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address as MimeAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from mailjet_sandbox.validation import Address, Message, Recipient

MESSAGE_ID_DOMAIN = "mailjet-sandbox.invalid"
# What an address may keep in a file name; anything else becomes "_".
UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9@._+-]")


def eml_name(sent_at: datetime, email: str, message_id: int) -> str:
    """`<UTC time>-<recipient>-<MessageID>.eml`: sorted by time, found by address or id.

    e.g. 20261127-081502-anna@acme.example-1152921504606846976.eml
    """
    when = sent_at.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{when}-{UNSAFE_IN_NAME.sub('_', email)[:100]}-{message_id}.eml"


def find_eml(outbox: Path, message_id: int | str) -> Path:
    """The .eml of MessageID `message_id` in `outbox`; FileNotFoundError if there is none."""
    for path in outbox.glob(f"*-{message_id}.eml"):
        return path
    raise FileNotFoundError(f"no .eml of MessageID {message_id} in {outbox}")


def _mime_address(addr: Address | Recipient) -> MimeAddress:
    return MimeAddress(display_name=addr.name, addr_spec=addr.email)


def build_email(
    message: Message,
    recipient: Recipient,
    *,
    message_id: int,
    message_uuid: str,
    html: str | None,
    sent_at: datetime,
) -> EmailMessage:
    """One recipient's copy: text and HTML alternatives, inline parts, attachments.

    ``html`` is the HTML part after tracking rewrites. Bcc recipients are
    never listed in the headers, as with any mail server.
    """
    mail = EmailMessage(policy=SMTP)
    mail["From"] = _mime_address(message.sender)
    to = message.of_kind("To")
    cc = message.of_kind("Cc")
    if to:
        mail["To"] = [_mime_address(r) for r in to]
    if cc:
        mail["Cc"] = [_mime_address(r) for r in cc]
    if message.reply_to is not None:
        mail["Reply-To"] = _mime_address(message.reply_to)
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(sent_at)
    mail["Message-ID"] = f"<{message_uuid}@{MESSAGE_ID_DOMAIN}>"
    mail["Delivered-To"] = recipient.email
    mail["X-Mailjet-MessageID"] = str(message_id)
    mail["X-Mailjet-MessageUUID"] = message_uuid
    if message.custom_id:
        mail["X-MJ-CustomID"] = message.custom_id
    if message.event_payload:
        mail["X-MJ-EventPayload"] = message.event_payload
    if message.custom_campaign:
        mail["X-Mailjet-Campaign"] = message.custom_campaign
    if message.template_id is not None:
        mail["X-MJ-TemplateID"] = str(message.template_id)
    for name, value in message.headers.items():
        mail[name] = value

    text = message.text
    if text is not None:
        mail.set_content(text, subtype="plain", charset="utf-8")
        if html is not None:
            mail.add_alternative(html, subtype="html", charset="utf-8")
    else:
        mail.set_content(html or "", subtype="html", charset="utf-8")

    if message.inline_attachments:
        html_part = mail if mail.get_content_type() == "text/html" else None
        if html_part is None and mail.is_multipart():
            html_part = next(
                (p for p in mail.iter_parts() if p.get_content_type() == "text/html"), None
            )
        target = html_part if html_part is not None else mail
        for att in message.inline_attachments:
            maintype, _, subtype = att.content_type.partition("/")
            target.add_related(
                att.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                cid=f"<{att.content_id or att.filename}>",
                filename=att.filename,
                disposition="inline",
            )
    for att in message.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        mail.add_attachment(
            att.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=att.filename,
        )
    return mail
