from __future__ import annotations

import psycopg
from alembic import command
from alembic.script import ScriptDirectory

from cyphera.db.cluster import LocalCluster
from cyphera.db.migrate import alembic_config


def test_migrations_have_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql+psycopg://unused/unused"))
    assert len(script.get_heads()) == 1


def test_migrations_downgrade_to_base_and_back(pg_cluster: LocalCluster) -> None:
    pg_cluster.ensure_database("roundtrip")
    url = pg_cluster.url("roundtrip", driver="psycopg")
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    with psycopg.connect(pg_cluster.url("roundtrip")) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        ).fetchall()
        types = conn.execute(
            "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND (t.typtype = 'e' OR "
            "(SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')"
        ).fetchall()
    assert tables == []
    assert types == []
    command.upgrade(config, "head")
    pg_cluster.drop_database("roundtrip")


async def test_template_has_every_table(database_url: str) -> None:
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert {"workspaces", "api_keys", "prices", "subscriptions", "invoices", "payments"} <= tables
    assert "procrastinate_jobs" in tables


def test_models_match_migrations(database_url: str) -> None:
    """The ORM and the migrations describe the same schema (no forgotten migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    import cyphera.models  # noqa: F401 - registers the tables
    from cyphera.db.base import Base

    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": lambda obj, name, *_: (
                    not (name or "").startswith(("procrastinate", "idx_procrastinate"))
                )
            },
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []
