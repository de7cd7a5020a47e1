"""The webhook dispatcher: fans events out, sends due deliveries, retries, gives up, disables.

It runs in every ``cyphera worker`` beside the job queue, polling about once a second. Any number
of workers share the work through PostgreSQL alone:

1. **Claim** (one short transaction): due pending deliveries are locked with ``SKIP LOCKED``;
   for their endpoints (locked in id order) the deliveries already in flight are counted, and at
   most `DeliveryPolicy.per_endpoint` run at once per endpoint — a slow or hanging receiver uses
   its own few slots and never holds up the others. Each claimed delivery gets a lease (the
   attempt's deadline plus a grace period) and a token, and its attempt is counted *before*
   anything is sent, so even an attempt that crashes the process counts towards giving up.
2. **Send** (no transaction open): signed (`signing`) and POSTed (`sender`).
3. **Record** (one transaction): the attempt row; then, if the lease is still this claim's, the
   delivery's new state — succeeded, due again after a backoff, or failed when the next try
   would fall outside its retry window (`DeliveryPolicy.horizon`, about three days like
   Stripe's). A worker that dies between 1 and 3 leaves a lease that runs out; another worker
   sends again with the same ``webhook-id`` (at-least-once, never lost).

An endpoint whose every attempt has failed for longer than the horizon is disabled, with a
``webhook_endpoint.disabled`` event; re-enabling it (``disabled: false``) starts afresh.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import WebhookSettings
from cyphera.db.engine import transaction
from cyphera.event import service as events
from cyphera.event.schemas import Event as EventBody
from cyphera.kit.clock import Clock, to_unix
from cyphera.models import Event, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from cyphera.models.mixins import Mode
from cyphera.models.webhook_delivery import WebhookDeliveryStatus
from cyphera.models.webhook_endpoint import WebhookEndpointStatus
from cyphera.webhook.fanout import fan_out
from cyphera.webhook.secrets import SecretBox, SecretUndecryptable
from cyphera.webhook.sender import Outcome, WebhookSender
from cyphera.webhook.service import signing_secrets
from cyphera.webhook.signing import signature_headers

log = structlog.get_logger(__name__)

_UNDECRYPTABLE = (
    "the endpoint's signing secret does not decrypt with this server's encryption key: "
    "rotate the endpoint's secret, then retry"
)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How deliveries are paced; the defaults are production's (``CYPHERA_WEBHOOKS__*``)."""

    timeout: timedelta = timedelta(seconds=10)
    first_retry: timedelta = timedelta(seconds=10)
    backoff_factor: float = 3.0
    max_delay: timedelta = timedelta(hours=8)
    horizon: timedelta = timedelta(days=3)
    per_endpoint: int = 4
    concurrency: int = 32
    poll_interval: timedelta = timedelta(seconds=1)
    lease_grace: timedelta = timedelta(seconds=30)
    # Test-mode endpoints may reach loopback and private addresses (a developer's own machine);
    # a shared, multi-tenant deployment turns this off.
    allow_local_in_test: bool = True

    @classmethod
    def from_settings(cls, settings: WebhookSettings) -> DeliveryPolicy:
        return cls(
            timeout=timedelta(seconds=settings.timeout_seconds),
            horizon=timedelta(hours=settings.retry_horizon_hours),
            per_endpoint=settings.per_endpoint_concurrency,
            concurrency=settings.concurrency,
            poll_interval=timedelta(seconds=settings.poll_interval_seconds),
            allow_local_in_test=settings.allow_local_in_test,
        )


