"""Test clocks: test-mode subscriptions that live at a clock's time and move when it is advanced.

A clock is created at a ``frozen_time`` (not in the past). A checkout session created with
``test_clock`` computes its terms at that time and attaches the subscription it creates. From then
on the regular periodic steps ignore that subscription (`cyphera.subscription.billing.on_clock`);
only advancing the clock moves it.

Advancing (`request_advance`) sets ``advancing`` and enqueues the ``test_clock.advance`` job in the
request's transaction. The job (`advance`) walks forward one instant at a time — the earliest of
the attached subscriptions' next due times (period end, trial-end notice, dunning retry, automatic
resume, incomplete expiry) up to the target — and at each instant: sets ``frozen_time``, moves the
local chain's time there (`cyphera.testclock.chain_time`), runs the same periodic steps as the
worker restricted to this clock, and collects the payments they created at that instant. Each
instant commits on its own, so a crashed job resumes from ``frozen_time``; at the target the clock
is ``ready`` again. More than `MAX_STEPS` instants, or an unexpected error, leaves it in
``internal_failure`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.resources import list_scoped
from cyphera.auth.scope import Scope
from cyphera.chain.errors import NetworkNotFound
from cyphera.chain.networks import NetworkRegistry
from cyphera.db.engine import transaction
from cyphera.db.jobs import defer
from cyphera.event import service as events
from cyphera.exceptions import Unavailable
from cyphera.kit.clock import Clock, FrozenClock
from cyphera.kit.ids import new_id
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models import Invoice, Payment, Permission, Subscription, TestClock
from cyphera.models.mixins import Mode
from cyphera.models.payment import IN_FLIGHT
from cyphera.models.subscription import SubscriptionStatus
from cyphera.models.test_clock import TestClockStatus
from cyphera.payment.gateway import ChargeGateway
from cyphera.subscription import actions, billing, lifecycle, scheduler
from cyphera.testclock import chain_time, errors
from cyphera.testclock.clock import get_test_clock
from cyphera.testclock.schemas import TestClock as TestClockBody

ADVANCE_TASK = "test_clock.advance"
MAX_ADVANCE = timedelta(days=3 * 365 + 1)  # one call moves a clock at most about 3 years
CREATE_SKEW = timedelta(minutes=5)  # how far behind the platform's clock a new clock may start
MAX_STEPS = 1000  # instants one advance may visit before it gives up (internal_failure)

S = SubscriptionStatus
NOTICE = 1  # the index of the trial-end notice among `next_instant`'s candidates
log = structlog.get_logger(__name__)


async def _record(session: AsyncSession, test_clock: TestClock, kind: str) -> None:
    await events.record(
        session,
        workspace_id=test_clock.workspace_id,
        mode=test_clock.mode,
        type=kind,
        object_id=test_clock.id,
        data=TestClockBody.from_model(test_clock).model_dump(mode="json"),
    )


async def create(
    session: AsyncSession,
    *,
    scope: Scope,
    frozen_time: datetime,
    name: str | None,
    metadata: dict[str, str] | None,
    clock: Clock,
) -> TestClock:
    if scope.mode is not Mode.TEST:
        raise errors.TestClockLiveMode("test clocks exist in test mode only")
    now = clock.now()
    if frozen_time < now - CREATE_SKEW:
        raise errors.FrozenTimeInvalid(
            "frozen_time is in the past: a permission's on-chain windows start at its start date "
            "and a chain's time only moves forward",
            param="frozen_time",
        )
    if frozen_time > now + MAX_ADVANCE:
        raise errors.FrozenTimeInvalid(
            "frozen_time is more than 3 years ahead", param="frozen_time"
        )
    test_clock = TestClock(
        id=new_id("clock"),
        **scope.tenant_columns(),
        created_at=now,
        updated_at=now,
        name=name,
        frozen_time=frozen_time,
        status=TestClockStatus.READY,
        metadata_=dict(metadata or {}),
    )
    session.add(test_clock)
    await session.flush()
    await _record(session, test_clock, "test_clock.created")
    return test_clock


async def get(session: AsyncSession, *, scope: Scope, test_clock_id: str) -> TestClock:
    return await get_test_clock(session, scope, test_clock_id)


async def list_clocks(session: AsyncSession, *, scope: Scope, page: PageRequest) -> Page[TestClock]:
    return await list_scoped(session, TestClock, scope, page, TestClock.deleted_at.is_(None))


async def delete(
    session: AsyncSession, *, scope: Scope, test_clock_id: str, clock: Clock
) -> TestClock:
    """Delete the clock: its subscriptions are canceled now (the normal cancel), at its time."""
    test_clock = await get_test_clock(session, scope, test_clock_id, for_update=True)
    at = FrozenClock(test_clock.frozen_time)
    attached = (
        await session.scalars(
            select(Subscription.id)
            .where(
                Subscription.test_clock_id == test_clock.id,
                Subscription.status.notin_(lifecycle.TERMINAL),
            )
            .order_by(Subscription.id)
        )
    ).all()
    for subscription_id in attached:
        await actions.cancel(session, scope=scope, subscription_id=subscription_id, clock=at)
    test_clock.deleted_at = clock.now()
    test_clock.updated_at = clock.now()
    await _record(session, test_clock, "test_clock.deleted")
    return test_clock


async def request_advance(
    session: AsyncSession, *, scope: Scope, test_clock_id: str, to: datetime, clock: Clock
) -> TestClock:
    """Start moving the clock to `to`: ``advancing`` now, the job does the walk."""
    test_clock = await get_test_clock(session, scope, test_clock_id, for_update=True)
    if test_clock.status is not TestClockStatus.READY:
        raise errors.TestClockNotReady(
            f"the test clock is {test_clock.status.value}; it can be advanced when ready"
        )
    if to <= test_clock.frozen_time:
        raise errors.FrozenTimeInvalid(
            "frozen_time must be later than the clock's current time", param="frozen_time"
        )
    if to > test_clock.frozen_time + MAX_ADVANCE:
        raise errors.FrozenTimeInvalid(
            "a test clock moves at most 3 years per advance", param="frozen_time"
        )
    test_clock.status = TestClockStatus.ADVANCING
    test_clock.advance_to = to
    test_clock.failure_reason = None
    test_clock.updated_at = clock.now()
    await _record(session, test_clock, "test_clock.advancing")
    await defer(
        session,
        ADVANCE_TASK,
        args={"test_clock_id": test_clock.id},
        lock=f"test_clock:{test_clock.id}",
        queueing_lock=f"test_clock:{test_clock.id}",
    )
    return test_clock


# --- the advance job -----------------------------------------------------------------------------


async def next_instant(session: AsyncSession, test_clock: TestClock, target: datetime) -> datetime:
    """The earliest due time of the clock's subscriptions after its time, capped at `target`."""
    now = test_clock.frozen_time
    on_clock = Subscription.test_clock_id == test_clock.id
    candidates = [
        select(func.min(Subscription.current_period_end)).where(
            on_clock, Subscription.status.in_(lifecycle.RENEWABLE)
        ),
        select(func.min(Subscription.trial_end - scheduler.TRIAL_WILL_END_NOTICE)).where(
            on_clock,
            Subscription.status == S.TRIALING,
            Subscription.trial_end_notified_at.is_(None),
        ),
        select(func.min(Subscription.next_payment_attempt_at)).where(
            on_clock, Subscription.status == S.PAST_DUE
        ),
        select(func.min(Subscription.resumes_at)).where(on_clock, Subscription.status == S.PAUSED),
        select(func.min(Subscription.current_period_start + scheduler.INCOMPLETE_LIFETIME)).where(
            on_clock, Subscription.status == S.INCOMPLETE
        ),
    ]
    instant = target
    for index, statement in enumerate(candidates):
        due = (await session.execute(statement)).scalar_one_or_none()
        if due is not None and index == NOTICE and due <= now:
            # A trial shorter than the notice: `trial_will_end` is due at once, before the clock
            # moves past the trial's end (where it would no longer be sent).
            return now
        if due is not None and now < due < instant:
            instant = due
    return instant


