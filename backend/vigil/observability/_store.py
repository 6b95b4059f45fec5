"""The store behind the library surface: a URL (migrated, then opened and owned) or an open
``EventStore`` (the caller's)."""

from __future__ import annotations

from vigil.storage import EventStore, open_store, upgrade


def ensure_observability_tables(url: str) -> None:
    """Create or bring up to date every table Vigil uses at ``url`` (the packaged Alembic
    migrations; idempotent): on PostgreSQL the ``observability`` schema, on SQLite the file.
    ``sql/ddl/create_observability_schema.sql`` is the same DDL, for review."""
    upgrade(url)


class StoreUser:
    """Holds a store for its methods; ``close`` closes it when it was opened here."""

    def __init__(self, store: str | EventStore) -> None:
        if isinstance(store, str):
            ensure_observability_tables(store)
            self.store = open_store(store)
            self._owned = True
        else:
            self.store = store
            self._owned = False

    def close(self) -> None:
        """Release the store's connections (only if it was opened from a URL here)."""
        if self._owned:
            self.store.close()
