"""Vigil's persistence: one ``EventStore`` interface, SQLite and PostgreSQL behind it.

    from vigil.storage import open_store, upgrade

    upgrade("sqlite:///./data/vigil.db")        # run the packaged migrations
    with open_store("sqlite:///./data/vigil.db") as store:
        run = store.create_run(RunCreate(name="triage", agent="support", project_id="p1"))

URLs: ``sqlite:///path/to/file.db`` (the directory is created) or
``postgresql+psycopg://user@host:port/database`` (tables in the ``observability`` schema).
"""

from vigil.storage._backend import STEP_NOTIFY_CHANNEL
from vigil.storage._factory import open_store
from vigil.storage._interface import EventStore, StoredApiKey
from vigil.storage._migrate import current_revision, downgrade, upgrade
from vigil.storage.errors import (
    Conflict,
    InvalidCursor,
    InvalidData,
    NotFound,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "STEP_NOTIFY_CHANNEL",
    "Conflict",
    "EventStore",
    "InvalidCursor",
    "InvalidData",
    "NotFound",
    "StoreError",
    "StoreUnavailable",
    "StoredApiKey",
    "current_revision",
    "downgrade",
    "open_store",
    "upgrade",
]
