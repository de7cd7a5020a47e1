"""Prometheus exposition shared by the processes (prometheus-client); the metrics themselves are
defined beside what they count, and listed per process in `cyphera.api.metrics`,
`cyphera.worker.metrics` and `cyphera.signer.metrics`.

- `exposition`: the text a scrape gets, from this process's registry or, when
  ``PROMETHEUS_MULTIPROC_DIR`` is set (``cyphera api`` with several uvicorn workers), aggregated
  over every process writing into that directory.
- `multiprocess_directory`: the per-run directory ``cyphera api`` gives its workers, removed when
  they stop. prometheus-client picks its value storage when it is first imported, so the variable
  must be set before the workers start — which is why the CLI sets it, not the app.
- `MetricsServer`: a scrape listener on its own port and thread (worker and signer, which serve no
  HTTP of their own).
- `refresh_periodically`: gauges read from the database or a chain (queue depth, balances) are
  refreshed on a timer in the event loop, never inside a scrape: a scrape runs on the listener's
  thread and must not wait on PostgreSQL or an RPC node.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, start_http_server
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Latency buckets (seconds) for anything a person or a client waits on.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

log = structlog.get_logger(__name__)


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """This process's metrics (or, in multiprocess mode, all processes') as `accept` asks:
    the body and its content type."""
    registry = REGISTRY
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type


@contextmanager
def multiprocess_directory(processes: int) -> Iterator[Path | None]:
    """With more than one process and no ``PROMETHEUS_MULTIPROC_DIR`` set, a fresh directory for
    their metric files, in the environment the processes inherit, removed afterwards. An
    operator's own directory is used as it is (they empty it between runs, as prometheus-client
    requires); one process needs none."""
    if processes <= 1 or os.environ.get(MULTIPROC_ENV):
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="cyphera-metrics-"))
    os.environ[MULTIPROC_ENV] = str(directory)
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class MetricsServer:
    """A running scrape listener (``GET /metrics``, or any path) on its own thread."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @classmethod
    def start(cls, host: str, port: int) -> MetricsServer:
        """Listen on `host`:`port` (0: any free port; `port` then tells which)."""
        server, thread = start_http_server(port, addr=host)
        log.info("metrics.listening", host=host, port=server.server_port)
        return cls(host, int(server.server_port), server, thread)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


async def refresh_periodically(
    name: str, refresh: Callable[[], Awaitable[None]], *, interval_seconds: float
) -> None:
    """Call `refresh` every `interval_seconds` until cancelled; a failing refresh is logged and
    tried again at the next tick (the gauges keep their last values meanwhile)."""
    while True:
        try:
            await refresh()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("metrics.refresh_failed", metrics=name, error=type(exc).__name__)
        await asyncio.sleep(interval_seconds)


class GaugeTable:
    """A labelled gauge set from a whole table of values at once: series absent from the new
    table are removed, so a task, chain or relayer that is gone stops being reported."""

    def __init__(self, gauge: Gauge) -> None:
        self.gauge = gauge
        self._shown: set[tuple[str, ...]] = set()

    def update(self, values: Mapping[tuple[str, ...], float]) -> None:
        for labels, value in values.items():
            self.gauge.labels(*labels).set(value)
        for gone in self._shown - values.keys():
            self.gauge.remove(*gone)
        self._shown = set(values)
