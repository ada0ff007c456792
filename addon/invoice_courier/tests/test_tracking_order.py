# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The tracking state follows from the set of events, whatever their order (issue 10).

Each case feeds the same events in several orders (and twice) to fresh
recipients and compares what comes out. tests/contract/test_event_order.py
does the same at scale over RPC, on the stand-in ERP and on this addon.
"""

import random
from itertools import permutations

from odoo import fields
from odoo.tests import tagged

from .contract_common import CourierCase

PORTAL = "https://erp.example/my/invoices/1"
T = "2026-11-27T09:{:02d}:{:02d}Z"


def at(minute, second=0):
    return T.format(minute, second)


def _orders(count):
    """Every order of up to three events; of more, six (each one a send in Odoo, ~1 s)."""
    if count <= 3:
        return list(permutations(range(count)))
    rng = random.Random(count)
    orders = [tuple(range(count)), tuple(reversed(range(count)))]
    while len(orders) < 6:
        order = tuple(rng.sample(range(count), count))
        if order not in orders:
            orders.append(order)
    return orders


@tagged("post_install", "-at_install")
class TestTrackingOrder(CourierCase):
    def sent(self, emails=("anna@customer.example",)):
        dispatch = self.make_dispatch(emails=emails)
        self.claim()
        self.transmit(dispatch)
        return dispatch

    def facts(self, dispatch):
        """What the events decided: recipients' status, time, error; the invoice's view."""
        move = dispatch.move_id
        notes = move.message_ids.filtered(lambda m: "Viewed by the customer" in (m.body or ""))
        return (
            [(r.status, r.status_time, r.error_text) for r in dispatch.recipient_ids],
            move.courier_state,
            move.courier_viewed_at,
            len(notes),
            len(move.activity_ids),
        )

    def same_whatever_the_order(self, make_events, emails=("anna@customer.example",)):
        """The facts after each order of the events (and a replay); asserts they are equal."""
        outcomes = []
        dispatch = self.sent(emails)
        events = make_events(dispatch)
        for number, order in enumerate(_orders(len(events))):
            if number:
                dispatch = self.sent(emails)
                events = make_events(dispatch)
            for index in order:
                self.ingest([events[index]])
            replayed = self.ingest(events)
            self.assertEqual(replayed["created"], 0)
            outcomes.append(self.facts(dispatch))
        for outcome in outcomes[1:]:
            self.assertEqual(outcome, outcomes[0])
        return outcomes[0]

    def click(self, recipient, time, agent="Mozilla/5.0 Firefox", window=10, **extra):
        return self.event(
            recipient,
            "clicked",
            time,
            key=f"mj:click:{recipient.message_id}:{time}",
            url=PORTAL,
            user_agent=agent,
            web_document=True,
            min_seconds_after_delivery=window,
            **extra,
        )

    def test_the_viewed_time_is_the_earliest_view(self):
        def events(dispatch):
            anna = dispatch.recipient_ids
            return [self.click(anna, at(3, 20)), self.click(anna, at(1, 40))]

        _, state, viewed_at, notes, _ = self.same_whatever_the_order(events)
        self.assertEqual(state, "viewed")
        self.assertEqual(viewed_at, fields.Datetime.to_datetime("2026-11-27 09:01:40"))
        self.assertEqual(notes, 1)

    def test_a_click_right_after_the_delivery_is_a_scanner_whichever_comes_first(self):
        def events(dispatch):
            anna = dispatch.recipient_ids
            return [
                self.event(anna, "delivered", at(0, 0)),
                self.click(anna, at(0, 4)),  # 4 s after the delivery: a link scanner
            ]

        statuses, state, viewed_at, notes, _ = self.same_whatever_the_order(events)
        self.assertEqual(statuses[0][0], "clicked")
        self.assertEqual((state, viewed_at, notes), ("sent", False, 0))

    def test_the_delivery_arriving_late_revisits_the_view_and_its_note(self):
        dispatch = self.sent()
        anna, move = dispatch.recipient_ids, dispatch.move_id
        self.ingest([self.click(anna, at(0, 4))])
        # No delivery known yet: the click counts for now.
        self.assertEqual(move.courier_state, "viewed")
        self.assertTrue(move.courier_viewed_note_id)
        self.ingest([self.event(anna, "delivered", at(0, 0))])
        self.assertEqual((move.courier_state, move.courier_viewed_at), ("sent", False))
        self.assertFalse(move.courier_viewed_note_id)
        self.assertFalse(
            move.message_ids.filtered(lambda m: "Viewed by the customer" in (m.body or ""))
        )
        # The customer's own click later views it, with one note.
        self.ingest([self.click(anna, at(5, 0))])
        self.assertEqual(move.courier_state, "viewed")
        self.assertEqual(move.courier_viewed_at, fields.Datetime.to_datetime("2026-11-27 09:05:00"))
        notes = move.message_ids.filtered(lambda m: "Viewed by the customer" in (m.body or ""))
        self.assertEqual(len(notes), 1)

    def test_the_window_is_each_clicks_own_and_a_portal_visit_always_counts(self):
        def events(dispatch):
            anna = dispatch.recipient_ids
            return [
                self.event(anna, "delivered", at(0, 0)),
                self.click(anna, at(0, 20), window=30),  # within its own 30 s
                self.click(anna, at(0, 40), window=30),  # past them: a view
            ]

        _, state, viewed_at, _, _ = self.same_whatever_the_order(events)
        self.assertEqual(
            (state, viewed_at), ("viewed", fields.Datetime.to_datetime("2026-11-27 09:00:40"))
        )
        dispatch = self.sent()
        visit = fields.Datetime.to_datetime("2026-11-27 09:00:01")
        dispatch.move_id._courier_mark_viewed("portal", event_time=visit)
        self.ingest([self.event(dispatch.recipient_ids, "delivered", at(0, 0))])
        self.assertEqual(dispatch.move_id.courier_state, "viewed")

    def test_the_error_text_is_the_latest_by_event_time(self):
        def events(dispatch):
            anna = dispatch.recipient_ids
            return [
                self.event(anna, "bounced", at(2), detail="soft bounce: mailbox full"),
                self.event(anna, "bounced", at(9), detail="hard bounce: no such user"),
                self.event(anna, "bounced", at(5), detail="soft bounce: try later"),
                self.event(anna, "delivered", at(1)),
            ]

        statuses, state, _, _, activities = self.same_whatever_the_order(events)
        self.assertEqual(statuses[0][0], "bounced")
        self.assertEqual(statuses[0][2], "hard bounce: no such user")
        self.assertEqual((state, activities), ("bounced", 1))

    def test_a_winning_type_without_detail_borrows_the_latest_negative_detail(self):
        def events(dispatch):
            anna = dispatch.recipient_ids
            return [
                self.event(anna, "blocked", at(1), detail="preblocked"),
                self.event(anna, "bounced", at(2)),  # no detail of its own
                self.event(anna, "spam", at(3), detail="JMRPP"),
            ]

        statuses, _, _, _, activities = self.same_whatever_the_order(events)
        self.assertEqual(statuses[0][:1] + statuses[0][2:], ("bounced", "JMRPP"))
        self.assertEqual(activities, 1, "one alert for the address, whichever came first")

    def test_equal_times_are_told_apart_by_dedupe_key(self):
        def events(dispatch):
            anna = dispatch.recipient_ids
            return [
                self.event(anna, "bounced", at(4), key=f"b:{anna.id}:1", detail="first"),
                self.event(anna, "bounced", at(4), key=f"b:{anna.id}:2", detail="second"),
            ]

        statuses, *_ = self.same_whatever_the_order(events)
        self.assertEqual(statuses[0][2], "second")

    def test_a_replay_adds_no_note(self):
        dispatch = self.sent(("anna@customer.example", "bob@customer.example"))
        anna, bob = dispatch.recipient_ids
        events = [
            self.click(anna, at(7)),
            self.event(bob, "bounced", at(8), detail="hard bounce: gone"),
        ]
        self.ingest(events)
        messages = len(dispatch.move_id.message_ids)
        activities = len(dispatch.move_id.activity_ids)
        for _ in range(3):
            self.assertEqual(self.ingest(events), {"created": 0, "duplicate": 2, "unmatched": 0})
        self.assertEqual(len(dispatch.move_id.message_ids), messages)
        self.assertEqual(len(dispatch.move_id.activity_ids), activities)
