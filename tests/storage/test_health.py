"""Health check and the unavailable-database error."""

import socket
import uuid
from pathlib import Path

import pytest

from vigil.storage import EventStore, StoreUnavailable, open_store


def test_health_check_of_a_live_store(store: EventStore) -> None:
    assert store.health_check(timeout=1.0) is True


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens on it any more


def test_unreachable_postgres_is_unhealthy_and_unavailable() -> None:
    """No server at the URL: the health check says so, queries raise StoreUnavailable."""
    with open_store(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/x") as store:
        assert store.health_check(timeout=1.0) is False
        with pytest.raises(StoreUnavailable):
            store.get_run(uuid.uuid4())


def test_unmigrated_sqlite_is_unavailable(tmp_path: Path) -> None:
    """A database without the schema is not ready: StoreUnavailable, not a crash."""
    with open_store(f"sqlite:///{tmp_path}/empty.db") as store:
        assert store.health_check() is True
        with pytest.raises(StoreUnavailable):
            store.get_run(uuid.uuid4())


@pytest.mark.parametrize("url", ["mysql://localhost/x", "sqlite://", "sqlite:///:memory:"])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"SQLite|unsupported"):
        open_store(url)
