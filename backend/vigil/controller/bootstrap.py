"""The controller's first admin key: no default credential, nothing to copy from a log.

At start-up, when the store has no admin key for every project, one is generated into
``Settings.admin_key_path`` (``<data dir>/admin.key``, mode 600, its directory 700) and the
log says where it is, never what it is. A key file that exists is registered if the store
does not know it (the stacks write it before the database is up). The same goes for the key
Prometheus scrapes ``/metrics`` with (``Settings.metrics_key_file``, scope ``metrics``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from vigil.auth import ensure_key_file
from vigil.models import ApiKeyCreate, Scope
from vigil.settings import Settings
from vigil.storage import EventStore

logger = logging.getLogger("vigil.controller")

ADMIN_KEY_NAME = "admin"
METRICS_KEY_NAME = "prometheus"


def provision_keys(store: EventStore, settings: Settings) -> None:
    """Make sure an admin key exists (generated into its file on the first start), and
    register the metrics key file the stack handed over, if any."""
    path = settings.admin_key_path
    if path.exists() or not store.has_active_key(Scope.ADMIN):
        _provision(store, path, ApiKeyCreate(name=ADMIN_KEY_NAME, scopes=[Scope.ADMIN]))
    if settings.metrics_key_file is not None:
        wanted = ApiKeyCreate(name=METRICS_KEY_NAME, scopes=[Scope.METRICS])
        _provision(store, settings.metrics_key_file, wanted)


def _provision(store: EventStore, path: Path, wanted: ApiKeyCreate) -> None:
    key, outcome = ensure_key_file(store, path, wanted)
    if outcome == "created":
        logger.info(
            "%s API key %s written to %s (mode 600), for the Authorization header",
            wanted.name.capitalize(),
            key.key_id,
            path,
            extra={"key_id": key.key_id, "key_file": str(path)},
        )
    elif outcome == "registered":
        logger.info(
            "%s API key %s registered from %s",
            wanted.name.capitalize(),
            key.key_id,
            path,
            extra={"key_id": key.key_id, "key_file": str(path)},
        )
