"""Every event type the platform emits: what a webhook endpoint may subscribe to.

An endpoint's ``enabled_events`` lists types from `EVENT_TYPES`, or ``"*"`` for all of them
(present and future). A type emitted anywhere in ``src/cyphera`` but missing here is a bug:
``tests/webhook/test_events.py`` scans the source for the literals passed to ``events.record``
and ``record_event`` and fails until they are listed.
"""

from __future__ import annotations

ALL_EVENTS = "*"

EVENT_TYPES: dict[str, str] = {
    "customer.created": "A customer was created (through the API or by a checkout).",
    "customer.updated": "A customer's details changed.",
    "dead_letter.created": "A background job about one of your objects failed for good; operators were told.",
    "invoice.created": "An invoice was created for a billing period.",
    "invoice.finalized": "An invoice is final and open for payment.",
    "invoice.paid": "An invoice was paid in full.",
    "invoice.payment_failed": "A payment attempt for an invoice failed.",
    "invoice.voided": "An invoice was voided.",
    "invoice.marked_uncollectible": "An invoice was marked uncollectible.",
    "payment.succeeded": "An on-chain payment was confirmed.",
    "payment.failed": "An on-chain payment failed.",
    "permission.granted": "A customer granted a spending permission (a delegation).",
    "permission.revoked": "A customer revoked a permission on chain; its subscriptions ended.",
    "permission.expiring": (
        "A permission in use expires within the notice period (7 days by default): ask the "
        "customer for a new one before charges stop."
    ),
    "reconciliation.mismatch": "Your payments and the chain differ; operators were alerted.",
    "subscription.created": "A subscription started.",
    "subscription.updated": "A subscription changed (status, price, quantity, discount, …).",
    "subscription.canceled": "A subscription ended.",
    "subscription.paused": "A subscription's collection was paused.",
    "subscription.resumed": "A paused subscription resumed.",
    "subscription.trial_will_end": "A subscription's trial ends in three days.",
    "webhook_endpoint.disabled": (
        "A webhook endpoint was disabled after its deliveries failed for three days; re-enable it "
        "once it answers again."
    ),
    "test_clock.created": "A test clock was created.",
    "test_clock.advancing": "A test clock started advancing.",
    "test_clock.ready": "A test clock finished advancing.",
    "test_clock.deleted": "A test clock was deleted.",
    "test_clock.internal_failure": "A test clock could not finish advancing (see its status).",
}
"""Each event type, with what it means."""


def is_known(event_type: str) -> bool:
    """Whether `event_type` may be subscribed to: a type of `EVENT_TYPES`, or ``"*"``."""
    return event_type == ALL_EVENTS or event_type in EVENT_TYPES
