"""The controller's first admin key: no default credential, nothing to copy from a log.

At start-up, when the store has no admin key for every project, one is generated into
``Settings.admin_key_path`` (``<data dir>/admin.key``, mode 600, its directory 700) and the
log says where it is, never what it is. A key file that exists is registered if the store
does not know it (the stacks write it before the database is up).
"""

from __future__ import annotations

import logging

from vigil.auth import ensure_key_file
from vigil.models import ApiKeyCreate, Scope
from vigil.settings import Settings
from vigil.storage import EventStore

logger = logging.getLogger("vigil.controller")

ADMIN_KEY_NAME = "admin"


def provision_admin_key(store: EventStore, settings: Settings) -> None:
    """Make sure an admin key exists; generate it into its file on the first start."""
    path = settings.admin_key_path
    if not path.exists() and store.has_active_key(Scope.ADMIN):
        return
    key, outcome = ensure_key_file(
        store, path, ApiKeyCreate(name=ADMIN_KEY_NAME, scopes=[Scope.ADMIN])
    )
    if outcome == "created":
        logger.info(
            "Admin API key %s written to %s (mode 600), for the Authorization header",
            key.key_id,
            path,
            extra={"key_id": key.key_id, "key_file": str(path)},
        )
    elif outcome == "registered":
        logger.info(
            "Admin API key %s registered from %s",
            key.key_id,
            path,
            extra={"key_id": key.key_id, "key_file": str(path)},
        )
