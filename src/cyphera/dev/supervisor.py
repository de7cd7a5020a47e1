"""Run child processes side by side with prefixed, coloured output, and stop them all together.

A small supervisor in the spirit of foreman/honcho: each line a child prints is shown as
``api    | …``; when any child exits unexpectedly or Ctrl-C arrives, every child gets SIGTERM, then
SIGKILL after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

_COLOURS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m")
_RESET = "\033[0m"
GRACE_SECONDS = 10.0


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None


class Supervisor:
    def __init__(self, children: Sequence[Child], *, colour: bool | None = None) -> None:
        self.children = list(children)
        self.width = max(len(c.name) for c in self.children)
        self.colour = sys.stdout.isatty() if colour is None else colour
        self._stopping = asyncio.Event()

    def say(self, name: str, line: str, index: int = 0) -> None:
        label = name.ljust(self.width)
        if self.colour:
            label = f"{_COLOURS[index % len(_COLOURS)]}{label}{_RESET}"
        print(f"{label} | {line}", flush=True)  # noqa: T201 - the supervisor's job is to print

    async def _pump(self, child: Child, index: int) -> None:
        assert child.process is not None
        assert child.process.stdout is not None
        async for raw in child.process.stdout:
            self.say(child.name, raw.decode(errors="replace").rstrip(), index)

    async def start(self) -> None:
        for index, child in enumerate(self.children):
            env = {**os.environ, **child.env, "PYTHONUNBUFFERED": "1"}
            child.process = await asyncio.create_subprocess_exec(
                *child.argv,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            asyncio.get_running_loop().create_task(self._pump(child, index))

    def request_stop(self) -> None:
        self._stopping.set()

    async def wait(self) -> int:
        """Until Ctrl-C/SIGTERM or a child exits; returns the exit code to use."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        waits = {asyncio.ensure_future(c.process.wait()): c for c in self.children if c.process}
        stop = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait([*waits, stop], return_when=asyncio.FIRST_COMPLETED)
        code = 0
        for task in done:
            if task in waits:
                child = waits[task]
                code = 1
                self.say("dev", f"{child.name} exited with code {task.result()}; stopping the rest")
        await self.stop()
        stop.cancel()
        return code

    async def stop(self) -> None:
        running = [c for c in self.children if c.process and c.process.returncode is None]
        for child in running:
            assert child.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGTERM)
        for child in running:
            assert child.process is not None
            try:
                await asyncio.wait_for(child.process.wait(), GRACE_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                await child.process.wait()
