"""Alembic environment: runs migrations on a plain psycopg connection.

The URL is, in order: ``config.attributes["url"]`` (set by `cyphera.db.migrate`), then the
``CYPHERA_DATABASE__URL`` setting (with its development default).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import cyphera.models  # noqa: F401 - registers every table on the metadata
from cyphera.config import Settings
from cyphera.db.base import Base
from cyphera.signer import models as signer_models  # noqa: F401 - registers the signer's tables

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url")
    if url:
        return str(url)
    return Settings().database.sqlalchemy_url()


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # procrastinate's tables come from its own shipped SQL (migration 0002), not from our models.
    return not (name or "").startswith(("procrastinate", "idx_procrastinate"))


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        include_object=include_object,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(
            connection=connectable, target_metadata=target_metadata, include_object=include_object
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, include_object=include_object
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
