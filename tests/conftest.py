"""Suite-wide fixtures: logging hygiene, and the two storage backends every suite runs on.

Tests that take ``store_url`` (or ``store``) run twice: on SQLite in tmp_path, and on a real
PostgreSQL server started once per session (tests/pg_server.py), with a fresh database per test.
``s3_server`` is a real S3 (SeaweedFS), also started once per session.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifacts.s3_server import S3Server, seaweedfs
from tests.langfuse_receiver import FakeLangfuse, receiving_langfuse
from tests.pg_server import PostgresNotInstalledError, PostgresServer
from vigil.storage import EventStore, open_store, upgrade


def reset_tracing() -> None:
    """Forget the process's TracerProvider (OpenTelemetry sets one once per process, as
    ``opentelemetry-test-utils``' ``reset_trace_globals`` undoes it) and Vigil's setup."""
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    import vigil.tracing._context
    import vigil.tracing._setup
    from vigil.tracing import shutdown_tracing

    shutdown_tracing(timeout_s=5.0)
    provider = trace.get_tracer_provider()
    stop = getattr(provider, "shutdown", None)
    if callable(stop):
        stop()
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
    vigil.tracing._setup._state = None
    vigil.tracing._context._tracers.clear()
    vigil.tracing._context._configured = False


@pytest.fixture
def fresh_tracing() -> Iterator[None]:
    """No TracerProvider before the test, and none left after it: a provider set by one test
    would make FastAPI trace every app of the later ones."""
    reset_tracing()
    yield
    reset_tracing()


@pytest.fixture
def langfuse_server() -> Iterator[FakeLangfuse]:
    """A local HTTP server taking the Langfuse SDK's OTLP export (tests/langfuse_receiver.py)."""
    with receiving_langfuse() as server:
        yield server


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo what a test's configure_logging did to the root logger.

    configure_logging binds a handler to the stream of the moment; left behind, it would write
    into a later test's closed capture stream.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (stopped and deleted at the end)."""
    try:
        server = PostgresServer.start()
    except PostgresNotInstalledError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 server (SeaweedFS) for the whole session, its bucket created
    (tests/artifacts/s3_server.py)."""
    with seaweedfs() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL of the session server's maintenance database."""
    return postgres_server.url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each backend, private to the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/data/vigil.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"vigil_test_{next(_database_numbers)}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    """A migrated, open store of each backend."""
    upgrade(store_url)
    with open_store(store_url) as opened:
        yield opened
