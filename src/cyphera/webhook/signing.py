"""Standard Webhooks signatures (https://www.standardwebhooks.com), made with its own library.

Each delivery carries ``webhook-id`` (the delivery's id: the same on every attempt, so a
receiver can drop repeats), ``webhook-timestamp`` (Unix seconds of this attempt, which receivers
check against replay) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">`` for each signing secret, separated by spaces — during a secret
rotation both the new and the previous secret sign, so a receiver with either verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from cyphera.kit.clock import to_unix


def signature_headers(
    *, message_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed with every secret of `secrets`."""
    if not secrets:
        raise ValueError("a delivery is signed with at least one secret")
    signatures = (Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(to_unix(timestamp)),
        "webhook-signature": " ".join(signatures),
    }
