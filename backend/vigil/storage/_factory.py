"""Choosing the backend from the store URL."""

from sqlalchemy import URL, make_url

from vigil.storage._backend import Backend
from vigil.storage._interface import EventStore
from vigil.storage._postgres import PostgresBackend
from vigil.storage._sql_store import SqlEventStore
from vigil.storage._sqlite import SqliteBackend

SQLITE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite"})
POSTGRES_DRIVERS = frozenset({"postgresql", "postgresql+psycopg", "postgres"})


def backend_for_url(url: str | URL) -> Backend:
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in SQLITE_DRIVERS:
        return SqliteBackend(parsed)
    if parsed.drivername in POSTGRES_DRIVERS:
        return PostgresBackend(parsed)
    raise ValueError(
        f"unsupported store URL scheme {parsed.drivername!r}: use sqlite:///path/to/vigil.db "
        "or postgresql+psycopg://user@host:port/database"
    )


def open_store(url: str | URL) -> EventStore:
    """The store at ``url``; its schema must be current (see ``upgrade``)."""
    return SqlEventStore(backend_for_url(url))
