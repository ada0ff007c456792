# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import select
import time
import uuid
from collections import defaultdict
from contextlib import closing
from datetime import timedelta

from markupsafe import Markup, escape
from odoo import _, api, fields, models, sql_db
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..compat import MODEL_CONSTRAINTS
from ..tools import contract_args
from ..tools.courier_status import DISPATCH_FINAL_STATES, DISPATCH_STATES, GAVE_UP_CODE
from ..tools.courier_time import parse_iso, to_iso
from ..tools.plain_text import html_to_text

# One claim never returns more than this, whatever the daemon asks: a claim
# holds row locks and builds base64 payloads in one transaction.
MAX_CLAIM = 200
DEFAULT_RETRY_SECONDS = 60
# PostgreSQL channel a waiting claim listens on: NOTIFY'd by every transaction that
# queues a send (delivered when it commits, never when it rolls back).
QUEUED_CHANNEL = "invoice_courier_queued"


class CourierDispatch(models.Model):
    _name = "courier.dispatch"
    _description = "Invoice email dispatch"
    _order = "queued_at desc, id desc"
    _rec_name = "subject"

    move_id = fields.Many2one(
        "account.move",
        string="Invoice",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    # Set from the invoice at creation, then checked against it (_check_company_of_invoice).
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    partner_id = fields.Many2one(related="move_id.partner_id", string="Customer")
    state = fields.Selection(
        DISPATCH_STATES, default="queued", required=True, index=True, readonly=True
    )
    subject = fields.Char(required=True)
    body_html = fields.Html(string="Body", sanitize_style=False)
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "courier_dispatch_ir_attachment_rel",
        "dispatch_id",
        "attachment_id",
        string="Attachments",
        help="Attachments sent besides the invoice PDF.",
    )
    sender_email = fields.Char(readonly=True)
    sender_name = fields.Char(readonly=True)
    reply_to = fields.Char(readonly=True)
    custom_id = fields.Char(
        string="Custom ID",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        default=lambda self: uuid.uuid4().hex,
        help="Sent to Mailjet as CustomID: finds this send at Mailjet and in its events.",
    )
    web_url = fields.Char(string="Web document URL", readonly=True)
    link_only = fields.Boolean(
        string="Link only",
        readonly=True,
        copy=False,
        help="Sent with the link to the web document instead of the PDF (the company's "
        "setting when the send was queued).",
    )
    lease_owner = fields.Char(readonly=True, copy=False)
    lease_expires_at = fields.Datetime(readonly=True, copy=False)
    attempts = fields.Integer(default=0, readonly=True, copy=False)
    next_attempt_at = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    error_code = fields.Char(readonly=True, copy=False)
    requested_by_id = fields.Many2one(
        "res.users", string="Requested by", default=lambda self: self.env.user, readonly=True
    )
    queued_at = fields.Datetime(readonly=True, copy=False, index=True)
    transmitted_at = fields.Datetime(readonly=True, copy=False)
    recipient_ids = fields.One2many("courier.recipient", "dispatch_id", string="Recipients")
    event_ids = fields.One2many("courier.event", "dispatch_id", string="Events", readonly=True)

    if MODEL_CONSTRAINTS:
        _custom_id_unique = models.Constraint(
            "unique(custom_id)", "The Custom ID of a dispatch must be unique."
        )
    else:
        _sql_constraints = [
            (
                "custom_id_unique",
                "unique(custom_id)",
                "The Custom ID of a dispatch must be unique.",
            ),
        ]

    # ------------------------------------------------------------------ create

    @api.model_create_multi
    def create(self, vals_list):
        """Queue sends: the one public way, for the wizards and for RPC callers alike.

        A caller that is not the superuser (the daemon's contract methods and
        Odoo's own code run as one) gets the checks of the compose window
        (courier.send.base._courier_check_send_vals): only the invoice, subject,
        body, recipients and attachments are theirs to give, with their own
        access rights; everything else is set here, as superuser.
        """
        if not self.env.su:
            self.check_access("create")
            sending = self.env["courier.send.base"]
            vals_list = [sending._courier_check_send_vals(vals) for vals in vals_list]
            for vals in vals_list:
                vals["requested_by_id"] = self.env.uid
            return self.sudo().create(vals_list).sudo(False)
        moves = self.env["account.move"].browse(
            [vals.get("move_id") for vals in vals_list if vals.get("move_id")]
        )
        self.env["courier.send.base"]._courier_check_sendable(moves)
        now = fields.Datetime.now()
        for vals in vals_list:
            move = self.env["account.move"].browse(vals.get("move_id"))
            if not move:
                raise UserError(_("Choose the invoice to send."))
            company = move.company_id
            vals["company_id"] = company.id
            vals.setdefault("custom_id", uuid.uuid4().hex)
            if not vals.get("sender_email"):
                vals["sender_email"] = self._courier_default_sender_email(company)
            vals.setdefault("sender_name", company.courier_sender_name or company.name)
            vals.setdefault("reply_to", vals["sender_email"])
            if not vals.get("web_url"):
                # get_portal_url() carries the access token (created when missing).
                vals["web_url"] = move.get_base_url() + move.get_portal_url()
            vals["link_only"] = company.courier_link_only
            if vals["link_only"]:
                vals["body_html"] = self._courier_body_with_link(
                    move, vals.get("body_html"), vals["web_url"]
                )
            vals["state"] = "queued"
            vals["queued_at"] = now
            vals.setdefault("requested_by_id", self.env.user.id)
        dispatches = super().create(vals_list)
        dispatches._courier_keep_uploads_with_invoice()
        dispatches.move_id._courier_refresh_state()
        self._courier_notify_queued()
        return dispatches

    @api.model
    def _courier_notify_queued(self):
        """Wake the claims waiting for a send (courier_claim's wait_seconds) once this commits."""
        self.env.cr.execute(SQL("SELECT pg_notify(%s, '')", QUEUED_CHANNEL))

    @api.model
    def _courier_body_with_link(self, move, body_html, web_url):
        """The body of a link-only email: it must carry the web document's link.

        The template's button has it; a body edited without it gets a line with
        the link, in the customer's language.
        """
        body = Markup(body_html or "")
        if web_url in body or escape(web_url) in body:
            return body
        lang = move.partner_id.lang or move.company_id.partner_id.lang or self.env.lang
        text = self.with_context(lang=lang).env._(
            "View and download %(document)s online:", document=move.name
        )
        return body + Markup('<p>%s <a href="%s">%s</a></p>') % (text, web_url, web_url)

    def _courier_keep_uploads_with_invoice(self):
        """Files uploaded in the compose window become the invoice's files.

        The history then shows them to whoever may read the invoice, and the
        claim's check (_courier_forbidden_attachments) finds them there.
        """
        for dispatch in self:
            uploads = dispatch.attachment_ids.filtered(lambda a: a.res_model == "courier.compose")
            uploads.write({"res_model": "account.move", "res_id": dispatch.move_id.id})

    def write(self, vals):
        # What a send holds is the system's once it is queued: only the
        # daemon's contract methods and Odoo itself (as superuser) change it.
        if vals and not self.env.su:
            raise AccessError(
                _(
                    "A send cannot be modified once queued; "
                    "withdraw it with Cancel sending and send the invoice again."
                )
            )
        return super().write(vals)

    @api.constrains("move_id", "company_id")
    def _check_company_of_invoice(self):
        for dispatch in self:
            if dispatch.company_id != dispatch.move_id.company_id:
                raise ValidationError(
                    _(
                        "The send %(send)s must belong to the company of its invoice.",
                        send=dispatch.display_name,
                    )
                )

    @api.model
    def _courier_default_sender_email(self, company):
        email = company.courier_sender_email or company.email or self.env.user.email
        if not email:
            raise UserError(
                _(
                    "Set the sender address of %(company)s in Settings > Invoicing > "
                    "Invoice Courier (or an email on the company) before sending invoices.",
                    company=company.name,
                )
            )
        return email

    @api.depends("move_id.display_name", "subject")
    def _compute_display_name(self):
        for dispatch in self:
            dispatch.display_name = (
                f"{dispatch.move_id.display_name or ''} - {dispatch.subject or ''}"
            )

    def action_courier_cancel(self):
        """Withdraw queued sends that the daemon has not claimed yet."""
        self.check_access("read")
        if not (self.env.su or self.env.user.has_group("account.group_account_invoice")):
            raise AccessError(_("Only invoicing users can withdraw a send."))
        queued = self.filtered(lambda dispatch: dispatch.state == "queued").sudo()
        queued.write({"state": "cancelled", "next_attempt_at": False})
        for move in queued.move_id:
            move._courier_refresh_state()
        return True

    # ---------------------------------------------------------------- contract

    @api.model
    def _courier_check_daemon(self):
        """Contract methods are for the Courier daemon (or a system admin) only.

        They then run as superuser: the daemon's own group holds no access
        right on any model, so its credentials read nothing else.
        """
        if not (
            self.env.su
            or self.env.user.has_group("invoice_courier.group_courier_daemon")
            or self.env.user.has_group("base.group_system")
        ):
            raise AccessError(_("Only the Courier daemon can call the Invoice Courier contract."))

    @api.model
    def courier_claim(self, worker_id, limit, lease_seconds, wait_seconds=0):
        """Claim up to `limit` sends; with nothing to claim, wait up to `wait_seconds` for one.

        The wait is a long poll: it listens on QUEUED_CHANNEL, so a send queued
        meanwhile is claimed and returned as soon as its transaction commits, and
        an idle daemon makes one call per wait instead of one per poll.
        """
        self._courier_check_daemon()
        worker_id = contract_args.as_worker_id(self.env, worker_id)
        limit = max(1, min(contract_args.as_int(self.env, limit, "limit"), MAX_CLAIM))
        lease_seconds = contract_args.as_lease_seconds(self.env, lease_seconds)
        wait_seconds = contract_args.as_wait_seconds(self.env, wait_seconds)
        claimed, payloads = self._courier_claim_now(worker_id, limit, lease_seconds)
        # A test cursor cannot start a fresh transaction (its rollback would undo the
        # test's own data): under tests the claim answers at once.
        if claimed or not wait_seconds or not isinstance(self.env.cr, sql_db.Cursor):
            return payloads
        return self._courier_claim_waiting(worker_id, limit, lease_seconds, wait_seconds)

    @api.model
    def _courier_claim_waiting(self, worker_id, limit, lease_seconds, wait_seconds):
        """Listen for queued sends and claim again on each, until one is claimed or time is up.

        Nothing was written by the empty claim before, so each look rolls the
        request's transaction back to see what was committed since. The listening
        connection is its own (LISTEN takes effect at commit and notifications
        arrive between transactions); the look after LISTEN closes the gap
        between the first claim and the listening.
        """
        deadline = time.monotonic() + wait_seconds
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as listener:
            listener.execute(SQL("LISTEN %s", SQL.identifier(QUEUED_CHANNEL)))
            listener.commit()
            connection = listener._cnx
            try:
                while True:
                    self.env.cr.rollback()
                    claimed, payloads = self._courier_claim_now(worker_id, limit, lease_seconds)
                    # A retry or an expired lease becomes claimable without a notification.
                    remaining = min(deadline - time.monotonic(), self._courier_seconds_until_due())
                    if claimed or remaining <= 0:
                        return payloads
                    if select.select([connection], [], [], remaining)[0]:
                        connection.poll()
                        connection.notifies.clear()
            finally:
                listener.execute(SQL("UNLISTEN %s", SQL.identifier(QUEUED_CHANNEL)))
                listener.commit()

    @api.model
    def _courier_seconds_until_due(self):
        """Seconds until the next retry or lease expiry makes a send claimable (inf: none)."""
        self.env.cr.execute(
            """
            SELECT EXTRACT(EPOCH FROM MIN(due) - (clock_timestamp() AT TIME ZONE 'UTC'))
              FROM (SELECT next_attempt_at AS due FROM courier_dispatch
                     WHERE state = 'queued' AND next_attempt_at IS NOT NULL
                    UNION ALL
                    SELECT lease_expires_at FROM courier_dispatch
                     WHERE state = 'sending' AND lease_expires_at IS NOT NULL) AS dues
            """
        )
        seconds = self.env.cr.fetchone()[0]
        # A little past the due second: the claim compares with whole seconds.
        return float("inf") if seconds is None else max(0.0, float(seconds)) + 0.05

    @api.model
    def _courier_claim_now(self, worker_id, limit, lease_seconds):
        """(whether anything was claimed, the payloads): a claimed send whose
        attachments the requester may no longer read fails instead of being handed out."""
        now = fields.Datetime.now()
        # Pending ORM writes must reach the table before raw SQL reads it.
        self.env.flush_all()
        cr = self.env.cr
        # SKIP LOCKED: a concurrent claim takes other rows instead of waiting,
        # so two workers never get the same dispatch.
        cr.execute(
            """
            SELECT id FROM courier_dispatch
             WHERE (state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s))
                OR (state = 'sending' AND (lease_expires_at IS NULL OR lease_expires_at <= %(now)s))
             ORDER BY queued_at, id
             LIMIT %(limit)s
             FOR UPDATE SKIP LOCKED
            """,
            {"now": now, "limit": limit},
        )
        ids = [row[0] for row in cr.fetchall()]
        if not ids:
            return False, []
        cr.execute(
            """
            UPDATE courier_dispatch
               SET state = 'sending', lease_owner = %(owner)s, lease_expires_at = %(expires)s,
                   attempts = COALESCE(attempts, 0) + 1, write_uid = %(uid)s, write_date = %(now)s
             WHERE id IN %(ids)s
            """,
            {
                "owner": str(worker_id)[:255],
                "expires": now + timedelta(seconds=lease_seconds),
                "uid": self.env.uid,
                "now": now,
                "ids": tuple(ids),
            },
        )
        self.invalidate_model(
            ["state", "lease_owner", "lease_expires_at", "attempts", "write_uid", "write_date"]
        )
        payloads = []
        for dispatch in self.sudo().browse(ids):
            forbidden = dispatch._courier_forbidden_attachments()
            if forbidden:
                dispatch._courier_mark_failed(
                    {
                        "code": "attachment-denied",
                        "message": dispatch.move_id._courier_staff_env(dispatch.requested_by_id)._(
                            "%(user)s may not read these attachments, so they are not sent: "
                            "%(files)s",
                            user=dispatch.requested_by_id.display_name,
                            files=", ".join(forbidden.mapped("name")),
                        ),
                    }
                )
                continue
            payloads.append(dispatch._courier_payload())
        return True, payloads

    def _courier_forbidden_attachments(self):
        """The attachments the person who asked for this send may not read (now).

        The claim reads files as superuser to put them in the payload: it must
        never hand out more than the sender could read with their own rights.
        """
        self.ensure_one()
        as_requester = self.env["courier.send.base"].with_user(self.requested_by_id)
        forbidden = self.attachment_ids.browse()
        for attachment in self.attachment_ids:
            try:
                as_requester._courier_check_readable(attachment.with_user(self.requested_by_id))
            except AccessError:
                forbidden |= attachment
        return forbidden

    def _courier_payload(self):
        self.ensure_one()
        move = self.move_id
        company = self.company_id
        pdf = move.invoice_pdf_report_id
        # Link only: the email carries the web document's link, and the PDF is
        # neither sent nor rendered for it (the portal renders it when first asked).
        attachments = [self._courier_attachment_data(pdf)] if pdf and not self.link_only else []
        attachments += [
            self._courier_attachment_data(attachment)
            for attachment in self.attachment_ids
            if attachment != pdf
        ]
        return {
            "id": self.id,
            "custom_id": self.custom_id,
            "attempts": self.attempts,
            # An earlier attempt may have reached Mailjet before its report was lost.
            "check_mailjet_first": self.attempts > 1,
            "company_id": company.id,
            "invoice_id": move.id,
            "sender": {"email": self.sender_email, "name": self.sender_name or ""},
            "reply_to": self.reply_to or self.sender_email,
            "recipients": [
                {"id": recipient.id, "email": recipient.email, "name": recipient.name or ""}
                for recipient in self.recipient_ids
            ],
            "subject": self.subject,
            "html": self.body_html or "",
            "text": html_to_text(self.body_html or ""),
            "attachments": attachments,
            "pdf_pending": not pdf and not self.link_only,
            "link_only": self.link_only,
            "web_url": self.web_url,
            "track_opens": company.courier_track_opens,
            "track_clicks": company.courier_track_clicks,
            # False: one email per recipient (own message, own tracking, no other address).
            "one_email_to_all": company.courier_one_email_to_all,
            # What courierd needs to give up on a send (its retry bound): age, last error.
            "queued_at": to_iso(self.queued_at),
            "last_error": self.last_error or False,
            "error_code": self.error_code or False,
            "invoice": move._courier_invoice_fields(),
        }

    @api.model
    def _courier_attachment_data(self, attachment):
        return {
            "filename": attachment.name,
            "content_type": attachment.mimetype or "application/octet-stream",
            "base64": base64.b64encode(attachment.raw or b"").decode("ascii"),
        }

    @api.model
    def courier_render_pdf(self, dispatch_id):
        self._courier_check_daemon()
        dispatch = self._courier_sending_dispatch(dispatch_id)
        pdf = dispatch.move_id._courier_ensure_pdf()
        return self._courier_attachment_data(pdf)

    @api.model
    def courier_render_pdfs(self, dispatch_ids):
        """The invoice PDFs of several dispatches, rendered in one report call when possible.

        Returns {str(dispatch_id): attachment data or {"error": message}}: a
        dispatch that is not `sending`, or whose invoice cannot be rendered,
        fails only itself.
        """
        self._courier_check_daemon()
        if not isinstance(dispatch_ids, list | tuple):
            raise UserError(
                _(
                    "dispatch_ids must be a list of dispatch ids, got %(value)s.",
                    value=repr(dispatch_ids),
                )
            )
        results = {}
        dispatches = self.sudo().browse()
        for dispatch_id in dispatch_ids:
            try:
                dispatches |= self._courier_sending_dispatch(dispatch_id)
            except UserError as exc:
                results[str(dispatch_id)] = {"error": exc.args[0]}
        dispatches.move_id._courier_render_pdfs_together()
        for dispatch in dispatches:
            try:
                # Stored by the render together, or (when it failed) rendered alone here.
                with self.env.cr.savepoint():
                    pdf = dispatch.move_id._courier_ensure_pdf()
            except UserError as exc:
                results[str(dispatch.id)] = {"error": exc.args[0]}
            else:
                results[str(dispatch.id)] = self._courier_attachment_data(pdf)
        return results

    @api.model
    def _courier_sending_dispatch(self, dispatch_id):
        """The dispatch `dispatch_id` (sudo), if it exists and is being sent; else a UserError."""
        try:
            number = int(dispatch_id)
        except (TypeError, ValueError, OverflowError):
            raise UserError(
                _("Dispatch id %(value)s is not a number.", value=repr(dispatch_id))
            ) from None
        dispatch = self.sudo().browse()
        if contract_args.is_record_id(number):
            dispatch = self.sudo().browse(number).exists()
        if not dispatch:
            raise UserError(_("Dispatch %s does not exist.", dispatch_id))
        if dispatch.state != "sending":
            raise UserError(
                _(
                    "Dispatch %(id)s is %(state)s: only a dispatch being sent gets its PDF.",
                    id=dispatch.id,
                    state=dispatch.state,
                )
            )
        return dispatch

    @api.model
    def courier_report(self, results):
        self._courier_check_daemon()
        counts = {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 0}
        transmitted = self.sudo().browse()
        test_sent = self.sudo().browse()
        events = []
        reported = self.sudo().browse()
        for result in contract_args.as_list(self.env, results, "results"):
            outcome, dispatch = self._courier_apply_report(result, events)
            counts[outcome] += 1
            reported |= dispatch
            if outcome == "transmitted":
                transmitted |= dispatch
            elif outcome == "test_sent":
                test_sent |= dispatch
        if test_sent:
            test_sent._courier_log_test_sends()
        if counts["retry"]:
            # Waiting claims take the retries' times into account.
            self._courier_notify_queued()
        if transmitted:
            # Effects shared by the batch go out together: one event insert,
            # one write, one batch of chatter notes.
            self.env["courier.event"].sudo()._courier_store_events(events)
            moves = transmitted.move_id
            # Untracked: the chatter's note says it, not a technical "Is Move Sent" line.
            moves.with_context(mail_notrack=True).write({"is_move_sent": True})
            moves._courier_refresh_state()
            notes = defaultdict(list)
            for dispatch in transmitted:
                accepted = dispatch.recipient_ids.filtered("message_id") or dispatch.recipient_ids
                notes[dispatch.move_id.id].append(
                    dispatch.move_id._courier_staff_env(dispatch.requested_by_id)._(
                        "Sent to %(addresses)s through Mailjet",
                        addresses=", ".join(accepted.mapped("email")),
                    )
                )
            moves._courier_log_notes({move_id: " ".join(texts) for move_id, texts in notes.items()})
        # The open invoice forms reload: a retry or a failure shows too.
        reported.move_id._courier_notify_changed()
        return counts

    @api.model
    def _courier_apply_report(self, result, events):
        """Apply one report: (the count it falls under, the dispatch).

        A report that changes nothing is `ignored`. A transmitted dispatch's
        tracking events are appended to `events` for the caller to store.
        """
        if not isinstance(result, dict):
            return "ignored", self.browse()
        try:
            dispatch_id = int(result.get("id") or 0)
        except (TypeError, ValueError, OverflowError):
            return "ignored", self.browse()
        if not contract_args.is_record_id(dispatch_id):
            return "ignored", self.browse()
        dispatch = self.sudo().browse(dispatch_id).exists()
        outcome = result.get("outcome")
        if (
            not dispatch
            or dispatch.custom_id != result.get("custom_id")
            or dispatch.state in DISPATCH_FINAL_STATES
        ):
            return "ignored", dispatch
        when = parse_iso(result.get("time"))
        if outcome == "transmitted":
            # Accepted whatever the lease says: the email did go out. Shown: when
            # Mailjet accepted it (`transmitted_at`), else the report's time.
            when = parse_iso(result.get("transmitted_at"), when)
            events += dispatch._courier_mark_transmitted(
                result.get("recipients") or [], when, result.get("refused") or []
            )
            return "transmitted", dispatch
        if outcome == "test_sent":
            # Mailjet's sandbox mode checked it and sent nothing: no message, no event.
            dispatch.write(
                {
                    "state": "test_sent",
                    "lease_owner": False,
                    "lease_expires_at": False,
                    "next_attempt_at": False,
                }
            )
            return "test_sent", dispatch
        # A retry or failure only concerns a send in progress; a repeated one
        # (dispatch already requeued) changes nothing.
        if dispatch.state != "sending":
            return "ignored", dispatch
        error = result.get("error")
        if not isinstance(error, dict):
            error = {}
        if outcome == "retry":
            try:
                delay = max(0, int(result.get("retry_after") or DEFAULT_RETRY_SECONDS))
            except (TypeError, ValueError, OverflowError):
                delay = DEFAULT_RETRY_SECONDS
            # Mailjet never asks for more than hours; a day keeps the date computable.
            delay = min(delay, contract_args.MAX_LEASE_SECONDS)
            vals = {
                "state": "queued",
                "next_attempt_at": fields.Datetime.now() + timedelta(seconds=delay),
                "last_error": error.get("message") or dispatch.last_error,
                "error_code": error.get("code") or dispatch.error_code,
                "lease_owner": False,
                "lease_expires_at": False,
            }
            if result.get("attempted") is False:
                # Nothing was tried (Mailjet refused courierd's API key): the claim
                # gives its attempt back, so a configuration mistake uses none up.
                vals["attempts"] = max(dispatch.attempts - 1, 0)
            dispatch.write(vals)
            return "retry", dispatch
        if outcome == "failed":
            dispatch._courier_mark_failed(error)
            return "failed", dispatch
        return "ignored", dispatch

    def _courier_mark_transmitted(self, reported_recipients, when, refused=()):
        """Dispatch and recipients as Mailjet accepted them; returns the events to store.

        `refused`: the recipients whose own email Mailjet refused while it took
        the others' (one email per recipient); each gets a `blocked` event with
        Mailjet's reason, so its sender hears of it as of a block.
        """
        self.ensure_one()
        if not isinstance(reported_recipients, list):
            reported_recipients = []
        by_email = {
            str(item.get("email") or "").strip().lower(): item
            for item in reported_recipients
            if isinstance(item, dict)
        }
        events = []
        for recipient in self.recipient_ids:
            item = by_email.get((recipient.email or "").strip().lower())
            if not item:
                continue
            message_id = str(item.get("message_id") or "") or False
            recipient.write(
                {"message_id": message_id, "message_uuid": item.get("message_uuid") or False}
            )
            events.append(
                {
                    "dedupe_key": "transmitted:"
                    + (message_id or f"{self.custom_id}:{recipient.email}"),
                    "type": "transmitted",
                    "time": to_iso(when),
                    "source": "daemon",
                    "message_id": message_id,
                    "custom_id": self.custom_id,
                    "email": recipient.email,
                    "detail": item.get("message_href"),
                }
            )
        events += self._courier_refused_events(refused, when)
        self.write(
            {
                "state": "transmitted",
                "transmitted_at": when,
                "lease_owner": False,
                "lease_expires_at": False,
                "next_attempt_at": False,
            }
        )
        return events

    def _courier_refused_events(self, refused, when):
        """`blocked` events for the recipients Mailjet refused in a transmitted send."""
        self.ensure_one()
        if not isinstance(refused, list | tuple):
            return []
        ours = {(r.email or "").strip().lower() for r in self.recipient_ids}
        events = []
        for item in refused:
            email = str(item.get("email") or "").strip().lower() if isinstance(item, dict) else ""
            if email not in ours:
                continue
            reason = " ".join(str(part) for part in (item.get("code"), item.get("message")) if part)
            events.append(
                {
                    "dedupe_key": f"refused:{self.custom_id}:{email}",
                    "type": "blocked",
                    "time": to_iso(when),
                    "source": "daemon",
                    "message_id": None,
                    "custom_id": self.custom_id,
                    "email": email,
                    "detail": reason or False,
                }
            )
        return events

    def _courier_log_test_sends(self):
        """One chatter note per invoice saying what was test sent, and that nothing went out."""
        notes = defaultdict(list)
        for dispatch in self:
            notes[dispatch.move_id.id].append(
                dispatch.move_id._courier_staff_env(dispatch.requested_by_id)._(
                    "Test send to %(addresses)s: Mailjet's sandbox mode checked the email "
                    "and sent nothing; the invoice is not marked as sent.",
                    addresses=", ".join(dispatch.recipient_ids.mapped("email")),
                )
            )
        self.move_id._courier_refresh_state()
        self.move_id._courier_log_notes(
            {move_id: " ".join(texts) for move_id, texts in notes.items()}
        )

    def _courier_mark_failed(self, error):
        self.ensure_one()
        env = self.move_id._courier_staff_env(self.requested_by_id)
        message = error.get("message") or env._("Mailjet refused the email.")
        self.write(
            {
                "state": "failed",
                "last_error": message,
                "error_code": error.get("code") or False,
                "lease_owner": False,
                "lease_expires_at": False,
            }
        )
        move = self.move_id
        move._courier_refresh_state()
        move._courier_post_note(env._("Sending by email failed: %(error)s", error=message))
        if error.get("code") == GAVE_UP_CODE:
            # Not Mailjet's refusal: courierd stopped retrying (too many attempts, too old).
            note = env._(
                "The email could not be sent: %(error)s "
                "Send the invoice again; if it fails again, ask your administrator to check "
                "the connection to Mailjet.",
                error=message,
            )
        else:
            note = env._(
                "Mailjet did not accept the email (%(code)s): %(error)s. "
                "Check the recipients and send the invoice again.",
                code=error.get("code") or "-",
                error=message,
            )
        move._courier_alert_sender(self.requested_by_id, env._("Invoice email failed"), note)
