"""Logging of every process, configured once by its entry point: JSON lines, secrets redacted.

`configure_logging` routes structlog and the standard library (uvicorn, procrastinate, grpc,
SQLAlchemy) through one `structlog.stdlib.ProcessorFormatter` on the root logger, so every line
is rendered the same way and passes the same `Redactor`:

- outside development, one JSON object per line (``timestamp``, ``level``, ``logger``, ``event``,
  the fields, ``request_id`` within a request, ``exception`` as structured frames); in
  development, structlog's console format;
- tracebacks *without local variables*. Issue #17: with no configuration, structlog rendered
  each unhandled error with Rich, locals included: about 1 MB of text rendered synchronously on
  the event loop (seconds during which the API answered nothing), with the request's headers
  (``Authorization: Bearer sk_…``, session tokens) printed in full;
- the formatted line is written by a background thread (`logging.handlers.QueueListener`), so a
  slow or full log pipe never blocks the event loop.

`Redactor` replaces what must never reach a log, wherever it appears (an event field, an
exception message, a SQL statement's parameters, a URL), with ``[REDACTED]``:

- the credentials Cyphera issues, by their shapes: API keys ``sk_test_…``, ``sk_live_…``,
  ``rk_…`` (`cyphera.auth.keys`), session tokens ``sess_…`` (`cyphera.auth.sessions`),
  invitation tokens ``invite_…`` (`cyphera.workspace.team`), webhook signing secrets ``whsec_…``
  (`cyphera.webhook.secrets`), and the token of a hosted invoice page's URL
  (``/invoices/in_…/<token>``, `cyphera.invoice.page`) and of a hosted checkout page
  (``/pay/cs_…?key=<secret>``, `cyphera.web.checkout`); the prefix is kept, so a line still says
  which kind of credential was there;
- any ``Bearer`` credential, and the values of the ``Authorization``, ``Cookie`` and
  ``Idempotency-Key`` headers however they are printed (``name: value``, a dict, raw ASGI
  header pairs), and event fields so named;
- 32-byte hex strings (``0x`` + 64 hex digits, or 64 bare): private keys, and the SHA-256 hashes
  API keys and sessions are stored under. One labelled as a hash (``tx_hash=0x…``,
  ``"block_hash": "0x…"``) is kept: transaction hashes are public and what an operator searches;
- the deployment's own secrets, given as values (`secret_values` collects every `SecretStr` of
  the settings: the signer token, the encryption key, the database password, relayer keys).
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import structlog
from pydantic import BaseModel, SecretStr
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8
"""Shorter configured values are not redacted as literals: they would blank ordinary words."""
# Libraries that log request URLs at INFO: RPC URLs often carry a provider's API key.
QUIET_LOGGERS = ("httpx", "httpcore", "grpc")

_CREDENTIALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"((?:sk|rk)_(?:test|live)_)[A-Za-z0-9]+"), rf"\1{REDACTED}"),
    (re.compile(r"(sess_)[A-Za-z0-9]+"), rf"\1{REDACTED}"),
    (re.compile(r"(invite_)[A-Za-z0-9]+"), rf"\1{REDACTED}"),
    (re.compile(r"(whsec_)[A-Za-z0-9_\-+/]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/invoices/[A-Za-z0-9_]+/)[A-Za-z0-9_\-]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/pay/cs_[A-Za-z0-9]+\?key=)[A-Za-z0-9_\-]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(\bbearer\s+)[^\s'\",;]+"), rf"\1{REDACTED}"),
    # A header's value after its name, as "Name: value", "'name': 'value'" or (b'name', b'value').
    (
        re.compile(
            r"(?i)(\b(?:proxy-)?authorization|\b(?:set-)?cookie|\bidempotency-key)"
            r"(['\"]?\s*[:=,]\s*(?-i:b)?['\"]?)[^'\"\r\n]+"
        ),
        rf"\1\2{REDACTED}",
    ),
)
_HEX_32_BYTES = re.compile(
    r"(?i)((?:hash|digest)['\"]?\s*[=:]\s*['\"]?)?(?<![0-9a-z])(?:0x)?[0-9a-f]{64}(?![0-9a-z])"
)
_SECRET_FIELDS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "idempotency_key",
        "password",
        "secret",
        "client_secret",
        "token",
        "private_key",
        "api_key",
    }
)
_HASH_FIELD = re.compile(r"(?i)(?:hash|digest)$")


def _keep_hashes(match: re.Match[str]) -> str:
    return match.group(0) if match.group(1) is not None else REDACTED


class Redactor:
    """Removes credentials and configured secret values from text and from log events."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        literals = sorted(
            {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )
        self._literals = re.compile("|".join(re.escape(s) for s in literals)) if literals else None

    def text(self, value: str, *, is_hash: bool = False) -> str:
        """`value` with every secret replaced; `is_hash`: a field named as a hash keeps its hex."""
        if self._literals is not None:
            value = self._literals.sub(REDACTED, value)
        for pattern, replacement in _CREDENTIALS:
            value = pattern.sub(replacement, value)
        if not is_hash:
            value = _HEX_32_BYTES.sub(_keep_hashes, value)
        return value

    def value(self, value: Any, *, key: str = "") -> Any:
        """A log field's value, redacted; anything but plain data is rendered to text first."""
        if key.replace("-", "_").lower() in _SECRET_FIELDS and value is not None:
            return REDACTED
        if isinstance(value, str):
            return self.text(value, is_hash=bool(_HASH_FIELD.search(key)))
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {str(k): self.value(v, key=str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v, key=key) for v in value]
        return self.text(repr(value))

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        """The structlog processor: every field of the event, redacted."""
        return {key: self.value(value, key=key) for key, value in event_dict.items()}