async def _networks(
    sessionmaker: async_sessionmaker[AsyncSession], test_clock_id: str, registry: NetworkRegistry
) -> list[str]:
    async with sessionmaker() as session:
        keys = (
            await session.scalars(
                select(Permission.network)
                .join(Subscription, Subscription.permission_id == Permission.id)
                .where(Subscription.test_clock_id == test_clock_id)
                .distinct()
            )
        ).all()
    return [key for key in keys if key in registry and registry.get(key).is_local]


async def _payments_due(
    sessionmaker: async_sessionmaker[AsyncSession], test_clock_id: str
) -> Sequence[str]:
    async with sessionmaker() as session:
        return (
            await session.scalars(
                select(Payment.id)
                .join(Invoice, Invoice.id == Payment.invoice_id)
                .join(Subscription, Subscription.id == Invoice.subscription_id)
                .where(Subscription.test_clock_id == test_clock_id, Payment.status.in_(IN_FLIGHT))
                .order_by(Payment.created_at, Payment.id)
            )
        ).all()


async def run_steps(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    test_clock_id: str,
    clock: Clock,
    gateway: ChargeGateway,
) -> None:
    """The worker's periodic steps for this clock's subscriptions at `clock`'s time, then the
    collection of what they left to collect (in creation order)."""
    for step in scheduler.PERIODIC_STEPS.values():  # every step the worker runs each minute
        await step(sessionmaker, clock=clock, test_clock_id=test_clock_id)
    await billing.renew_due(sessionmaker, clock=clock, test_clock_id=test_clock_id)
    for payment_id in await _payments_due(sessionmaker, test_clock_id):
        await billing.collect(sessionmaker, payment_id=payment_id, gateway=gateway, clock=clock)


