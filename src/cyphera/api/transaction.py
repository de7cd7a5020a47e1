"""One database transaction per HTTP request, committed at the edge before the response leaves.

`TransactionMiddleware` opens the request's `AsyncSession` (it connects lazily: a request that
never touches the database never takes a connection) and hands it to endpoints through
`cyphera.auth.dependencies.SessionDep`. When the app has answered, the response is held back:

- a success (status < 400) is committed, then sent. A client never sees a success that did not
  commit, and never reads its own write too early;
- an error response (>= 400) is rolled back: a request that fails changes nothing;
- an exception rolls back (the session closes) and goes on to `RequestContextMiddleware`.

Every successful request that changes something is written to the audit log here, in the same
transaction (`cyphera.auth.audit`). Keyed POSTs (``Idempotency-Key``) are handled here too, in the
same transaction (`cyphera.api.idempotency`), so a stored response and the work it describes
commit together.
Responses are buffered whole, which suits a JSON API; a streaming endpoint would need its own path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cyphera.api import idempotency
from cyphera.api.errors import app_error_response
from cyphera.api.middleware import (
    BodyTooLarge,
    body_too_large,
    read_body,
    replay_body,
    request_id_of,
)
from cyphera.auth import audit
from cyphera.auth.dependencies import SESSION_STATE_KEY, bearer_token
from cyphera.auth.service import find_api_key_id
from cyphera.auth.sessions import find_session_account_id, is_session_token
from cyphera.exceptions import AppError
from cyphera.kit.clock import Clock

IDEMPOTENCY_HEADER = "Idempotency-Key"


class TransactionMiddleware:
    def __init__(self, app: ASGIApp, *, state: Any) -> None:
        # `state` is the app's `State`: the sessionmaker and clock are put there at start-up.
        self.app = app
        self.state = state
        self._sealer = idempotency.ResponseSealer(state.settings.encryption_key.get_secret_value())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sessionmaker: async_sessionmaker[AsyncSession] = self.state.sessionmaker
        async with sessionmaker() as session:
            state = scope.setdefault("state", {})
            state[SESSION_STATE_KEY] = session
            try:
                await self._run(session, scope, receive, send)
            finally:
                state.pop(SESSION_STATE_KEY, None)

    async def _run(self, session: AsyncSession, scope: Scope, receive: Receive, send: Send) -> None:
        clock: Clock = self.state.clock
        headers = Headers(scope=scope)
        keyed: idempotency.IdempotentRequest | None = None
        key = headers.get(IDEMPOTENCY_HEADER)
        if scope["method"] == "POST" and key is not None:
            try:
                body = await read_body(receive)
            except BodyTooLarge:
                await body_too_large()(scope, receive, send)
                return
            receive = replay_body(body, receive)
            try:
                keyed, stored = await self._begin(session, scope, headers, key, body, clock)
            except AppError as exc:
                await session.rollback()
                await app_error_response(exc)(scope, receive, send)
                return
            if stored is not None:
                await session.rollback()
                await _replayed(stored)(scope, receive, send)
                return

        response = _BufferedResponse()
        await self.app(scope, receive, response.capture)
        if response.status < 400:
            # Who did it, in the same transaction as what they did (`cyphera.auth.audit`).
            await audit.record_request(
                session,
                state=scope.setdefault("state", {}),
                method=scope["method"],
                route=str(getattr(scope.get("route"), "path", scope["path"])),
                response_body=response.body,
                request_id=request_id_of(scope),
                at=clock.now(),
            )
            if keyed is not None:
                await idempotency.record(
                    session,
                    keyed,
                    status=response.status,
                    body=response.body,
                    request_id=request_id_of(scope),
                    now=clock.now(),
                    sealer=self._sealer,
                )
            await session.commit()
        else:
            await session.rollback()
        await response.send(send)

    async def _begin(
        self,
        session: AsyncSession,
        scope: Scope,
        headers: Headers,
        key: str,
        body: bytes,
        clock: Clock,
    ) -> tuple[idempotency.IdempotentRequest | None, idempotency.StoredResponse | None]:
        try:
            secret = bearer_token(headers.get("authorization"))
        except AppError:
            secret = None
        principal_id = await _principal(session, secret, now=clock.now())
        if principal_id is None:
            # Not authenticated: the endpoint's authentication answers 401; nothing to remember.
            return None, None
        query = scope.get("query_string", b"").decode("latin-1")
        keyed = idempotency.idempotent_request(
            principal_id=principal_id,
            key=key,
            method=scope["method"],
            path=scope["path"] + (f"?{query}" if query else ""),
            body=body,
            content_type=headers.get("content-type"),
        )
        return keyed, await idempotency.begin(session, keyed, now=clock.now(), sealer=self._sealer)


async def _principal(session: AsyncSession, secret: str | None, *, now: datetime) -> str | None:
    """Whose idempotency keys a request uses: its API key's, or its signed-in account's."""
    if secret is not None and is_session_token(secret):
        return await find_session_account_id(session, token=secret, now=now)
    return await find_api_key_id(session, secret=secret)


class _BufferedResponse:
    """Holds the app's response until the transaction is settled."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    @property
    def status(self) -> int:
        return int(self.start["status"]) if self.start is not None else 500

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    async def send(self, send: Send) -> None:
        if self.start is None:
            raise RuntimeError("the app finished without starting a response")
        await send(self.start)
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def _replayed(stored: idempotency.StoredResponse) -> Response:
    return Response(
        content=stored.body,
        status_code=stored.status,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true", "Original-Request": stored.request_id},
    )
