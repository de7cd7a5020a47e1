"""The hosted checkout's JSON endpoints: prepare, complete, status — for one session only.

Each takes the session's client secret in the ``Cyphera-Checkout-Key`` header, finds the session
by it (`cyphera.checkout.service.find_by_client_secret`), then calls the same services as the REST
API (``/v1/checkout/sessions/{id}/prepare`` and ``/complete``) with that session's workspace and
mode: the secret opens that one session and nothing else. Errors are the API's error shape.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.account_dependencies import SignatureCheckerDep
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import completion, service, update
from cyphera.checkout.schemas import CheckoutSessionComplete, CheckoutSessionPrepare
from cyphera.checkout.terms import erc7715_request, prepared_terms, signing_request, token_of
from cyphera.db.engine import transaction
from cyphera.models import CheckoutSession
from cyphera.payment.dependencies import GatewayDep, RegistryDep, SessionmakerDep
from cyphera.web.checkout import access
from cyphera.web.checkout.view import first_charge_in_words, terms_in_words

router = APIRouter(include_in_schema=False)
PATH = "/pay/{checkout_id}"
KeyHeader = Annotated[str | None, Header(alias=access.KEY_HEADER)]


class Progress(BaseModel):
    status: str
    subscription_status: str | None
    payment_status: str | None
    tx_hash: str | None
    tx_url: str | None
    failure_code: str | None
    success_url: str | None


class PreparedToken(BaseModel):
    symbol: str
    address: str
    decimals: int


class PreparedFirstCharge(BaseModel):
    amount: str = Field(description="Token base units, decimal string.")
    display: str
    is_due_now: bool
    date: str
    sentence: str
    discount: str | None


class Prepared(BaseModel):
    chain_id: int
    network_name: str
    customer_address: str
    eip712: dict[str, Any]
    erc7715: dict[str, Any]
    token: PreparedToken
    first_charge: PreparedFirstCharge
    terms: dict[str, str]


async def progress_of(
    session: AsyncSession, checkout: CheckoutSession, registry: NetworkRegistry
) -> Progress:
    found = await service.progress(session, checkout)
    network = (
        registry.get(checkout.network)
        if checkout.network is not None and checkout.network in registry
        else None
    )
    return Progress(
        status=checkout.status.value,
        subscription_status=None
        if found.subscription_status is None
        else found.subscription_status.value,
        payment_status=None if found.payment_status is None else found.payment_status.value,
        tx_hash=found.tx_hash,
        tx_url=network.explorer_tx_url(found.tx_hash) if network and found.tx_hash else None,
        failure_code=found.failure_code,
        success_url=checkout.success_url,
    )


async def _find(
    request: Request, session: AsyncSession, checkout_id: str, key: str | None
) -> CheckoutSession:
    await access.limit(request, checkout_id)
    return await service.find_by_client_secret(
        session,
        checkout_id=checkout_id,
        client_secret=access.key_of(key),
        secret=access.hosted_key(request),
    )


@router.post(PATH + "/prepare")
async def prepare(
    checkout_id: str,
    body: CheckoutSessionPrepare,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    gateway: GatewayDep,
    key: KeyHeader = None,
) -> Prepared:
    checkout = await _find(request, session, checkout_id, key)
    settings = request.app.state.settings
    checkout = await completion.prepare_session(
        session,
        workspace_id=checkout.workspace_id,
        mode=checkout.mode,
        checkout_id=checkout.id,
        customer_address=body.customer_address,
        network_key=body.network,
        token_symbol=body.token,
        registry=registry,
        gateway=gateway,
        clock=clock,
        permission_lifetime=timedelta(days=settings.billing.permission_lifetime_days),
    )
    terms = prepared_terms(checkout)
    words = terms_in_words(terms, registry)
    token = token_of(registry.get(terms.network), terms.token_symbol)
    charge = first_charge_in_words(await update.charge_shown(session, checkout, clock), token)
    return Prepared(
        chain_id=terms.chain_id,
        network_name=words.network,
        customer_address=terms.customer_address,
        eip712=signing_request(terms),
        erc7715=erc7715_request(checkout, terms),
        token=PreparedToken(symbol=token.symbol, address=token.address, decimals=token.decimals),
        first_charge=PreparedFirstCharge(
            amount=charge.amount,
            display=charge.display,
            is_due_now=charge.is_due_now,
            date=charge.date,
            sentence=charge.sentence,
            discount=charge.discount,
        ),
        terms={
            "sentence": words.sentence,
            "amount": words.amount,
            "every": words.every,
            "payee": words.payee,
            "starts": words.starts,
            "until": words.until,
            "network": words.network,
        },
    )


@router.post(PATH + "/complete")
async def complete(
    checkout_id: str,
    body: CheckoutSessionComplete,
    request: Request,
    clock: ClockDep,
    registry: RegistryDep,
    gateway: GatewayDep,
    sessionmaker: SessionmakerDep,
    checker: SignatureCheckerDep,
    key: KeyHeader = None,
) -> Progress:
    async with transaction(sessionmaker) as session:
        checkout = await _find(request, session, checkout_id, key)
        completed = await completion.complete_session(
            session,
            workspace_id=checkout.workspace_id,
            mode=checkout.mode,
            checkout_id=checkout.id,
            signature=bytes.fromhex(body.signature.removeprefix("0x")) if body.signature else None,
            grant=None if body.grant is None else body.grant.model_dump(exclude_none=True),
            registry=registry,
            checker=checker,
            clock=clock,
        )
    await completion.collect_first_charge(
        sessionmaker, completed, registry=registry, gateway=gateway, clock=clock
    )
    async with sessionmaker() as session:
        checkout = await service.find_by_client_secret(
            session,
            checkout_id=checkout_id,
            client_secret=access.key_of(key),
            secret=access.hosted_key(request),
        )
        return await progress_of(session, checkout, registry)


@router.get(PATH + "/status")
async def status(
    checkout_id: str,
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    key: KeyHeader = None,
) -> Progress:
    checkout = await _find(request, session, checkout_id, key)
    return await progress_of(session, checkout, registry)
