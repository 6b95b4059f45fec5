"""Storage-only fixtures. The shared ones live in tests/conftest.py: ``store_url`` and
``store`` (every test runs on SQLite and on PostgreSQL) and the session's ``postgres_server``.
"""

import uuid
from collections.abc import Iterator

import pytest

from tests.pg_server import PostgresServer
from vigil.storage import upgrade


@pytest.fixture
def postgres_store_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A migrated PostgreSQL database private to the test, for PostgreSQL-only behaviour."""
    name = f"vigil_pg_only_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    try:
        upgrade(url)
        yield url
    finally:
        postgres_server.drop_database(name)