def next_attempt_at(
    policy: DeliveryPolicy,
    *,
    window_started_at: datetime,
    window_attempts: int,
    now: datetime,
    rng: random.Random,
) -> datetime | None:
    """When to try again after the window's `window_attempts`-th failed attempt, or None: give up.

    The delay grows by `backoff_factor` from `first_retry` up to `max_delay` (10 s, 30 s, 90 s,
    4.5 min, … 8 h with the defaults), of which a random half is taken off ("equal jitter"), so
    deliveries failing together do not come back together.
    """
    exponent = max(window_attempts - 1, 0)
    delay = min(policy.max_delay, policy.first_retry * policy.backoff_factor**exponent)
    jittered = delay / 2 + delay / 2 * rng.random()
    at = now + jittered
    return at if at <= window_started_at + policy.horizon else None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased for one attempt, with everything needed to send it."""

    delivery_id: str
    endpoint_id: str
    lease_token: str
    number: int
    url: str
    mode: Mode
    secrets: tuple[str, ...]
    body: bytes


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        sender: WebhookSender,
        box: SecretBox,
        clock: Clock,
        policy: DeliveryPolicy = DeliveryPolicy(),
        rng: random.Random | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sender = sender
        self._box = box
        self._clock = clock
        self._policy = policy
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    async def run(self) -> None:
        """Dispatch until cancelled; in-flight attempts are cancelled with it (their leases run
        out and another worker sends them again)."""
        running: set[asyncio.Task[Outcome | None]] = set()
        try:
            while True:
                try:
                    await self.fan_out()
                    free = self._policy.concurrency - len(running)
                    for claimed in await self.claim(free) if free > 0 else []:
                        task = asyncio.create_task(self._attempt_logged(claimed))
                        running.add(task)
                        task.add_done_callback(running.discard)
                except Exception:
                    log.exception("webhook.dispatch_failed")
                await asyncio.sleep(self._policy.poll_interval.total_seconds())
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _attempt_logged(self, claimed: Claimed) -> Outcome | None:
        try:
            return await self.attempt(claimed)
        except Exception:
            # Not recorded: the lease runs out and the delivery is sent again (its window still
            # bounds how long, see `claim`).
            log.exception("webhook.attempt_failed", webhook_delivery_id=claimed.delivery_id)
            return None

    async def deliver_due(self) -> int:
        """One pass, waiting for its attempts: fan out, claim what is due, send it. For tests and
        the CLI; how many attempts were made."""
        await self.fan_out()
        claimed = await self.claim(self._policy.concurrency)
        await asyncio.gather(*(self.attempt(c) for c in claimed))
        return len(claimed)

    async def fan_out(self) -> int:
        total = 0
        while True:
            async with transaction(self._sessionmaker) as session:
                taken = await fan_out(session, now=self._clock.now())
            total += taken
            if taken == 0:
                return total

    async def claim(self, limit: int) -> list[Claimed]:
        """Lease up to `limit` due deliveries, at most `per_endpoint` in flight per endpoint."""
        async with transaction(self._sessionmaker) as session:
            now = self._clock.now()
            due = await self._due(session, now=now, limit=limit)
            if not due:
                return []
            endpoints = {
                e.id: e
                for e in await session.scalars(
                    select(WebhookEndpoint)
                    .where(WebhookEndpoint.id.in_({d.endpoint_id for d in due}))
                    .order_by(WebhookEndpoint.id)
                    .with_for_update()
                )
            }
            in_flight = await self._in_flight(session, endpoints=list(endpoints), now=now)
            bodies = await self._bodies(session, [d.event_id for d in due])
            lease_until = now + self._policy.timeout + self._policy.lease_grace
            claimed: list[Claimed] = []
            for delivery in due:
                endpoint = endpoints[delivery.endpoint_id]
                if endpoint.deleted_at is not None or endpoint.status is not (
                    WebhookEndpointStatus.ENABLED
                ):
                    _give_up(delivery, now=now, reason="the endpoint was disabled or deleted")
                    continue
                if (
                    delivery.leased_until is not None  # its last attempt was never recorded
                    and delivery.window_started_at + self._policy.horizon <= now
                ):
                    # Attempts that keep ending unrecorded (a crash each time) stop here.
                    _give_up(delivery, now=now, reason="its retry window ended")
                    continue
                if in_flight[endpoint.id] >= self._policy.per_endpoint:
                    continue
                try:
                    signing = tuple(signing_secrets(endpoint, now=now, box=self._box))
                except SecretUndecryptable:
                    log.error("webhook.secret_undecryptable", webhook_endpoint_id=endpoint.id)
                    _give_up(delivery, now=now, reason=_UNDECRYPTABLE)
                    continue
                in_flight[endpoint.id] += 1
                token = secrets.token_hex(8)
                delivery.leased_until = lease_until
                delivery.lease_token = token
                delivery.attempt_count += 1
                delivery.window_attempts += 1
                delivery.updated_at = now
                claimed.append(
                    Claimed(
                        delivery_id=delivery.id,
                        endpoint_id=endpoint.id,
                        lease_token=token,
                        number=delivery.attempt_count,
                        url=endpoint.url,
                        mode=endpoint.mode,
                        secrets=signing,
                        body=bodies[delivery.event_id],
                    )
                )
            return claimed

    async def _due(
        self, session: AsyncSession, *, now: datetime, limit: int
    ) -> list[WebhookDelivery]:
        saturated = (
            select(WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.leased_until > now)
            .group_by(WebhookDelivery.endpoint_id)
            .having(func.count() >= self._policy.per_endpoint)
        )
        found = await session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until <= now),
                WebhookDelivery.endpoint_id.not_in(saturated),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(found)

    async def _in_flight(
        self, session: AsyncSession, *, endpoints: Sequence[str], now: datetime
    ) -> Counter[str]:
        rows = await session.execute(
            select(WebhookDelivery.endpoint_id, func.count())
            .where(WebhookDelivery.endpoint_id.in_(endpoints), WebhookDelivery.leased_until > now)
            .group_by(WebhookDelivery.endpoint_id)
        )
        return Counter(dict(rows.all()))

    async def _bodies(self, session: AsyncSession, event_ids: Sequence[str]) -> dict[str, bytes]:
        found = await session.scalars(select(Event).where(Event.id.in_(set(event_ids))))
        return {e.id: EventBody.from_model(e).model_dump_json().encode() for e in found}

    async def attempt(self, claimed: Claimed) -> Outcome:
        """Send `claimed` once and record how it went."""
        started_at = self._clock.now()
        headers = signature_headers(
            message_id=claimed.delivery_id,
            timestamp=started_at,
            body=claimed.body,
            secrets=claimed.secrets,
        )
        outcome = await self._sender.post(
            claimed.url,
            claimed.body,
            headers,
            allow_local=claimed.mode is Mode.TEST and self._policy.allow_local_in_test,
        )
        await self._record(claimed, started_at=started_at, outcome=outcome)
        log.info(
            "webhook.attempted",
            webhook_delivery_id=claimed.delivery_id,
            webhook_endpoint_id=claimed.endpoint_id,
            attempt=claimed.number,
            succeeded=outcome.succeeded,
            status=outcome.status,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
        return outcome

    async def _record(self, claimed: Claimed, *, started_at: datetime, outcome: Outcome) -> None:
        async with transaction(self._sessionmaker) as session:
            session.add(
                WebhookDeliveryAttempt(
                    delivery_id=claimed.delivery_id,
                    number=claimed.number,
                    started_at=started_at,
                    duration_ms=outcome.duration_ms,
                    succeeded=outcome.succeeded,
                    response_status=outcome.status,
                    response_body=outcome.body,
                    error=outcome.error,
                )
            )
            delivery = await session.get(WebhookDelivery, claimed.delivery_id, with_for_update=True)
            if delivery is None or delivery.lease_token != claimed.lease_token:
                return  # the lease ran out and another attempt took over: its outcome decides
            endpoint = await session.get(WebhookEndpoint, claimed.endpoint_id, with_for_update=True)
            assert endpoint is not None  # deliveries go with their endpoint (ON DELETE CASCADE)
            now = self._clock.now()
            delivery.leased_until = None
            delivery.lease_token = None
            delivery.last_attempt_at = started_at
            delivery.last_response_status = outcome.status
            delivery.last_error = outcome.error
            delivery.updated_at = now
            if outcome.succeeded:
                delivery.status = WebhookDeliveryStatus.SUCCEEDED
                delivery.succeeded_at = now
                delivery.next_attempt_at = None
                endpoint.failing_since = None
                return
            retry_at = next_attempt_at(
                self._policy,
                window_started_at=delivery.window_started_at,
                window_attempts=delivery.window_attempts,
                now=now,
                rng=self._rng,
            )
            if retry_at is None:
                _give_up(delivery, now=now, reason=outcome.error)
            else:
                delivery.next_attempt_at = retry_at
            if endpoint.failing_since is None:
                endpoint.failing_since = started_at
            elif endpoint.failing_since <= now - self._policy.horizon:
                await _disable(session, endpoint, now=now)


def _give_up(delivery: WebhookDelivery, *, now: datetime, reason: str | None) -> None:
    delivery.status = WebhookDeliveryStatus.FAILED
    delivery.next_attempt_at = None
    delivery.leased_until = None
    delivery.lease_token = None
    delivery.last_error = reason
    delivery.updated_at = now


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, *, now: datetime) -> None:
    if endpoint.status is WebhookEndpointStatus.DISABLED:
        return
    failing_since = endpoint.failing_since
    assert failing_since is not None
    endpoint.status = WebhookEndpointStatus.DISABLED
    endpoint.updated_at = now
    await events.record(
        session,
        workspace_id=endpoint.workspace_id,
        mode=endpoint.mode,
        type="webhook_endpoint.disabled",
        object_id=endpoint.id,
        data={
            "url": endpoint.url,
            "reason": "failing",
            "failing_since": to_unix(failing_since),
        },
    )
    log.warning(
        "webhook_endpoint.disabled",
        webhook_endpoint_id=endpoint.id,
        workspace_id=endpoint.workspace_id,
        failing_since=failing_since.isoformat(),
    )
