"""The merchant dashboard's pages: sign in, the home figures, subscriptions and their actions.

Every page under ``/dashboard/{workspace}/{mode}`` resolves the signed-in member in that
workspace first (`access.acting`); reading needs a membership, changing anything
``manage_billing`` (admins and owners): others never see the buttons, and are refused if they
post anyway. Pages read through the services the REST API uses; forms post with the CSRF token
and redirect back (303). Money-moving actions (cancel now) show what they will do first.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.analytics import service as analytics
from cyphera.auth.account_repository import MemberRepository
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.sessions import revoke_session
from cyphera.event.service import of_object
from cyphera.exceptions import AppError, InvalidRequest, NotFound, Unauthenticated
from cyphera.kit.clock import to_unix
from cyphera.kit.money import format_cents
from cyphera.kit.pagination import PageRequest
from cyphera.models.subscription import Subscription, SubscriptionStatus
from cyphera.payment.dependencies import RegistryDep
from cyphera.subscription import actions, listing
from cyphera.subscription.service import get_subscription
from cyphera.testclock import clock as test_clocks
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.charts import HEIGHT, WIDTH, daily_bars
from cyphera.web.dashboard.deps import ActingDep, ChangingDep
from cyphera.web.dashboard.frame import frame, pages_of, sign_in

router = APIRouter(include_in_schema=False)
HOME = access.PATH
WS = HOME + "/{workspace_id}/{mode}"
WINDOW_DAYS = 30
PAGE_SIZE = 25
CsrfField = Annotated[str | None, Form(alias="csrf_token")]
S = SubscriptionStatus
CANCELABLE = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED, S.UNPAID, S.INCOMPLETE})
PAUSABLE = frozenset({S.ACTIVE, S.PAST_DUE})


@router.get(HOME, response_class=HTMLResponse)
async def dashboard_entry(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    try:
        account = await access.account_of(request, session, clock)
    except Unauthenticated:
        return sign_in(request)
    memberships, _ = await MemberRepository(session).workspaces_page(
        account.account_id, page=PageRequest(limit=1)
    )
    if not memberships:
        return pages_of(request).render("dashboard/no_workspace.html", {})
    workspace, _ = memberships[0]
    return RedirectResponse(f"{HOME}/{workspace.id}/test", status_code=303)


@router.get(HOME + "/switch")
async def switch_workspace(workspace: str = "", mode: str = "test") -> Response:
    """The switcher's GET form (works without JS); the target page checks the membership."""
    target = f"{HOME}/{workspace}/{mode}" if workspace else HOME
    return RedirectResponse(target, status_code=303)


@router.get(WS, response_class=HTMLResponse)
async def dashboard_home(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
) -> Response:
    # The last WINDOW_DAYS days, today included: up to the start of tomorrow (UTC).
    until = datetime.combine(clock.now().date() + timedelta(days=1), time(), tzinfo=UTC)
    since = until - timedelta(days=WINDOW_DAYS)
    scope = acting.scope
    revenue = await analytics.revenue_by_day(session, scope=scope, since=since, until=until)
    movement = await analytics.movement(session, scope=scope, since=since, until=until)
    counts = await analytics.subscription_counts(session, scope=scope)
    outcomes = await analytics.payment_outcomes(session, scope=scope, since=since, until=until)
    by_token: dict[tuple[str, str], int] = {}
    for row in revenue:
        network = registry.get(row.network) if row.network in registry else None
        token = network.token_by_address(row.token_address) if network else None
        key = (
            network.name if network else row.network,
            token.symbol if token else row.token_address,
        )
        by_token[key] = by_token.get(key, 0) + row.amount_cents
    context = await frame(request, session, acting, "home")
    context |= {
        "mrr": format_cents(await analytics.mrr_cents(session, scope=scope)),
        "new_mrr": format_cents(movement.new_cents),
        "churned_mrr": format_cents(movement.churned_cents),
        "expansion_mrr": format_cents(movement.expansion_cents),
        "contraction_mrr": format_cents(movement.contraction_cents),
        "counts": counts,
        "outcomes": outcomes,
        "bars": daily_bars(revenue, first=since.date(), days=WINDOW_DAYS),
        "chart": {"width": WIDTH, "height": HEIGHT},
        "revenue_total": format_cents(sum(r.amount_cents for r in revenue)),
        "by_token": [
            {"network": n, "token": t, "amount": format_cents(c)}
            for (n, t), c in sorted(by_token.items())
        ],
        "window_days": WINDOW_DAYS,
    }
    return pages_of(request).render("dashboard/home.html", context)


@router.get(WS + "/subscriptions", response_class=HTMLResponse)
async def dashboard_subscriptions(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    status: str = "",
    q: str = "",
    starting_after: str | None = None,
) -> Response:
    try:
        chosen = SubscriptionStatus(status) if status else None
    except ValueError:
        raise NotFound(f"No such status: {status!r}") from None
    found = await listing.page_of(
        session,
        scope=acting.scope,
        page=PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
        status=chosen,
        search=q[:100] or None,
    )
    rows = [
        {
            "id": r.subscription.id,
            "customer": r.customer.address,
            "product": r.product.name,
            "price": words.price_of(r.price, r.subscription.quantity),
            "status": r.subscription.status.value,
            "created": words.date(r.subscription.created_at),
        }
        for r in found.rows
    ]
    context = await frame(request, session, acting, "subscriptions")
    context |= {
        "rows": rows,
        "has_more": found.has_more,
        "next": rows[-1]["id"] if rows and found.has_more else None,
        "status": status,
        "q": q,
        "statuses": [s.value for s in SubscriptionStatus],
    }
    return pages_of(request).render("dashboard/subscriptions.html", context)


