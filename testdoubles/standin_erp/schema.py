"""The stand-in's tables: the addon's models reduced to what the contract touches."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS invoice (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    partner_name TEXT NOT NULL,
    amount_total REAL NOT NULL,
    amount_residual REAL NOT NULL,
    currency TEXT NOT NULL,
    invoice_date TEXT NOT NULL,
    invoice_date_due TEXT NOT NULL,
    move_type TEXT NOT NULL,
    lang TEXT NOT NULL,
    payment_reference TEXT NOT NULL,
    access_token TEXT NOT NULL,
    pdf_base64 TEXT,
    courier_state TEXT NOT NULL DEFAULT 'not_sent',
    is_move_sent INTEGER NOT NULL DEFAULT 0,
    courier_viewed_at TEXT
);
CREATE TABLE IF NOT EXISTS dispatch (
    id INTEGER PRIMARY KEY,
    move_id INTEGER NOT NULL REFERENCES invoice(id),
    company_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_text TEXT NOT NULL,
    sender_email TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    reply_to TEXT NOT NULL,
    custom_id TEXT NOT NULL UNIQUE,
    web_url TEXT NOT NULL,
    track_opens INTEGER NOT NULL,
    track_clicks INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    error_code TEXT,
    queued_at TEXT NOT NULL,
    transmitted_at TEXT,
    link_only INTEGER NOT NULL DEFAULT 0,
    one_email_to_all INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dispatch_claimable ON dispatch (state, queued_at);
CREATE TABLE IF NOT EXISTS recipient (
    id INTEGER PRIMARY KEY,
    dispatch_id INTEGER NOT NULL REFERENCES dispatch(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    status_time TEXT,
    message_id TEXT,
    message_uuid TEXT,
    error_text TEXT,
    polled_at TEXT
);
CREATE INDEX IF NOT EXISTS recipient_dispatch ON recipient (dispatch_id);
CREATE INDEX IF NOT EXISTS recipient_message ON recipient (message_id);
CREATE TABLE IF NOT EXISTS event (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    event_time TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    user_agent TEXT,
    detail TEXT,
    web_document INTEGER NOT NULL DEFAULT 0,
    min_seconds_after_delivery INTEGER NOT NULL DEFAULT 0,
    payload TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient_id INTEGER REFERENCES recipient(id),
    dispatch_id INTEGER NOT NULL REFERENCES dispatch(id),
    move_id INTEGER NOT NULL REFERENCES invoice(id)
);
CREATE INDEX IF NOT EXISTS event_recipient ON event (recipient_id);
CREATE INDEX IF NOT EXISTS event_move ON event (move_id);
CREATE TABLE IF NOT EXISTS invoice_note (
    id INTEGER PRIMARY KEY,
    move_id INTEGER NOT NULL REFERENCES invoice(id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
