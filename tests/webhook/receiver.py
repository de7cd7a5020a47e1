"""A real HTTP webhook receiver on loopback, whose answers a test sets per path.

`Receiver.behave(path, status=…, delay=…, location=…)` says how ``POST path`` answers; every
request is kept (`received`), and the receiver counts how many were in progress at once per path
(`most_at_once`), so a test can see a per-endpoint limit hold.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response

from tests.fixtures.api import serve


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0
    location: str | None = None
    answer: bytes = b"ok"


@dataclass
class Receiver:
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    most_at_once: Counter[str] = field(default_factory=Counter)
    _behaviours: dict[str, Behaviour] = field(default_factory=lambda: defaultdict(Behaviour))
    _now: Counter[str] = field(default_factory=Counter)
    _lock: threading.Condition = field(
        default_factory=lambda: threading.Condition(threading.RLock())
    )

    def url(self, path: str) -> str:
        return self.base_url + path

    def behave(self, path: str, **changes: object) -> None:
        with self._lock:
            self._behaviours[path] = Behaviour(**changes)  # type: ignore[arg-type]

    def at(self, path: str) -> list[Received]:
        with self._lock:  # re-entrant: `wait_for` calls it holding the lock
            return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int, *, seconds: float) -> int:
        """Wait (in a thread: the server answers in another) until `path` has had `count`
        requests or `seconds` passed; how many it has had."""

        def wait() -> int:
            with self._lock:
                self._lock.wait_for(lambda: len(self.at(path)) >= count, seconds)
                return len(self.at(path))

        return await asyncio.to_thread(wait)

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        body = await request.body()
        with self._lock:
            behaviour = self._behaviours[path]
            self.received.append(Received(path, dict(request.headers), body))
            self._now[path] += 1
            self.most_at_once[path] = max(self.most_at_once[path], self._now[path])
            self._lock.notify_all()
        try:
            await asyncio.sleep(behaviour.delay)
        finally:
            with self._lock:
                self._now[path] -= 1
        headers = {"Location": behaviour.location} if behaviour.location else None
        return Response(behaviour.answer, status_code=behaviour.status, headers=headers)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    app = FastAPI()
    app.add_api_route("/{path:path}", receiver.handle, methods=["POST"])
    with serve(app) as base_url:
        receiver.base_url = base_url
        yield receiver