def secret_values(*settings: BaseModel) -> list[str]:
    """Every `SecretStr` in `settings` (nested sections and lists included), and the password of
    any that is a URL, for `Redactor`."""
    found: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.append(secret)
            try:
                password = urlsplit(secret).password
            except ValueError:
                password = None
            if password:
                found.append(password)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                visit(getattr(value, name))
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)

    for model in settings:
        visit(model)
    return found


def shared_processors() -> list[Processor]:
    """What structlog events and standard-library records both get before formatting."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def build_formatter(*, console: bool, redactor: Redactor) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every line: exception without locals, then redaction, then rendering."""
    if console:
        exception: Processor = structlog.processors.format_exc_info
        renderer: Processor = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    else:
        exception = structlog.processors.ExceptionRenderer(
            ExceptionDictTransformer(show_locals=False, use_rich=False)
        )
        renderer = structlog.processors.JSONRenderer()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *shared_processors(),
            # The fields other libraries attach (procrastinate's whole job dict on every job
            # line) serve JSON consumers; on a developer's terminal they bury the messages.
            *([] if console else [structlog.stdlib.ExtraAdder()]),
            _drop_console_copies,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            exception,
            redactor,
            renderer,
        ],
    )


def _drop_console_copies(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    # uvicorn passes its message again, with terminal colours, as an `extra`.
    event_dict.pop("color_message", None)
    return event_dict


_listener: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


def configure_logging(*, level: str, console: bool, secrets: Iterable[str] = ()) -> None:
    """Route structlog and standard logging to stderr through one redacting formatter.

    Call once per process, from its entry point; a second call replaces the first.
    """
    global _listener
    _stop_listener()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    # Formatting (and redaction) happens in the caller: records then hold only a string, no
    # traceback or frames. Writing happens on the listener's thread.
    handler = logging.handlers.QueueHandler(records)
    handler.setFormatter(build_formatter(console=console, redactor=Redactor(secrets)))
    output = logging.StreamHandler(sys.stderr)
    _listener = logging.handlers.QueueListener(records, output)
    _listener.start()
    atexit.unregister(_stop_listener)
    atexit.register(_stop_listener)  # what is still queued is written before the process ends

    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
