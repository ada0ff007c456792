# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Status vocabularies and the recipient status ranking (docs/architecture.md).

Kept in one place so the models, the contract methods and the tests agree on
the values; the labels are the English source strings translated in i18n/.
"""

# A recipient's status is the highest-ranked type among its events: events
# arrive late, twice and out of order, so "last received" would be wrong.
# Negative outcomes rank above all progress: a bounce or a spam complaint
# after a delivery is the fact the sender needs to see.
RECIPIENT_STATUS_RANK = {
    "queued": 0,
    "transmitted": 10,
    "deferred": 15,
    "delivered": 20,
    "opened": 30,
    "clicked": 40,
    "unsubscribed": 50,
    "spam": 60,
    "blocked": 70,
    "bounced": 80,
}

RECIPIENT_STATUSES = [
    ("queued", "Queued"),
    ("transmitted", "Transmitted"),
    ("deferred", "Deferred"),
    ("delivered", "Delivered"),
    ("opened", "Opened"),
    ("clicked", "Clicked"),
    ("unsubscribed", "Unsubscribed"),
    ("spam", "Spam"),
    ("blocked", "Blocked"),
    ("bounced", "Bounce"),
]

# A recipient line of the Email history shows one status: its own, or its
# send's when that says something else (the recipient then stays Queued).
SEND_STATES_SHOWN_IN_HISTORY = ("failed", "cancelled", "test_sent")
HISTORY_STATUSES = [
    *RECIPIENT_STATUSES,
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("test_sent", "Test send"),
]

# `viewed`, `downloaded` and `paid` are invoice-level facts, stored as events
# but never a recipient's rank.
EVENT_TYPES = [item for item in RECIPIENT_STATUSES if item[0] != "queued"] + [
    ("viewed", "Viewed"),
    ("downloaded", "Downloaded"),
    ("paid", "Paid online"),
]

# Facts only Odoo sees (its portal's PDF download, its payment transactions):
# courier_ingest refuses them, so no daemon can claim a payment.
ODOO_EVENT_TYPES = ("downloaded", "paid")
INGEST_EVENT_TYPES = tuple(value for value, _label in EVENT_TYPES if value not in ODOO_EVENT_TYPES)

EVENT_SOURCES = [
    ("mailjet_webhook", "Mailjet webhook"),
    ("mailjet_poll", "Mailjet poll"),
    ("portal", "Portal"),
    ("payment", "Online payment"),
    ("daemon", "Courier daemon"),
]

# test_sent: courierd ran in Mailjet's sandbox mode, which checks the email and
# sends nothing. Such a send never counts as the invoice's send.
DISPATCH_STATES = [
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("transmitted", "Transmitted"),
    ("test_sent", "Test send"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]

# Only these moves, posted, can be sent: customer invoices and credit notes.
SENDABLE_MOVE_TYPES = ("out_invoice", "out_refund")

# Dispatch states after which a report changes nothing.
DISPATCH_FINAL_STATES = ("transmitted", "test_sent", "failed", "cancelled")

# Sends that are not the invoice's send: its email status ignores them.
DISPATCH_NOT_SENDS = ("cancelled", "test_sent")

# The code courierd reports when it stops retrying a send (too many attempts, too old).
GAVE_UP_CODE = "gave-up"

INVOICE_COURIER_STATES = [
    ("not_sent", "Not sent"),
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("viewed", "Viewed"),
    ("downloaded", "Downloaded"),
    ("paid", "Paid online"),
    ("bounced", "Bounced"),
    ("failed", "Failed"),
]

# The customer's steps, furthest first: the invoice's email status shows the
# furthest one reached (docs/architecture.md, "Invoice email status").
CUSTOMER_STEPS = ("paid", "downloaded", "viewed")

# Recipients whose tracking can still change: the poller keeps asking Mailjet.
OPEN_TRACKING_STATUSES = ("transmitted", "delivered", "opened", "deferred")

# Statuses meaning the address did not receive the email: the sender must act.
UNDELIVERABLE_STATUSES = ("bounced", "blocked")


def status_rank(status):
    """Rank of a status; unknown or unranked types (viewed) rank below queued."""
    return RECIPIENT_STATUS_RANK.get(status, -1)


def best_status(statuses, default="queued"):
    """The highest-ranked status among `statuses`, `default` when none ranks."""
    ranked = [status for status in statuses if status in RECIPIENT_STATUS_RANK]
    if not ranked:
        return default
    return max(ranked, key=status_rank)
