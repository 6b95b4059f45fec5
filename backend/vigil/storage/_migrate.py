"""Running the packaged Alembic migrations from code."""

import io
from collections.abc import Callable
from typing import Final, TextIO

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL

from vigil.storage._factory import backend_for_url
from vigil.storage._schema import PG_SCHEMA

SCRIPT_LOCATION: Final = "vigil.storage:migrations"
HEAD: Final = "head"


def alembic_config(*, output: TextIO | None = None) -> Config:
    """An Alembic config pointing at the migrations inside this package."""
    config = Config(output_buffer=output)
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def upgrade(url: str | URL, revision: str = HEAD) -> None:
    """Bring the store at ``url`` to ``revision`` (the latest by default).

    Safe to call at every start: an up-to-date schema is left alone, and concurrent callers
    take turns (an advisory lock on PostgreSQL, the write lock on SQLite).
    """
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str | URL, revision: str) -> None:
    """Take the store at ``url`` back to ``revision`` (``base`` drops everything)."""
    _run(url, lambda config: command.downgrade(config, revision))


def current_revision(url: str | URL) -> str | None:
    """The revision the store at ``url`` is at, ``None`` for an empty database."""
    backend = backend_for_url(url)
    engine = backend.create_engine()
    try:
        with engine.connect() as conn:
            schema = PG_SCHEMA if backend.name == "postgresql" else None
            context = MigrationContext.configure(conn, opts={"version_table_schema": schema})
            return context.get_current_revision()
    finally:
        engine.dispose()


def render_postgres_ddl() -> str:
    """The PostgreSQL DDL of every migration, as Alembic's offline mode writes it."""
    output = io.StringIO()
    config = alembic_config(output=output)
    config.set_main_option("sqlalchemy.url", "postgresql+psycopg://")
    command.upgrade(config, HEAD, sql=True)
    return output.getvalue()


def _run(url: str | URL, operation: Callable[[Config], None]) -> None:
    backend = backend_for_url(url)
    engine = backend.create_engine()
    try:
        with backend.begin_migration(engine) as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            operation(config)
    finally:
        engine.dispose()