async def advance(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    test_clock_id: str,
    gateway: ChargeGateway,
    registry: NetworkRegistry | None,
    max_steps: int = MAX_STEPS,
) -> TestClockStatus | None:
    """Walk the clock to its target (the ``test_clock.advance`` job). Re-runnable: it resumes
    from ``frozen_time``, and does nothing unless the clock is advancing."""
    try:
        for _ in range(max_steps):
            async with transaction(sessionmaker) as session:
                test_clock = await session.get(TestClock, test_clock_id, with_for_update=True)
                if (
                    test_clock is None
                    or test_clock.deleted_at is not None
                    or test_clock.status is not TestClockStatus.ADVANCING
                    or test_clock.advance_to is None
                ):
                    log.info("test_clock.advance_skipped", test_clock_id=test_clock_id)
                    return None if test_clock is None else test_clock.status
                target = test_clock.advance_to
                if test_clock.frozen_time < target:
                    test_clock.frozen_time = await next_instant(session, test_clock, target)
                instant = test_clock.frozen_time
            if registry is not None:
                for key in await _networks(sessionmaker, test_clock_id, registry):
                    await chain_time.move_to(registry.get(key), instant)
            await run_steps(
                sessionmaker,
                test_clock_id=test_clock_id,
                clock=FrozenClock(instant),
                gateway=gateway,
            )
            if instant >= target:
                return await _finish(sessionmaker, test_clock_id, TestClockStatus.READY, None)
        reason = f"more than {max_steps} billing instants in one advance"
    except Unavailable:
        raise  # the signer is briefly unreachable: the job is retried and resumes where it was
    except (chain_time.ChainTimeError, NetworkNotFound) as exc:
        reason = str(exc)[:500]
    except Exception as exc:
        log.exception("test_clock.advance_crashed", test_clock_id=test_clock_id)
        reason = f"unexpected error: {type(exc).__name__}: {exc}"[:500]
    log.error("test_clock.advance_failed", test_clock_id=test_clock_id, reason=reason)
    return await _finish(sessionmaker, test_clock_id, TestClockStatus.INTERNAL_FAILURE, reason)


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    test_clock_id: str,
    status: TestClockStatus,
    reason: str | None,
) -> TestClockStatus:
    async with transaction(sessionmaker) as session:
        test_clock = await session.get_one(TestClock, test_clock_id, with_for_update=True)
        test_clock.status = status
        test_clock.failure_reason = reason
        test_clock.advance_to = None
        await _record(
            session,
            test_clock,
            "test_clock.ready"
            if status is TestClockStatus.READY
            else "test_clock.internal_failure",
        )
    return status