@router.get(WS + "/subscriptions/{subscription_id}", response_class=HTMLResponse)
async def dashboard_subscription(
    acting: ActingDep,
    subscription_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    confirm: str = "",
    done: str = "",
) -> Response:
    subscription = await get_subscription(
        session, scope=acting.scope, subscription_id=subscription_id
    )
    subscription_clock = await test_clocks.clock_for_subscription(
        session, acting.scope, subscription_id, clock
    )
    resume_charges, resume_refused = None, None
    if subscription.status is S.PAUSED and confirm == "resume":
        resume_charges, resume_refused = await _resume_preview(
            session, subscription, now=subscription_clock.now()
        )
    events = await of_object(session, scope=acting.scope, object_id=subscription.id)
    context = await frame(request, session, acting, "subscriptions")
    context |= {
        "sub": subscription,
        "status": subscription.status.value,
        "period_end": words.date(subscription.current_period_end),
        "events": [{"type": e.type, "at": words.moment(e.created_at)} for e in events],
        "cancelable": subscription.status in CANCELABLE,
        "pausable": subscription.status in PAUSABLE and not subscription.cancel_at_period_end,
        "paused": subscription.status is S.PAUSED,
        "resume_charges": resume_charges,
        "resume_refused": resume_refused,
        "resumes_on": words.date(subscription.resumes_at) if subscription.resumes_at else None,
        "confirm": confirm if confirm in ("now", "period_end", "pause", "resume") else "",
        "done": done,
    }
    return pages_of(request).render("dashboard/subscription.html", context)


@router.post(WS + "/subscriptions/{subscription_id}/cancel")
async def dashboard_cancel(
    acting: ChangingDep,
    subscription_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    when: Annotated[str, Form()] = "period_end",
) -> Response:
    await actions.cancel(
        session,
        scope=acting.scope,
        subscription_id=subscription_id,
        # At the subscription's own time: its test clock's, if it has one (as the API does).
        clock=await test_clocks.clock_for_subscription(
            session, acting.scope, subscription_id, clock
        ),
        at_period_end=when != "now",
    )
    done = "canceled" if when == "now" else "cancel_at_period_end"
    return RedirectResponse(
        f"{acting.base}/subscriptions/{subscription_id}?done={done}", status_code=303
    )


@router.post(WS + "/subscriptions/{subscription_id}/pause")
async def dashboard_pause(
    acting: ChangingDep,
    subscription_id: str,
    session: SessionDep,
    clock: ClockDep,
    resumes_on: Annotated[str, Form()] = "",
) -> Response:
    await actions.pause(
        session,
        scope=acting.scope,
        subscription_id=subscription_id,
        clock=await test_clocks.clock_for_subscription(
            session, acting.scope, subscription_id, clock
        ),
        resumes_at=_day_start(resumes_on),
    )
    return RedirectResponse(
        f"{acting.base}/subscriptions/{subscription_id}?done=paused", status_code=303
    )


@router.post(WS + "/subscriptions/{subscription_id}/resume")
async def dashboard_resume(
    acting: ChangingDep, subscription_id: str, session: SessionDep, clock: ClockDep
) -> Response:
    await actions.resume(
        session,
        scope=acting.scope,
        subscription_id=subscription_id,
        clock=await test_clocks.clock_for_subscription(
            session, acting.scope, subscription_id, clock
        ),
    )
    return RedirectResponse(
        f"{acting.base}/subscriptions/{subscription_id}?done=resumed", status_code=303
    )


async def _resume_preview(
    session: SessionDep, subscription: Subscription, *, now: datetime
) -> tuple[str | None, str | None]:
    """What resuming now would charge at once (None: nothing), or why it cannot resume.

    The resume itself runs in a savepoint that is rolled back: the amount is the invoice the
    server would open (price, quantity, balance, discount), not one worked out again here.
    """
    charged, refused = None, None
    async with session.begin_nested() as savepoint:
        try:
            invoice = await actions.resume_subscription(session, subscription, now=now)
        except AppError as exc:
            refused = exc.message
        else:
            if invoice is not None:
                charged = format_cents(invoice.amount_due, invoice.currency)
        await savepoint.rollback()
    await session.refresh(subscription)
    return charged, refused


def _day_start(day: str) -> int | None:
    """Unix time of the start (UTC) of ``YYYY-MM-DD``, or None for no day."""
    if not day.strip():
        return None
    try:
        return to_unix(datetime.strptime(day.strip(), "%Y-%m-%d").replace(tzinfo=UTC))
    except ValueError:
        raise InvalidRequest(
            "give the day it resumes as YYYY-MM-DD", code="parameter_invalid", param="resumes_on"
        ) from None


@router.post(HOME + "/sign-out")
async def dashboard_sign_out(
    request: Request, session: SessionDep, clock: ClockDep, csrf_token: CsrfField = None
) -> Response:
    try:
        account = await access.account_of(request, session, clock)
    except Unauthenticated:
        account = None
    if account is not None:
        access.check_csrf(request, account.session_id, csrf_token)
        await revoke_session(session, session_id=account.session_id, clock=clock)
    response = RedirectResponse(HOME, status_code=303)
    access.clear_cookie(request, response)
    return response
