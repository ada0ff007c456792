# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
import uuid
from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.courier_status import (
    DISPATCH_NOT_SENDS,
    INVOICE_COURIER_STATES,
    SENDABLE_MOVE_TYPES,
    UNDELIVERABLE_STATUSES,
)

_logger = logging.getLogger(__name__)

# Visits of one token holder within this time are one view event.
VIEW_WINDOW = timedelta(minutes=10)

COURIER_READERS = "account.group_account_invoice,account.group_account_readonly"

# Odoo's bus: an invoice's courier changes go to the subchannel BUS_SUBCHANNEL of
# the invoice's own channel, which a web client showing the invoice joins by the
# name BUS_CHANNEL_PREFIX + id (checked in ir.websocket); the notification makes
# the open form reload (static/src/js/courier_live_invoice.js).
BUS_SUBCHANNEL = "invoice_courier"
BUS_CHANNEL_PREFIX = "invoice_courier.move_"
BUS_NOTIFICATION = "invoice_courier/changed"


class AccountMove(models.Model):
    _inherit = "account.move"

    courier_state = fields.Selection(
        INVOICE_COURIER_STATES,
        string="Email status",
        default="not_sent",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        help="Where the invoice's email sent through Mailjet stands.",
    )
    courier_dispatch_ids = fields.One2many(
        "courier.dispatch",
        "move_id",
        string="Email history",
        readonly=True,
        copy=False,
        groups=COURIER_READERS,
    )
    courier_recipient_ids = fields.One2many(
        "courier.recipient",
        "move_id",
        string="Email recipients",
        readonly=True,
        copy=False,
        groups=COURIER_READERS,
    )
    courier_event_ids = fields.One2many(
        "courier.event",
        "move_id",
        string="Email events",
        readonly=True,
        copy=False,
        groups=COURIER_READERS,
    )
    courier_can_send = fields.Boolean(
        string="Can be sent by email", compute="_compute_courier_can_send"
    )
    courier_replaces_send = fields.Boolean(
        string="Sent only through Invoice Courier",
        compute="_compute_courier_replaces_send",
        help="Odoo's own Send is hidden on this document: the company sends customer "
        "invoices and credit notes through Invoice Courier only.",
    )
    courier_viewed_at = fields.Datetime(
        string="Viewed on",
        readonly=True,
        copy=False,
        help="First time the customer opened the invoice's web document.",
    )
    courier_downloaded_at = fields.Datetime(
        string="Downloaded on",
        readonly=True,
        copy=False,
        help="First time the customer downloaded the invoice PDF from its web document.",
    )
    courier_paid_at = fields.Datetime(
        string="Paid online on",
        readonly=True,
        copy=False,
        help="First time the customer paid the invoice online, through its web document.",
    )
    courier_viewed_note_id = fields.Many2one(
        "mail.message",
        string="Viewed note",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The chatter note saying the customer viewed the invoice; removed if the "
        "view turns out to be a link scanner's.",
    )

    @api.depends("state", "move_type")
    def _compute_courier_can_send(self):
        sending = self.env["courier.send.base"]
        for move in self:
            move.courier_can_send = not sending._courier_send_blocker(move)

    @api.depends("move_type", "company_id.courier_replace_odoo_send")
    def _compute_courier_replaces_send(self):
        for move in self:
            move.courier_replaces_send = (
                move.move_type in SENDABLE_MOVE_TYPES and move.company_id.courier_replace_odoo_send
            )

    def action_invoice_sent(self):
        """Odoo's own Send leads to the compose window where the company sends through Mailjet.

        Its button is hidden then (setting "Send only through Invoice Courier");
        this covers every other way to it. Odoo's Print & Send window stays in
        the Actions menu (action_send_and_print), for printing and e-invoices.
        """
        if len(self) == 1 and self.courier_replaces_send:
            return self.action_courier_open_compose()
        return super().action_invoice_sent()

    def action_courier_open_compose(self):
        """The compose window (the UI's action) for this invoice."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "invoice_courier.action_courier_compose"
        )
        action["context"] = {
            "default_move_id": self.id,
            "active_model": "account.move",
            "active_ids": self.ids,
        }
        return action

    def _courier_invoice_fields(self):
        """The invoice fields a Mailjet mapping may use (contract payload `invoice`)."""
        self.ensure_one()
        partner = self.partner_id
        return {
            "name": self.name,
            "partner_name": partner.commercial_partner_id.name or partner.name or "",
            "amount_total": self.amount_total,
            "amount_residual": self.amount_residual,
            "currency": self.currency_id.name,
            "invoice_date": fields.Date.to_string(self.invoice_date) if self.invoice_date else None,
            "invoice_date_due": (
                fields.Date.to_string(self.invoice_date_due) if self.invoice_date_due else None
            ),
            "move_type": self.move_type,
            "lang": partner.lang or self.company_id.partner_id.lang or "en_US",
            "payment_reference": self.payment_reference or self.name,
        }

    def _courier_ensure_pdf(self):
        """The invoice PDF, rendered and stored the way Odoo's Send does when missing.

        Odoo stores it as `invoice_pdf_report_file` (so `invoice_pdf_report_id`
        finds it and Send & Print reuses it). Odoo also flips `is_move_sent`
        when it makes the PDF; here a PDF is not a send, so that flag is left
        for the transmitted report.
        """
        self.ensure_one()
        move = self.sudo()
        if not move.invoice_pdf_report_id:
            sender = self.env["account.move.send"].sudo()
            was_sent = move.is_move_sent
            invoice_data = sender._get_default_sending_settings(move, sending_methods=[])
            sender._generate_invoice_documents({move: invoice_data})
            if invoice_data.get("error"):
                raise UserError(
                    _(
                        "The PDF of %(move)s could not be made: %(error)s",
                        move=move.display_name,
                        error=invoice_data["error"],
                    )
                )
            if move.is_move_sent != was_sent:
                move.is_move_sent = was_sent
        if not move.invoice_pdf_report_id:
            raise UserError(_("The PDF of %s could not be made.", move.display_name))
        return move.invoice_pdf_report_id

    def _courier_render_pdfs_together(self):
        """Render the missing PDFs of these invoices in one report call per company.

        That is what Odoo's batch Send does (one wkhtmltopdf run, the PDF split
        per invoice and stored as each invoice's PDF). A failed run (wkhtmltopdf
        error, a PDF that cannot be split) is rolled back and logged, not
        raised: the caller then renders each invoice still without a PDF alone
        (`_courier_ensure_pdf`), so one bad invoice fails only itself.
        """
        sender = self.env["account.move.send"].sudo()
        for company, moves in self.sudo().grouped("company_id").items():
            todo = moves.filtered(lambda move: not move.invoice_pdf_report_id)
            if len(todo) < 2:
                continue
            was_sent = {move: move.is_move_sent for move in todo}
            invoices_data = {
                move: sender._get_default_sending_settings(move, sending_methods=[])
                for move in todo
            }
            try:
                with self.env.cr.savepoint():
                    sender._generate_invoice_documents(invoices_data)
            except UserError as exc:
                _logger.warning(
                    "Rendering %s invoice PDFs of company %s in one call failed (%s); "
                    "rendering them one by one instead. If this repeats, check wkhtmltopdf "
                    "or set COURIER_PDF_BATCH_SIZE=1.",
                    len(todo),
                    company.id,
                    exc,
                )
                continue
            # Odoo flips is_move_sent when it stores the PDF; a PDF is not a send.
            for move, sent in was_sent.items():
                if move.is_move_sent != sent:
                    move.is_move_sent = sent

    def _courier_staff_env(self, user=None):
        """This environment in the language of the user who sent the invoice.

        Notes and alerts are read by the sender, whoever triggered them (the
        daemon's user, a customer on the portal): `user` is the send's
        requester, by default the requester of the invoice's latest send.
        Without one (or without a language), the company's language.
        """
        self.ensure_one()
        if user is None:
            user = self._courier_latest_dispatch().requested_by_id
        lang = user.sudo().lang if user else False
        return self.with_context(lang=lang or self.company_id.partner_id.lang or self.env.lang).env

    def _courier_post_note(self, body):
        self._courier_log_notes({move.id: body for move in self})

    def _courier_log_notes(self, bodies):
        """Chatter notes by OdooBot, in one batch: `bodies` maps move ids to plain text.

        Returns the notes (mail.message, one per move).
        """
        if not bodies:
            return self.env["mail.message"]
        moves = self.sudo().browse(list(bodies))
        return moves._message_log_batch(
            {move_id: Markup("<p>%s</p>") % text for move_id, text in bodies.items()},
            author_id=self.env.ref("base.partner_root").id,
            message_type="comment",
        )

    def _courier_alert_sender(self, user, summary, note):
        """A to-do on the invoice for whoever asked for the send (else its salesperson)."""
        for move in self.sudo():
            assignee = next(
                (u for u in (user, move.invoice_user_id) if u and u.active and u._is_internal()),
                None,
            )
            if assignee is None:
                continue  # the chatter note is all there is to say
            # The note holds the daemon's (Mailjet's) text: escaped, as in chatter notes.
            move.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=summary,
                note=Markup("<p>%s</p>") % note,
                user_id=assignee.id,
            )

    def _courier_latest_dispatch(self):
        self.ensure_one()
        return self._courier_latest_dispatches()[self.id]

    def _courier_latest_dispatches(self):
        """{move id: its most recent send, cancelled and test sends aside (may be empty)}."""
        Dispatch = self.env["courier.dispatch"].sudo()
        latest = dict.fromkeys(self.ids, Dispatch)
        for dispatch in Dispatch.search(
            [("move_id", "in", self.ids), ("state", "not in", DISPATCH_NOT_SENDS)],
            order="id desc",
        ):
            if not latest[dispatch.move_id.id]:
                latest[dispatch.move_id.id] = dispatch
        return latest

    def _courier_refresh_state(self):
        """Invoice email status from its latest send, its recipients and any view.

        The latest send's failure or undeliverable addresses come first (the
        sender must act), then the customer's furthest step (paid online,
        downloaded, viewed: CUSTOMER_STEPS), then the send's progress.
        """
        latest_by_move = self._courier_latest_dispatches()
        changed = defaultdict(list)
        for move in self.sudo():
            latest = latest_by_move[move.id]
            recipients = latest.recipient_ids
            if latest.state == "failed":
                state = "failed"
            elif (
                latest.state == "transmitted"
                and recipients
                and all(r.status in UNDELIVERABLE_STATUSES for r in recipients)
            ):
                state = "bounced"
            elif move.courier_paid_at:
                state = "paid"
            elif move.courier_downloaded_at:
                state = "downloaded"
            elif move.courier_viewed_at:
                state = "viewed"
            elif latest.state in ("queued", "sending"):
                state = "queued"
            elif latest.state == "transmitted":
                state = "sent"
            else:
                state = "not_sent"
            if move.courier_state != state:
                changed[state].append(move.id)
        for state, ids in changed.items():
            self.sudo().browse(ids).write({"courier_state": state})
        # Called after every change of a send, its recipients or a view.
        self._courier_notify_changed()

    def _courier_notify_changed(self):
        """Tell the web clients showing these invoices to reload them (Odoo's bus).

        One notification per invoice and transaction: the bus sends them at
        commit, when the change can be read. Only users who may read the
        invoice join its channel (ir.websocket._build_bus_channel_list).
        """
        notified = self.env.cr.precommit.data.setdefault("invoice_courier.notified", set())
        bus = self.env["bus.bus"].sudo()
        for move in self:
            if move.id not in notified:
                notified.add(move.id)
                bus._sendone((move, BUS_SUBCHANNEL), BUS_NOTIFICATION, {"move_id": move.id})

    def _courier_mark_viewed(
        self, source, user_agent=None, url=None, event_time=None, visitor=None
    ):
        """Record that the customer viewed the invoice's web document.

        Called by the portal controller for visitors who are not internal
        users (the sender's own previews never count). `visitor` names the
        token holder (a hash, see the controller): their visits within
        VIEW_WINDOW of a stored one are that one event, so reloading a page
        adds no row. Without it, every call is its own fact.
        """
        vals_list = self._courier_visit_event_vals(
            "viewed", source, user_agent, url, event_time, visitor
        )
        self.env["courier.event"].sudo().create(vals_list)
        self._courier_recompute_viewed()
        return True

    def _courier_visit_event_vals(self, type_, source, user_agent, url, event_time, visitor):
        """Values of one `type_` event per move, but none for a holder seen within VIEW_WINDOW.

        `visitor` names the token holder (a hash, see the portal controller):
        their requests within VIEW_WINDOW of a stored event of this type are
        that one event, so a reload or a browser fetching the PDF twice adds no
        row. Without it, every call is its own fact.
        """
        when = event_time or fields.Datetime.now()
        vals_list = []
        for move in self.sudo():
            prefix = f"{source}:{type_}:{move.id}:" + (f"{visitor}:" if visitor else "")
            if visitor and self.env["courier.event"].sudo().search_count(
                [
                    ("move_id", "=", move.id),
                    ("dedupe_key", "=like", prefix + "%"),
                    ("event_time", ">=", when - VIEW_WINDOW),
                ],
                limit=1,
            ):
                continue
            dispatch = move._courier_latest_dispatch()
            vals_list.append(
                {
                    "dedupe_key": prefix + uuid.uuid4().hex,
                    "type": type_,
                    "event_time": when,
                    "source": source,
                    "url": url or False,
                    "user_agent": (user_agent or "")[:1024] or False,
                    "move_id": move.id,
                    "dispatch_id": dispatch.id or False,
                    "company_id": move.company_id.id,
                }
            )
        return vals_list

    def _courier_mark_downloaded(
        self, source, user_agent=None, url=None, event_time=None, visitor=None
    ):
        """Record that the customer downloaded the invoice PDF from its web document.

        Called by the portal controller for requesters who are not internal
        users; one holder's downloads within VIEW_WINDOW are one event.
        """
        vals_list = self._courier_visit_event_vals(
            "downloaded", source, user_agent, url, event_time, visitor
        )
        events = self.env["courier.event"].sudo().create(vals_list)
        self._courier_record_step(events, "courier_downloaded_at")
        return True

    @api.model
    def _courier_mark_paid(self, transactions):
        """Record each done online payment of a customer invoice as its `paid` event.

        One event per (invoice, transaction), keyed `payment:paid:<move>:<tx>`:
        Odoo may post-process a transaction again (its cron, the customer's
        status page), and a replay adds nothing. Returns the new events.
        """
        Event = self.env["courier.event"].sudo()
        vals_list = []
        for tx in transactions.sudo():
            moves = tx.invoice_ids.filtered(
                lambda m: m.move_type in SENDABLE_MOVE_TYPES and m.state == "posted"
            )
            # Language-neutral: read by everyone, in the timeline and the notes.
            amount = f"{tx.amount:.{tx.currency_id.decimal_places}f} {tx.currency_id.name}"
            for move in moves:
                vals_list.append(
                    {
                        "dedupe_key": f"payment:paid:{move.id}:{tx.id}",
                        "type": "paid",
                        "event_time": tx.last_state_change or fields.Datetime.now(),
                        "source": "payment",
                        "detail": f"{tx.reference}: {amount} ({tx.provider_id.name})",
                        "payload": json.dumps(
                            {
                                "transaction": tx.reference,
                                "provider": tx.provider_id.code,
                                "amount": tx.amount,
                                "currency": tx.currency_id.name,
                            }
                        ),
                        "move_id": move.id,
                        "dispatch_id": move._courier_latest_dispatch().id or False,
                        "company_id": move.company_id.id,
                    }
                )
        if not vals_list:
            return Event
        keys = [vals["dedupe_key"] for vals in vals_list]
        known = set(Event.search([("dedupe_key", "in", keys)]).mapped("dedupe_key"))
        events = Event._courier_create_deduplicated(
            [vals for vals in vals_list if vals["dedupe_key"] not in known]
        )
        events.move_id._courier_record_step(events, "courier_paid_at")
        return events

    def _courier_record_step(self, events, time_field):
        """Apply new download or payment events: first time, chatter note, email status.

        `time_field` (courier_downloaded_at or courier_paid_at) keeps the
        earliest event's time. An invoice's first download and every payment
        get a note by OdooBot, in the staff's language, as a first view does.
        """
        moves = events.move_id.sudo()
        notes = {}
        for move in moves:
            own = events.filtered(lambda e, move=move: e.move_id == move).sorted("event_time")
            first_step = not move[time_field]
            if first_step or own[0].event_time < move[time_field]:
                move[time_field] = own[0].event_time
            env = move._courier_staff_env()
            lines = [
                env._("Paid online by the customer: %(payment)s", payment=event.detail)
                for event in own
                if event.type == "paid"
            ]
            if first_step and own[0].type == "downloaded":
                lines.append(env._("Downloaded by the customer"))
            if lines:
                notes[move.id] = "; ".join(lines)
        moves._courier_log_notes(notes)
        moves._courier_refresh_state()

    def _courier_recompute_viewed(self):
        """courier_viewed_at = the earliest view that counts among the invoice's events.

        A portal visit (`viewed`) always counts. A web-document click counts
        unless it came within its `min_seconds_after_delivery` of its
        recipient's delivery (a link scanner): when the delivery is not stored
        yet the click counts for now, and the delivery's arrival revisits it.
        So the result depends on the set of events, never on their order.
        """
        if not self:
            return
        self.env["courier.event"].flush_model()
        self.env.cr.execute(
            """
            SELECT e.move_id, MIN(e.event_time)
              FROM courier_event e
              LEFT JOIN LATERAL (
                    SELECT MIN(d.event_time) AS at
                      FROM courier_event d
                     WHERE d.recipient_id = e.recipient_id AND d.type = 'delivered'
                   ) delivery ON TRUE
             WHERE e.move_id IN %s
               AND (e.type = 'viewed'
                    OR (e.web_document
                        AND (delivery.at IS NULL
                             OR e.event_time >= delivery.at + make_interval(
                                    secs => COALESCE(e.min_seconds_after_delivery, 0)))))
             GROUP BY e.move_id
            """,
            [tuple(self.ids)],
        )
        self._courier_set_viewed(dict(self.env.cr.fetchall()))

    def _courier_set_viewed(self, viewed_at_by_move):
        """Write each move's viewed time (None: not viewed), its note and its state.

        Batched (one write per distinct time, one batch of notes, one state
        refresh): a webhook batch can view hundreds of invoices at once, and each
        account.move write has a fixed cost. The "Viewed by the customer" note is
        logged when a move becomes viewed and removed if a revisit finds it was not,
        so there is one note exactly when the invoice is viewed.
        """
        moves = self.sudo()
        changed = moves.filtered(
            lambda m: (m.courier_viewed_at or None) != viewed_at_by_move.get(m.id)
        )
        first_views = changed.filtered(lambda m: not m.courier_viewed_at)
        unviewed = changed.filtered(lambda m: not viewed_at_by_move.get(m.id))
        by_time = defaultdict(list)
        for move in changed:
            by_time[viewed_at_by_move.get(move.id) or False].append(move.id)
        for when, ids in by_time.items():
            moves.browse(ids).write({"courier_viewed_at": when})
        notes = first_views._courier_log_notes(
            {move.id: move._courier_staff_env()._("Viewed by the customer") for move in first_views}
        )
        for note in notes:
            moves.browse(note.res_id).courier_viewed_note_id = note
        if unviewed.courier_viewed_note_id:
            unviewed.courier_viewed_note_id.sudo().unlink()
        moves._courier_refresh_state()

    def _courier_report_undeliverable(self, recipient):
        """A bounce or block: tell the sender so they resend to a corrected address."""
        self.ensure_one()
        env = self._courier_staff_env(recipient.dispatch_id.requested_by_id)
        status_label = dict(recipient._fields["status"]._description_selection(env))[
            recipient.status
        ]
        detail = recipient.error_text or ""
        self._courier_post_note(
            env._(
                "The email to %(email)s was not delivered (%(status)s). %(detail)s",
                email=recipient.email,
                status=status_label,
                detail=detail,
            )
        )
        self._courier_alert_sender(
            recipient.dispatch_id.requested_by_id,
            env._("Invoice email not delivered"),
            env._(
                "The email to %(email)s was not delivered (%(status)s). "
                "Correct the address and send the invoice again.",
                email=recipient.email,
                status=status_label,
            ),
        )
        self._courier_refresh_state()
