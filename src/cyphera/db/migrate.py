"""Apply Alembic migrations from code (dev start-up, tests, the `cyphera db upgrade` command)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from cyphera.config import project_root


def alembic_config(url: str) -> Config:
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` (a SQLAlchemy psycopg URL) to `revision`."""
    command.upgrade(alembic_config(url), revision)
