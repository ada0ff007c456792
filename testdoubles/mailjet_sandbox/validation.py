"""Validation of a Send API v3.1 payload, with Mailjet's error codes.

Pure functions: a decoded JSON body in, either a whole-call error or, per
message, a parsed message or its list of errors. Checks follow the
"Message JSON properties", "Set global payload properties" and "Send API
errors" sections of Mailjet's Send API v3.1 guide; docs/sandbox.md lists the
sources of every rule that is not in that guide.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from dataclasses import dataclass, field
from typing import Any

from mailjet_sandbox.errors import malformed_json_error, send_error
from mailjet_sandbox.templates import template_html, template_text

MAX_MESSAGES = 50
# Per call: To + Cc + Bcc of every message. Mailjet's own integration test sends 51
# messages of one recipient each and gets send-0015 for the whole call.
MAX_RECIPIENTS = 50
MAX_SUBJECT = 255
MAX_URLTAGS = 256
MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024
TRACKING_VALUES = ("account_default", "disabled", "enabled")
PRIORITY_VALUES = (0, 1, 2, 3)  # X-Mailjet-Prio's four levels
RECIPIENT_FIELDS = ("To", "Cc", "Bcc")

# The properties Mailjet knows, and where. Anything else is refused as a whole
# call with mj-0002 naming its path (see `unknown_property`).
TOP_LEVEL_PROPERTIES = frozenset({"Messages", "Globals", "SandboxMode", "AdvanceErrorHandling"})
ADDRESS_FIELDS = ("From", "Sender", "ReplyTo", "TemplateErrorReporting")
ATTACHMENT_FIELDS = ("Attachments", "InlinedAttachments")
MESSAGE_PROPERTIES = frozenset(
    {
        *ADDRESS_FIELDS,
        *RECIPIENT_FIELDS,
        *ATTACHMENT_FIELDS,
        "Subject",
        "TextPart",
        "HTMLPart",
        "TemplateID",
        "TemplateLanguage",
        "TemplateErrorDeliver",
        "Priority",
        "CustomCampaign",
        "DeduplicateCampaign",
        "TrackOpens",
        "TrackClicks",
        "CustomID",
        "EventPayload",
        "MonitoringCategory",
        "URLTags",
        "Headers",
        "Variables",
    }
)
# "In Globals you can specify values for all message properties, except To."
GLOBAL_PROPERTIES = MESSAGE_PROPERTIES - {"To"}
ADDRESS_PROPERTIES = frozenset({"Email", "Name"})
ATTACHMENT_PROPERTIES = frozenset({"ContentType", "Filename", "Base64Content", "ContentID"})
# How a Globals value meets the message's own: objects merge (the message's keys
# win), arrays append (Globals' items first), anything else is the message's.
MERGED_OBJECTS = frozenset({*ADDRESS_FIELDS, "Headers", "Variables"})
APPENDED_ARRAYS = frozenset({"Cc", "Bcc", *ATTACHMENT_FIELDS})

# A From whose local part starts with this is "not authorized" (send-0008, 403),
# the way recognisable recipient addresses bounce (docs/sandbox.md).
UNAUTHORIZED_SENDER_PREFIX = "unauthorized"

# Headers that have a dedicated message property: Mailjet refuses them in
# "Headers" (send-0011).
FORBIDDEN_HEADERS = frozenset(
    h.lower()
    for h in (
        "From",
        "Sender",
        "Subject",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Return-Path",
        "Delivered-To",
        "DKIM-Signature",
        "DomainKey-Status",
        "Received-SPF",
        "Authentication-Results",
        "Received",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "X-Mailjet-Campaign",
        "X-Mailjet-DeduplicateCampaign",
        "X-Mailjet-Prio",
        "X-Mailjet-TrackOpen",
        "X-Mailjet-TrackClick",
        "X-MJ-CustomID",
        "X-MJ-EventPayload",
        "X-MJ-TemplateID",
        "X-MJ-TemplateLanguage",
        "X-MJ-TemplateErrorReporting",
        "X-MJ-TemplateErrorDeliver",
        "X-MJ-Vars",
    )
)

_EMAIL_RE = re.compile(
    r"^(?!\.)(?!.*\.\.)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}(?<!\.)"
    r"@(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def is_valid_email(value: str) -> bool:
    return bool(_EMAIL_RE.match(value))


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    kind: str  # "To", "Cc" or "Bcc"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None


@dataclass(frozen=True)
class Message:
    """A message that passed validation, ready to be written and tracked."""

    index: int
    sender: Address
    recipients: tuple[Recipient, ...]
    subject: str
    text: str | None
    html: str | None
    template_id: int | None
    variables: dict[str, Any]
    reply_to: Address | None
    custom_id: str
    event_payload: str
    custom_campaign: str
    track_opens: bool
    track_clicks: bool
    headers: dict[str, str]
    attachments: tuple[Attachment, ...]
    inline_attachments: tuple[Attachment, ...]

    def of_kind(self, kind: str) -> list[Recipient]:
        return [r for r in self.recipients if r.kind == kind]


@dataclass
class CheckedPayload:
    """Outcome of validating one Send call."""

    global_error: dict[str, Any] | None = None
    sandbox_mode: bool = False
    results: list[Message | list[dict[str, Any]]] = field(default_factory=list)

    @property
    def http_status(self) -> int:
        """200 when every message passed; else the highest error status (400 here).

        Mailjet answers a batch holding any failed message with the error
        status while still sending the valid ones (mailjet-apiv3-java#121).
        """
        if self.global_error is not None:
            return int(self.global_error["StatusCode"])
        statuses = [
            int(err["StatusCode"]) for res in self.results if isinstance(res, list) for err in res
        ]
        return max(statuses, default=200)


def _missing(prop: str) -> dict[str, Any]:
    return send_error("mj-0003", f"The {prop} is mandatory but missing from the input", [prop])


def _type_mismatch(prop: str, expected: str) -> dict[str, Any]:
    return send_error("mj-0004", f'Type mismatch. Expected type "{expected}".', [prop])


def _empty_string(prop: str) -> dict[str, Any]:
    return send_error("mj-0012", f'The "{prop}" property cannot be an empty string.', [prop])


def _invalid_email(value: str, prop: str) -> dict[str, Any]:
    return send_error("mj-0013", f'"{value}" is an invalid email address.', [prop])


def _check_address(
    raw: Any, prop: str, errors: list[dict[str, Any]], *, required: bool
) -> Address | None:
    if raw is None:
        if required:
            errors.append(_missing(prop))
        return None
    if not isinstance(raw, dict):
        errors.append(_type_mismatch(prop, "email object"))
        return None
    email = raw.get("Email")
    name = raw.get("Name") or ""
    if email is None:
        errors.append(_missing(f"{prop}.Email"))
        return None
    if not isinstance(email, str):
        errors.append(_type_mismatch(f"{prop}.Email", "string"))
        return None
    if email == "":
        errors.append(_empty_string(f"{prop}.Email"))
        return None
    if not is_valid_email(email):
        errors.append(_invalid_email(email, f"{prop}.Email"))
        return None
    if not isinstance(name, str):
        errors.append(_type_mismatch(f"{prop}.Name", "string"))
        return None
    return Address(email, name)


def _check_recipients(msg: dict[str, Any], errors: list[dict[str, Any]]) -> list[Recipient]:
    recipients: list[Recipient] = []
    present = [kind for kind in RECIPIENT_FIELDS if msg.get(kind) is not None]
    if not present:
        errors.append(_missing("To"))
        return recipients
    items = 0
    for kind in present:
        raw = msg[kind]
        if not isinstance(raw, list):
            errors.append(_type_mismatch(kind, "array of emails"))
            items += 1
            continue
        items += len(raw)
        for i, item in enumerate(raw):
            addr = _check_address(item, f"{kind}[{i}]", errors, required=True)
            if addr is not None:
                recipients.append(Recipient(addr.email, addr.name, kind))
    if items == 0:
        errors.append(send_error("mj-0007", 'The "To" array cannot be empty.', ["To"]))
    return recipients


def _check_string(
    msg: dict[str, Any], prop: str, errors: list[dict[str, Any]], max_len: int | None = None
) -> str | None:
    value = msg.get(prop)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(_type_mismatch(prop, "string"))
        return None
    if max_len is not None and len(value) > max_len:
        errors.append(
            send_error(
                "mj-0006",
                f'"{prop}" exceeds the maximum allowed length of {max_len} characters.',
                [prop],
            )
        )
        return None
    return value


def _check_tracking(msg: dict[str, Any], prop: str, errors: list[dict[str, Any]]) -> bool:
    """Whether tracking is on; the sandbox account's default is "enabled"."""
    value = msg.get(prop)
    if value is None:
        return True
    if value not in TRACKING_VALUES:
        allowed = ", ".join(f'"{v}"' for v in TRACKING_VALUES)
        errors.append(
            send_error(
                "mj-0005",
                f'"{value}" is not an allowed value for "{prop}". Allowed values: {allowed}.',
                [prop],
            )
        )
        return False
    return value != "disabled"


def _check_attachments(
    msg: dict[str, Any], prop: str, errors: list[dict[str, Any]]
) -> list[Attachment]:
    raw = msg.get(prop)
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(_type_mismatch(prop, "array of attachments"))
        return []
    found: list[Attachment] = []
    for i, item in enumerate(raw):
        where = f"{prop}[{i}]"
        if not isinstance(item, dict):
            errors.append(_type_mismatch(where, "attachment object"))
            continue
        values: dict[str, str] = {}
        for key in ("ContentType", "Filename", "Base64Content"):
            value = item.get(key)
            if value is None:
                errors.append(_missing(f"{where}.{key}"))
            elif not isinstance(value, str):
                errors.append(_type_mismatch(f"{where}.{key}", "string"))
            elif value == "":
                errors.append(_empty_string(f"{where}.{key}"))
            else:
                values[key] = value
        if len(values) != 3:
            continue
        try:
            data = base64.b64decode(values["Base64Content"], validate=True)
        except (binascii.Error, ValueError):
            errors.append(
                send_error(
                    "mj-0004",
                    f'"{where}.Base64Content" is not valid base64 content.',
                    [f"{where}.Base64Content"],
                )
            )
            continue
        content_id = item.get("ContentID")
        found.append(
            Attachment(
                values["Filename"],
                values["ContentType"],
                data,
                content_id if isinstance(content_id, str) and content_id else None,
            )
        )
    return found


def _check_headers(msg: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, str]:
    raw = msg.get("Headers")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.append(_type_mismatch("Headers", "object"))
        return {}
    headers: dict[str, str] = {}
    for name, value in raw.items():
        if name.lower() in FORBIDDEN_HEADERS:
            errors.append(
                send_error(
                    "send-0011",
                    f'The header "{name}" cannot be set in "Headers": '
                    "use the dedicated message property.",
                    [f'Headers["{name}"]'],
                )
            )
        elif not isinstance(value, str) or "\n" in value or "\r" in value:
            errors.append(_type_mismatch(f'Headers["{name}"]', "string"))
        else:
            headers[name] = value
    return headers


def _unauthorized(email: str) -> bool:
    return email.partition("@")[0].lower().startswith(UNAUTHORIZED_SENDER_PREFIX)


def _check_priority(msg: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    value = msg.get("Priority")
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(_type_mismatch("Priority", "integer"))
    elif value not in PRIORITY_VALUES:
        allowed = ", ".join(str(v) for v in PRIORITY_VALUES)
        errors.append(
            send_error(
                "mj-0005",
                f'"{value}" is not an allowed value for "Priority". Allowed values: {allowed}.',
                ["Priority"],
            )
        )


def check_message(index: int, msg: Any) -> Message | list[dict[str, Any]]:
    """Validate one entry of ``Messages``: the parsed message, or its errors."""
    if not isinstance(msg, dict):
        return [_type_mismatch(f"Messages[{index}]", "message object")]
    errors: list[dict[str, Any]] = []
    sender = _check_address(msg.get("From"), "From", errors, required=True)
    if sender is not None and _unauthorized(sender.email):
        errors.append(
            send_error(
                "send-0008",
                f'"{sender.email}" is not an authorized sender: validate it on the '
                '"Sender domains & addresses" page first.',
                ["From"],
                status=403,
            )
        )
    _check_address(msg.get("Sender"), "Sender", errors, required=False)
    recipients = _check_recipients(msg, errors)
    reply_to = _check_address(msg.get("ReplyTo"), "ReplyTo", errors, required=False)
    subject = _check_string(msg, "Subject", errors, MAX_SUBJECT)
    text = _check_string(msg, "TextPart", errors)
    html = _check_string(msg, "HTMLPart", errors)
    template_id = msg.get("TemplateID")
    if template_id is not None and (
        isinstance(template_id, bool) or not isinstance(template_id, int)
    ):
        errors.append(_type_mismatch("TemplateID", "integer"))
        template_id = None
    if not text and not html and template_id is None:
        errors.append(
            send_error(
                "send-0003",
                'At least "HTMLPart", "TextPart" or "TemplateID" must be provided.',
                ["HTMLPart", "TextPart"],
            )
        )
    variables = msg.get("Variables")
    if variables is None:
        variables = {}
    elif not isinstance(variables, dict):
        errors.append(_type_mismatch("Variables", "object"))
        variables = {}
    for prop in ("TemplateLanguage", "TemplateErrorDeliver"):
        if msg.get(prop) is not None and not isinstance(msg[prop], bool):
            errors.append(_type_mismatch(prop, "boolean"))
    _check_address(
        msg.get("TemplateErrorReporting"), "TemplateErrorReporting", errors, required=False
    )
    if msg.get("TemplateLanguage") is None and (
        msg.get("TemplateErrorReporting") is not None or msg.get("TemplateErrorDeliver") is not None
    ):
        errors.append(
            send_error(
                "send-0016",
                '"TemplateLanguage" must be set when "TemplateErrorReporting" or '
                '"TemplateErrorDeliver" is provided.',
                ["TemplateLanguage"],
            )
        )
    custom_id = _check_string(msg, "CustomID", errors) or ""
    event_payload = _check_string(msg, "EventPayload", errors) or ""
    custom_campaign = _check_string(msg, "CustomCampaign", errors) or ""
    _check_string(msg, "MonitoringCategory", errors)
    _check_priority(msg, errors)
    deduplicate = msg.get("DeduplicateCampaign")
    if deduplicate is not None and not isinstance(deduplicate, bool):
        errors.append(_type_mismatch("DeduplicateCampaign", "boolean"))
    if deduplicate is True and not custom_campaign:
        errors.append(
            send_error(
                "send-0012",
                '"DeduplicateCampaign" can only be used when "CustomCampaign" is provided.',
                ["CustomCampaign", "DeduplicateCampaign"],
            )
        )
    _check_string(msg, "URLTags", errors, MAX_URLTAGS)
    track_opens = _check_tracking(msg, "TrackOpens", errors)
    track_clicks = _check_tracking(msg, "TrackClicks", errors)
    headers = _check_headers(msg, errors)
    attachments = _check_attachments(msg, "Attachments", errors)
    inline = _check_attachments(msg, "InlinedAttachments", errors)
    total = sum(len(a.data) for a in (*attachments, *inline))
    if total > MAX_ATTACHMENT_BYTES:
        errors.append(
            send_error(
                "mj-0011",
                f"The attachments total {total} bytes, over the limit of 15 MB "
                f"({MAX_ATTACHMENT_BYTES} bytes).",
                ["Attachments", "InlinedAttachments"],
            )
        )
    if errors or sender is None:
        return errors
    if template_id is not None and not text and not html:
        # Mailjet takes the body from the stored template; the sandbox shows the Variables.
        html = template_html(template_id, variables)
        text = template_text(template_id, variables)
    return Message(
        index=index,
        sender=sender,
        recipients=tuple(recipients),
        subject=subject or "",
        text=text,
        html=html,
        template_id=template_id,
        variables=variables,
        reply_to=reply_to,
        custom_id=custom_id,
        event_payload=event_payload,
        custom_campaign=custom_campaign,
        # Mailjet tracks opens and clicks only in an HTML part.
        track_opens=track_opens and bool(html),
        track_clicks=track_clicks and bool(html),
        headers=headers,
        attachments=tuple(attachments),
        inline_attachments=tuple(inline),
    )


def _count_recipients(messages: list[Any]) -> int:
    """Distinct addresses per message (one address in To and Cc counts once), summed."""
    total = 0
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        seen: set[str] = set()
        for kind in RECIPIENT_FIELDS:
            items = msg.get(kind)
            if isinstance(items, list):
                for item in items:
                    email = item.get("Email") if isinstance(item, dict) else None
                    seen.add(email.lower() if isinstance(email, str) else f"#{id(item)}")
        total += len(seen)
    return total


def _unknown_in(obj: Any, known: frozenset[str], path: str) -> str | None:
    if not isinstance(obj, dict):
        return None
    for key in obj:
        if key not in known:
            return f"{path}.{key}" if path else str(key)
    return None


def _unknown_in_message(msg: Any, known: frozenset[str], path: str) -> str | None:
    """First unknown property of a message (or of Globals), nested objects included.

    Only shapes are walked here; a value of the wrong type is left to the
    type checks, which report it per message (mj-0004).
    """
    found = _unknown_in(msg, known, path)
    if found is not None or not isinstance(msg, dict):
        return found
    for prop in ADDRESS_FIELDS:
        found = _unknown_in(msg.get(prop), ADDRESS_PROPERTIES, f"{path}.{prop}")
        if found is not None:
            return found
    for prop, allowed in (
        *((kind, ADDRESS_PROPERTIES) for kind in RECIPIENT_FIELDS),
        *((kind, ATTACHMENT_PROPERTIES) for kind in ATTACHMENT_FIELDS),
    ):
        items = msg.get(prop)
        if isinstance(items, list):
            for i, item in enumerate(items):
                found = _unknown_in(item, allowed, f"{path}.{prop}[{i}]")
                if found is not None:
                    return found
    return None


def unknown_property(payload: dict[str, Any]) -> str | None:
    """Path of the first property Mailjet does not accept where it stands, or None.

    `SandboxMode` inside a message, `Globals` inside a message, `To` in
    Globals and a misspelt key anywhere are all unknown there.
    """
    found = _unknown_in(payload, TOP_LEVEL_PROPERTIES, "")
    if found is not None:
        return found
    found = _unknown_in_message(payload.get("Globals"), GLOBAL_PROPERTIES, "Globals")
    if found is not None:
        return found
    messages = payload.get("Messages")
    if isinstance(messages, list):
        for i, msg in enumerate(messages):
            found = _unknown_in_message(msg, MESSAGE_PROPERTIES, f"Messages[{i}]")
            if found is not None:
                return found
    return None


def merge_globals(globals_: dict[str, Any], msg: Any) -> Any:
    """The message as Mailjet sends it once `Globals` is applied (its own values win)."""
    if not isinstance(msg, dict):
        return msg
    merged = copy.deepcopy(globals_)
    for key, value in msg.items():
        shared = merged.get(key)
        if key in MERGED_OBJECTS and isinstance(shared, dict) and isinstance(value, dict):
            merged[key] = {**shared, **value}
        elif key in APPENDED_ARRAYS and isinstance(shared, list) and isinstance(value, list):
            merged[key] = [*shared, *value]
        else:
            merged[key] = value
    return merged


def _whole_call_error(payload: Any) -> dict[str, Any] | None:
    """The error Mailjet answers for the whole call, in the order it checks, or None."""
    if not isinstance(payload, dict):
        return malformed_json_error()
    unknown = unknown_property(payload)
    if unknown is not None:
        # Mailjet reads the body into typed objects: a property it has no place for
        # makes the JSON "malformed" (docs/sandbox.md, "Unknown properties").
        return malformed_json_error([unknown])
    for prop in ("SandboxMode", "AdvanceErrorHandling"):
        if prop in payload and not isinstance(payload[prop], bool):
            return _type_mismatch(prop, "boolean")
    if "Globals" in payload and not isinstance(payload["Globals"], dict):
        return _type_mismatch("Globals", "object")
    messages = payload.get("Messages")
    if messages is None:
        return _missing("Messages")
    if not isinstance(messages, list):
        return _type_mismatch("Messages", "array of messages")
    if not messages:
        return send_error("mj-0007", 'The "Messages" array cannot be empty.', ["Messages"])
    globals_ = payload.get("Globals") or {}
    # Mailjet counts before it counts messages: its own integration test sends 51
    # messages of one recipient each and gets send-0015, not mj-0008.
    if _count_recipients([merge_globals(globals_, m) for m in messages]) > MAX_RECIPIENTS:
        # Mailjet's own wording (api-documentation#12): a whole-call error.
        return send_error(
            "send-0015",
            f"Total number of recipients exceeded. Max allowed - {MAX_RECIPIENTS}.",
            ["To", "Bcc", "Cc"],
        )
    if len(messages) > MAX_MESSAGES:
        return send_error(
            "mj-0008",
            f'"Messages" holds {len(messages)} elements, over the maximum of {MAX_MESSAGES}.',
            ["Messages"],
        )
    return None


def check_send_payload(payload: Any) -> CheckedPayload:
    """Validate a decoded Send API v3.1 body."""
    error = _whole_call_error(payload)
    if error is not None:
        return CheckedPayload(global_error=error)
    globals_ = payload.get("Globals") or {}
    return CheckedPayload(
        sandbox_mode=payload.get("SandboxMode", False),
        results=[
            check_message(i, merge_globals(globals_, msg))
            for i, msg in enumerate(payload["Messages"])
        ],
    )
