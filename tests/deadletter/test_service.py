"""What a dead letter keeps of an error: credentials and the deployment's secrets never."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.deadletter import service
from cyphera.kit.clock import FrozenClock
from cyphera.kit.logs import REDACTED, Redactor
from tests.deadletter.helpers import NOW, dead_letters

DATABASE_PASSWORD = "pg-password-of-the-deployment"
API_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"


def _failing() -> None:
    try:
        raise ConnectionError(f"postgresql://cyphera:{DATABASE_PASSWORD}@db/cyphera refused")
    except ConnectionError as exc:
        raise RuntimeError(f"charge refused for key {API_KEY}") from exc


async def test_the_error_and_traceback_are_redacted_as_logs_are(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Given an error whose message and cause carry a key and a configured secret
    try:
        _failing()
    except RuntimeError as exc:
        error = exc

    # When it is captured
    await service.capture(
        sessionmaker,
        service.Failure(
            task_name="payment.collect",
            job_id=41,
            queue="default",
            lock="payment:pay_1",
            queueing_lock="payment:pay_1",
            args={"payment_id": "pay_1"},
            attempts=16,
            periodic=False,
            error=error,
        ),
        clock=FrozenClock(NOW),
        redactor=Redactor([DATABASE_PASSWORD]),
    )

    # Then neither secret is kept; what they were is (the key's kind, the cause's traceback)
    [letter] = await dead_letters(sessionmaker)
    assert letter.error_message == f"charge refused for key sk_live_{REDACTED}"
    for text in (letter.error_message, letter.traceback):
        assert API_KEY not in text
        assert DATABASE_PASSWORD not in text
    assert f"postgresql://cyphera:{REDACTED}@db/cyphera refused" in letter.traceback
    assert letter.error_type == "RuntimeError"
    assert (letter.workspace_id, letter.first_failed_at) == (None, NOW)  # no such payment
