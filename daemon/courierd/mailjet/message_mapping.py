"""The messages mapping (mappings/messages.yaml): how a claimed dispatch becomes a Mailjet message.

Mode `html` (the default, and what courierd does without a file) sends the
subject and body Odoo rendered, with the invoice PDF. Mode `template` sends a
Mailjet template (TemplateID) whose Variables are taken from named fields of the
dispatch (docs/contract.md, `courier_claim`). `companies` replaces the default
for the dispatches of one Odoo company.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from courierd.domain.contract import ClaimedDispatch
from courierd.domain.ports import Message
from courierd.mailjet.mapping_files import load_mapping
from courierd.mailjet.messages import MessageBuilder, build_message, template_message

# The dispatch fields a template variable may name, with what they hold.
KNOWN_FIELDS: dict[str, str] = {
    "subject": "the subject as the accountant left it",
    "web_url": "the invoice's web page (Odoo portal link with its access token)",
    "reply_to": "the address replies go to",
    "sender.name": "the sender's name",
    "sender.email": "the sender's address",
    "invoice.name": "the invoice number, e.g. INV/2026/00017",
    "invoice.partner_name": "the customer's (commercial partner's) name",
    "invoice.amount_total": "the invoice total, a number",
    "invoice.amount_residual": "the amount still due, a number",
    "invoice.currency": "the currency code, e.g. EUR",
    "invoice.invoice_date": "the invoice date, YYYY-MM-DD",
    "invoice.invoice_date_due": "the due date, YYYY-MM-DD",
    "invoice.move_type": "out_invoice or out_refund",
    "invoice.lang": "the customer's language, e.g. fr_FR",
    "invoice.payment_reference": "the reference to quote when paying",
}
AMOUNT_FIELDS = ("invoice.amount_total", "invoice.amount_residual")
VariableFormat = Literal["as_is", "money"]

# What Mailjet's {{var:name}} placeholders can name.
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def field_value(dispatch: Mapping[str, Any], field: str) -> Any:
    """The value of a dotted field ("invoice.name") in the dispatch; None when absent."""
    value: Any = dispatch
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variable(_Strict):
    """One template variable: the dispatch field it takes, how it is written, a fallback."""

    field: str
    format: VariableFormat = "as_is"
    default: str | int | float | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        # `name: invoice.name` is short for `name: {field: invoice.name}`.
        return {"field": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _known_field(self) -> Variable:
        if self.field not in KNOWN_FIELDS:
            raise ValueError(
                f"names unknown field {self.field!r}; known: {', '.join(KNOWN_FIELDS)}"
            )
        if self.format == "money" and self.field not in AMOUNT_FIELDS:
            raise ValueError(
                f"format 'money' is for amounts ({', '.join(AMOUNT_FIELDS)}), not {self.field!r}"
            )
        return self

    def value_in(self, dispatch: Mapping[str, Any]) -> Any:
        value = field_value(dispatch, self.field)
        # Odoo sends False for an empty field.
        if value is None or value is False:
            if self.default is None:
                raise ValueError(f"the dispatch has no {self.field}")
            return self.default
        if self.format == "money":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{self.field} is not a number")
            currency = field_value(dispatch, "invoice.currency")
            return f"{value:,.2f} {currency}" if currency else f"{value:,.2f}"
        return value

    def describe(self) -> str:
        return self.field + ("" if self.format == "as_is" else f" ({self.format})")


class Template(_Strict):
    """A Mailjet template and where its variables come from."""

    template_id: PositiveInt
    variables: dict[str, Variable] = Field(default_factory=dict)
    # False: the accountant's subject is sent and overrides the template's.
    use_template_subject: bool = False
    # Mailjet mails template-language errors to this address (TemplateErrorReporting).
    error_reporting: str | None = None
    # True: deliver even when the template language fails (Mailjet's default: not).
    error_deliver: bool | None = None

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, variables: dict[str, Variable]) -> dict[str, Variable]:
        bad = [name for name in variables if not _VARIABLE_NAME.fullmatch(name)]
        if bad:
            raise ValueError(
                f"variable names are letters, digits and _ (as in {{{{var:name}}}}): "
                f"{', '.join(map(repr, bad))}"
            )
        return variables

    @field_validator("error_reporting")
    @classmethod
    def _email(cls, address: str | None) -> str | None:
        if address is not None and not _EMAIL.fullmatch(address):
            raise ValueError(f"{address!r} is not an email address")
        return address

    def variables_for(self, dispatch: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, variable in self.variables.items():
            try:
                values[name] = variable.value_in(dispatch)
            except ValueError as exc:
                raise ValueError(
                    f"template variable {name!r}: {exc} (give it a default in the messages "
                    "mapping, or complete the invoice)"
                ) from None
        return values

    def build(self, message: Mapping[str, Any], dispatch: ClaimedDispatch) -> Message:
        return template_message(
            message,
            self.template_id,
            self.variables_for(dispatch),
            keep_subject=not self.use_template_subject,
            error_reporting=self.error_reporting,
            error_deliver=self.error_deliver,
        )

    def describe(self) -> str:
        subject = "the template's subject" if self.use_template_subject else "the edited subject"
        variables = ", ".join(f"{n}={v.describe()}" for n, v in self.variables.items())
        return f"template {self.template_id} with {subject}; variables: {variables or 'none'}"


class MessageSettings(_Strict):
    mode: Literal["html", "template"] = "html"
    template: Template | None = Field(None, validate_default=True)

    @field_validator("template")
    @classmethod
    def _template_matches_mode(cls, template: Template | None, info: ValidationInfo) -> Any:
        mode = info.data.get("mode")
        if mode == "template" and template is None:
            raise ValueError("is required with mode 'template' (template_id, variables)")
        if mode == "html" and template is not None:
            raise ValueError("is only used with mode 'template': set that mode, or remove it")
        return template

    def describe(self) -> str:
        if self.template is None:
            return "html (the subject and body Odoo rendered)"
        return self.template.describe()


class MessageMapping(MessageSettings):
    """The default settings, and per Odoo company id the settings that replace them."""

    companies: dict[PositiveInt, MessageSettings] = Field(default_factory=dict)

    def for_company(self, company_id: Any) -> MessageSettings:
        return self.companies.get(company_id, self)

    def describe(self) -> str:
        parts = [f"default: {super().describe()}"]
        parts += [f"company {cid}: {s.describe()}" for cid, s in self.companies.items()]
        return "; ".join(parts)


def load_message_mapping(path: Path | None) -> MessageMapping:
    return MessageMapping() if path is None else load_mapping(path, MessageMapping)


def make_message_builder(mapping: MessageMapping) -> MessageBuilder:
    """The send loop's `build`: raises ValueError when a dispatch cannot become a message."""
    if mapping.template is None and not mapping.companies:
        return build_message

    def build(dispatch: ClaimedDispatch) -> Message:
        settings = mapping.for_company(dispatch.get("company_id"))
        message = build_message(dispatch)
        if settings.template is None:
            return message
        return settings.template.build(message, dispatch)

    return build
