"""``cyphera listen``: a workspace's events, forwarded to a receiver on the developer's machine.

Like ``stripe listen --forward-to``: it needs no public URL and no endpoint. It reads the
workspace's events through the API with a secret key (``GET /v1/events``, about once a second),
and POSTs each new one to the local URL, signed to the Standard Webhooks spec with a secret it
prints (or the one given, so the receiver's configuration can stay put). Only events written
after it started are forwarded. The ``webhook-id`` is the event's id.

Events are listed newest first; each poll walks back from the newest until it meets a page it
has already seen entirely, so a burst of events between two polls is forwarded whole, oldest
first, and an event committed late (listed behind newer ones) is still caught while it is within
the pages walked.
"""

from __future__ import annotations

import asyncio
import binascii
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from cyphera.kit.clock import Clock
from cyphera.webhook.events import EVENT_TYPES
from cyphera.webhook.secrets import new_signing_secret
from cyphera.webhook.signing import signature_headers

PAGE = 100
REMEMBERED = 10_000


class ListenError(Exception):
    """The API refused or could not be reached; the message says what to do."""


class Listener:
    def __init__(
        self,
        api: httpx.AsyncClient,
        forward: httpx.AsyncClient,
        *,
        forward_to: str,
        secret: str,
        clock: Clock,
        event_types: Iterable[str] = (),
        say: Callable[[str], None] = print,
    ) -> None:
        self._api = api
        self._forward = forward
        self._forward_to = forward_to
        self._secret = secret
        self._clock = clock
        self._types = frozenset(event_types)
        self._say = say
        self._seen: set[str] = set()
        self._order: deque[str] = deque()

    async def start(self) -> None:
        """Remember what already happened (it is not forwarded)."""
        for event in await self._page(None):
            self._remember(event["id"])

    async def poll(self) -> int:
        """Forward the events written since the last poll, oldest first; how many."""
        new: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self._page(cursor)
            unseen = [e for e in page if e["id"] not in self._seen]
            new.extend(unseen)
            if len(page) < PAGE or not unseen:
                break
            cursor = page[-1]["id"]
        for event in reversed(new):
            self._remember(event["id"])
            if not self._types or event["type"] in self._types:
                await self._send(event)
        return len(new)

    async def _page(self, starting_after: str | None) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": PAGE}
        if starting_after is not None:
            params["starting_after"] = starting_after
        try:
            response = await self._api.get("/v1/events", params=params)
        except httpx.HTTPError as exc:
            raise ListenError(
                f"cannot reach the API at {self._api.base_url} ({exc}): is it running? "
                "(`make dev`, or pass --api-url)"
            ) from None
        if response.status_code == 401:
            raise ListenError("the API refused the key: pass a secret key with --api-key")
        if response.status_code != 200:
            raise ListenError(f"the API answered {response.status_code}: {response.text[:200]}")
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def _send(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":")).encode()
        now = self._clock.now()
        self._say(f"{_stamp(now)}   --> {event['type']} [{event['id']}]")
        headers = signature_headers(
            message_id=event["id"], timestamp=now, body=body, secrets=[self._secret]
        )
        try:
            answer = await self._forward.post(
                self._forward_to,
                content=body,
                headers={**headers, "Content-Type": "application/json"},
            )
            status = str(answer.status_code)
        except httpx.HTTPError as exc:
            status = f"ERR: {exc or type(exc).__name__}"
        self._say(
            f"{_stamp(self._clock.now())}  <--  [{status}] POST {self._forward_to} [{event['id']}]"
        )

    def _remember(self, event_id: str) -> None:
        self._seen.add(event_id)
        self._order.append(event_id)
        if len(self._order) > REMEMBERED:
            self._seen.discard(self._order.popleft())


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


async def listen(
    *,
    api_url: str,
    api_key: str,
    forward_to: str,
    secret: str,
    event_types: Iterable[str],
    interval: float,
    clock: Clock,
    say: Callable[[str], None] = print,
) -> None:
    """Forward events until cancelled (Ctrl-C)."""
    async with (
        httpx.AsyncClient(
            base_url=api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10.0
        ) as api,
        httpx.AsyncClient(timeout=10.0, trust_env=False) as forward,
    ):
        listener = Listener(
            api,
            forward,
            forward_to=forward_to,
            secret=secret,
            clock=clock,
            event_types=event_types,
            say=say,
        )
        await listener.start()
        say(f"Ready! Forwarding events to {forward_to} (^C to quit)")
        say(f"Your webhook signing secret is {secret}")
        while True:
            await asyncio.sleep(interval)
            await listener.poll()


@dataclass(frozen=True, slots=True)
class ListenOptions:
    secret: str
    event_types: tuple[str, ...]


def checked_options(*, api_key: str, live: bool, events: str, secret: str | None) -> ListenOptions:
    """The command's options, checked before anything connects (`ListenError` says why not)."""
    if api_key.startswith(("sk_live_", "rk_live_")) and not live:
        raise ListenError("that is a live-mode key: pass --live to forward live events")
    if not api_key.startswith(("sk_", "rk_")):
        raise ListenError("--api-key takes a secret key (sk_test_…)")
    types = tuple(t.strip() for t in events.split(",") if t.strip())
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise ListenError(f"unknown event types {unknown}; see docs/webhooks.md for the list")
    if secret is None:
        return ListenOptions(secret=new_signing_secret(), event_types=types)
    try:
        Webhook(secret)
    except (ValueError, binascii.Error, EmptyWebhookSecretError):
        raise ListenError("--secret is not a signing secret (whsec_ and base64)") from None
    return ListenOptions(secret=secret, event_types=types)
