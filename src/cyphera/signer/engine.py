"""The signer's background loop: resume at start-up, then process and track every served chain.

`SignerEngine.start` first runs one full pass (everything persisted as ``signed`` or in flight is
re-sent or followed, so a crash loses nothing), then loops: a pass per served chain, then a sleep
of ``poll_interval`` unless `wake` is called (a new charge arrived). Waiters (`wait_for_pass`) are
released after every pass, so RedeemCharges can answer as soon as its charges settle without
polling the database in a tight loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from cyphera.exceptions import AppError
from cyphera.signer.chains import ChainRuntime
from cyphera.signer.processor import ChargeProcessor
from cyphera.signer.tracker import Tracker

log = logging.getLogger(__name__)


class SignerEngine:
    """Runs `ChargeProcessor` and `Tracker` for every served chain, one pass at a time."""

    def __init__(
        self,
        chains: Mapping[int, ChainRuntime],
        processor: ChargeProcessor,
        tracker: Tracker,
        *,
        poll_interval_seconds: float,
    ) -> None:
        self._chains = chains
        self._processor = processor
        self._tracker = tracker
        self._poll_interval = poll_interval_seconds
        self._wake = asyncio.Event()
        self._passed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._last_error: dict[int, str] = {}

    async def start(self) -> None:
        """Resume everything in flight, then run the loop in the background."""
        log.info("signer.resume chains=%s", ",".join(str(c) for c in self._chains))
        await self.run_pass()
        self._task = asyncio.create_task(self._loop(), name="cyphera-signer-engine")

    async def stop(self) -> None:
        """Stop the loop; an interrupted pass leaves only committed, resumable state behind."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Run a pass now instead of at the next poll."""
        self._wake.set()

    async def wait_for_pass(self, at_most_seconds: float) -> None:
        """Return after the next pass completes, or after `at_most_seconds`."""
        async with self._passed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._passed.wait(), at_most_seconds)

    async def run_pass(self) -> None:
        """Track, process, then track again every chain (a chain's failure does not stop the
        others). Processing runs even when tracking could not reach the chain, so pending charges
        learn why they wait; the second track picks up receipts of what was just sent."""
        for chain in self._chains.values():
            complete = True
            try:
                await self._tracker.track(chain)
            except AppError as exc:
                complete = False
                self._log_incomplete(chain, exc)
            try:
                if await self._processor.process(chain):
                    await self._tracker.track(chain)
            except AppError as exc:
                complete = False
                self._log_incomplete(chain, exc)
            if complete and self._last_error.pop(chain.chain_id, None) is not None:
                log.info("signer.pass_recovered chain_id=%s", chain.chain_id)
        async with self._passed:
            self._passed.notify_all()

    def _log_incomplete(self, chain: ChainRuntime, exc: AppError) -> None:
        # An outage fails every pass: say so once per new error, not once per poll interval.
        level = (
            logging.DEBUG
            if self._last_error.get(chain.chain_id) == exc.message
            else logging.WARNING
        )
        self._last_error[chain.chain_id] = exc.message
        log.log(
            level,
            "signer.pass_incomplete chain_id=%s code=%s error=%s",
            chain.chain_id,
            exc.code,
            exc.message,
        )

    async def _loop(self) -> None:
        while True:
            # Cleared before the pass: a wake() during the pass triggers another one at once.
            self._wake.clear()
            try:
                await self.run_pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug or a database outage: log it and keep going; all state is in PostgreSQL.
                log.exception("signer.pass_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
