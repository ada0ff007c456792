# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

import psycopg2
from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..compat import MODEL_CONSTRAINTS
from ..tools import contract_args
from ..tools.courier_status import (
    EVENT_SOURCES,
    EVENT_TYPES,
    INGEST_EVENT_TYPES,
    UNDELIVERABLE_STATUSES,
)
from ..tools.courier_time import parse_iso

_logger = logging.getLogger(__name__)

# What courier_ingest takes: never the facts only Odoo sees (downloads, payments).
EVENT_TYPE_VALUES = set(INGEST_EVENT_TYPES)
EVENT_SOURCE_VALUES = {value for value, _label in EVENT_SOURCES}


class CourierEvent(models.Model):
    _name = "courier.event"
    _description = "Invoice email tracking event"
    _order = "event_time desc, id desc"
    _rec_name = "type"

    type = fields.Selection(EVENT_TYPES, required=True, readonly=True, index=True)
    event_time = fields.Datetime(required=True, readonly=True)
    source = fields.Selection(EVENT_SOURCES, required=True, readonly=True)
    url = fields.Char(readonly=True)
    user_agent = fields.Char(readonly=True)
    detail = fields.Text(readonly=True)
    web_document = fields.Boolean(
        readonly=True, help="A click on the invoice's web-document link (counts as a view)."
    )
    min_seconds_after_delivery = fields.Integer(
        string="Scanner window (s)",
        readonly=True,
        help="A web-document click within this many seconds of the email's delivery is "
        "taken for a link scanner's and does not count as a view.",
    )
    payload = fields.Text(readonly=True, help="The provider's raw event, as JSON.")
    dedupe_key = fields.Char(required=True, readonly=True, index=False)
    recipient_id = fields.Many2one(
        "courier.recipient", readonly=True, ondelete="cascade", index=True
    )
    dispatch_id = fields.Many2one("courier.dispatch", readonly=True, ondelete="cascade", index=True)
    move_id = fields.Many2one(
        "account.move", string="Invoice", readonly=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one("res.company", readonly=True, index=True)

    # Also the index the batch pre-check and the dedup rely on.
    if MODEL_CONSTRAINTS:
        _dedupe_key_unique = models.Constraint(
            "unique(dedupe_key)", "A tracking event is stored only once."
        )
    else:
        _sql_constraints = [
            ("dedupe_key_unique", "unique(dedupe_key)", "A tracking event is stored only once."),
        ]

    @api.constrains("company_id", "move_id", "dispatch_id", "recipient_id")
    def _check_company_of_invoice(self):
        for event in self:
            if (
                event.company_id != event.move_id.company_id
                or (event.dispatch_id and event.dispatch_id.move_id != event.move_id)
                or (event.recipient_id and event.recipient_id.dispatch_id != event.dispatch_id)
            ):
                raise ValidationError(
                    _("A tracking event must belong to its invoice, its send and their company.")
                )

    def write(self, vals):
        # Tracking facts are never overwritten; only the ORM's own cascade
        # bookkeeping (no vals) may pass.
        if vals:
            raise UserError(_("Tracking events cannot be modified."))
        return super().write(vals)

    # ---------------------------------------------------------------- contract

    @api.model
    def courier_ingest(self, events):
        self.env["courier.dispatch"]._courier_check_daemon()
        events = contract_args.as_list(self.env, events, "events")
        readable = [event for event in events if isinstance(event, dict)]
        stored, duplicate, unmatched = self.sudo()._courier_store_events(readable)
        unmatched += len(events) - len(readable)
        return {"created": len(stored), "duplicate": duplicate, "unmatched": unmatched}

    @api.model
    def _courier_store_events(self, events):
        """Store normalized events once each, then apply their effects.

        Returns (created events, duplicate count, unmatched count).
        """
        keys = [str(event.get("dedupe_key") or "") for event in events]
        known = set()
        if any(keys):
            self.env.cr.execute(
                "SELECT dedupe_key FROM courier_event WHERE dedupe_key = ANY(%s)", [list(set(keys))]
            )
            known = {row[0] for row in self.env.cr.fetchall()}
        recipients = self._courier_match_recipients(events)
        vals_list = []
        duplicate = unmatched = 0
        for key, event in zip(keys, events, strict=True):
            if not key or key in known:
                duplicate += bool(key)
                unmatched += not key
                continue
            if not isinstance(event.get("type"), str) or event["type"] not in EVENT_TYPE_VALUES:
                unmatched += 1
                continue
            recipient = recipients.get(id(event))
            if not recipient:
                unmatched += 1
                continue
            known.add(key)
            vals_list.append(self._courier_event_vals(event, key, recipient))
        created = self._courier_create_deduplicated(vals_list)
        duplicate += len(vals_list) - len(created)
        if created:
            created._courier_apply_effects()
        return created, duplicate, unmatched

    @api.model
    def _courier_match_recipients(self, events):
        """Recipient of each event (by `id(event)`): by message_id, else custom_id + email."""
        Recipient = self.env["courier.recipient"]
        message_ids = {str(e["message_id"]) for e in events if e.get("message_id")}
        by_message = {}
        if message_ids:
            for recipient in Recipient.search([("message_id", "in", list(message_ids))]):
                by_message[recipient.message_id] = recipient
        custom_ids = {str(e["custom_id"]) for e in events if e.get("custom_id")}
        by_address = {}
        if custom_ids:
            dispatches = self.env["courier.dispatch"].search(
                [("custom_id", "in", list(custom_ids))]
            )
            for recipient in dispatches.recipient_ids:
                email = (recipient.email or "").strip().lower()
                by_address[(recipient.dispatch_id.custom_id, email)] = recipient
        matched = {}
        for event in events:
            recipient = by_message.get(str(event.get("message_id") or ""))
            if not recipient and event.get("custom_id"):
                email = str(event.get("email") or "").strip().lower()
                recipient = by_address.get((str(event["custom_id"]), email))
            if recipient:
                matched[id(event)] = recipient
        return matched

    @api.model
    def _courier_event_vals(self, event, key, recipient):
        payload = event.get("payload")
        source = event.get("source")
        if not isinstance(source, str) or source not in EVENT_SOURCE_VALUES:
            source = "daemon"
        dispatch = recipient.dispatch_id
        return {
            "dedupe_key": key,
            "type": event["type"],
            "event_time": parse_iso(event.get("time")),
            "source": source,
            "url": event.get("url") or False,
            "user_agent": event.get("user_agent") or False,
            "detail": event.get("detail") or False,
            "web_document": bool(event.get("web_document")),
            "min_seconds_after_delivery": _scanner_window(event.get("min_seconds_after_delivery")),
            "payload": json.dumps(payload) if payload is not None else False,
            "recipient_id": recipient.id,
            "dispatch_id": dispatch.id,
            "move_id": dispatch.move_id.id,
            "company_id": dispatch.company_id.id,
        }

    @api.model
    def _courier_create_deduplicated(self, vals_list):
        """Create events; a key stored meanwhile by a concurrent call is skipped, not an error."""
        if not vals_list:
            return self.browse()
        try:
            with self.env.cr.savepoint():
                return self.create(vals_list)
        except psycopg2.errors.UniqueViolation:
            _logger.info("Concurrent ingest of the same events: storing them one by one")
        created = self.browse()
        for vals in vals_list:
            try:
                with self.env.cr.savepoint():
                    created |= self.create(vals)
            except psycopg2.errors.UniqueViolation:
                continue
        return created

    def _courier_apply_effects(self):
        """What these new events change, decided from all the stored events, never their order.

        Statuses and error texts are recomputed from each recipient's events; the
        viewed time from each invoice's events, so a delivery that arrives after
        a click revisits whether that click was a view.
        """
        recipients = self.recipient_id
        before = {recipient.id: recipient.status for recipient in recipients}
        recipients._courier_recompute_status()
        viewing = self.filtered(lambda e: e.web_document or e.type in ("viewed", "delivered"))
        if viewing.move_id:
            viewing.move_id._courier_recompute_viewed()
        newly_undeliverable = recipients.filtered(
            lambda r: (
                r.status in UNDELIVERABLE_STATUSES and before[r.id] not in UNDELIVERABLE_STATUSES
            )
        )
        for recipient in newly_undeliverable:
            recipient.move_id._courier_report_undeliverable(recipient)
        # Every new fact shows at once in the forms open on these invoices.
        self.move_id._courier_notify_changed()


def _scanner_window(value):
    """The contract's `min_seconds_after_delivery`: whole seconds 0-86400, else 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), 86400)
