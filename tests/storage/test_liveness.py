"""The PostgreSQL pool's liveness check, made only for a connection that sat idle (HikariCP's
``aliveBypassWindowMs``): what it saves, what it still survives, and what it trades."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from vigil.storage import StoreUnavailable, open_store
from vigil.storage._liveness import IDLE_BEFORE_PING_S, ping_when_idle


def _engine(url: str, **options: object) -> Engine:
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"), **options)


@pytest.fixture
def terminate_others(postgres_store_url: str) -> Iterator[Callable[[], None]]:
    """Ends every other server connection to the test's database (as a server restart or
    an idle-timeout proxy does) and waits until they are gone."""
    admin = _engine(postgres_store_url, poolclass=NullPool)

    def terminate() -> None:
        others = (
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) {others}"))
            deadline = time.monotonic() + 10
            while conn.execute(text(f"SELECT count(*) {others}")).scalar():
                conn.rollback()  # pg_stat_activity is read once per transaction
                assert time.monotonic() < deadline, "connections outlived pg_terminate_backend"
                time.sleep(0.02)

    yield terminate
    admin.dispose()


def _select_one(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT 1")).scalar_one())


def _pings_made(url: str, monkeypatch: pytest.MonkeyPatch, *, idle_s: float, uses: int) -> int:
    """How many liveness checks ``uses`` one-at-a-time uses of a pooled connection made."""
    engine = _engine(url)
    ping_when_idle(engine, idle_s=idle_s)
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        for _ in range(uses):
            assert _select_one(engine) == 1
    finally:
        engine.dispose()
    return len(pings)


def test_a_connection_back_within_the_window_is_used_without_a_round_trip(
    postgres_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _pings_made(postgres_store_url, monkeypatch, idle_s=3600, uses=5) == 0


def test_a_connection_idle_past_the_window_is_checked_but_a_new_one_is_not(
    postgres_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first use opens the connection: nothing to check. Each later one is past 0 s.
    assert _pings_made(postgres_store_url, monkeypatch, idle_s=0, uses=3) == 2


def test_a_dead_idle_connection_is_replaced_before_use(
    postgres_store_url: str, terminate_others: Callable[[], None]
) -> None:
    engine = _engine(postgres_store_url, pool_size=3)
    ping_when_idle(engine, idle_s=0)
    _select_one(engine)
    terminate_others()
    assert _select_one(engine) == 1  # no error: the ping failed, the pool reconnected
    engine.dispose()


def test_the_trade_a_connection_killed_within_the_window_fails_once_then_the_pool_heals(
    postgres_store_url: str, terminate_others: Callable[[], None]
) -> None:
    """What skipping the check costs: one statement fails (the store's callers see
    StoreUnavailable, a 503 for the controller's clients, who retry); that failure
    invalidates the pool, and every connection after it is new."""
    engine = _engine(postgres_store_url, pool_size=3)
    ping_when_idle(engine, idle_s=3600)
    with engine.connect() as first, engine.connect() as second:
        first.execute(text("SELECT 1"))
        second.execute(text("SELECT 1"))
    terminate_others()
    with pytest.raises(OperationalError):
        _select_one(engine)
    assert _select_one(engine) == 1
    assert _select_one(engine) == 1  # the other pooled connection was replaced too
    engine.dispose()


def test_the_store_survives_its_connections_ending_while_idle(
    postgres_store_url: str, terminate_others: Callable[[], None]
) -> None:
    with open_store(postgres_store_url) as store:
        store.get_trace("0" * 32)
        terminate_others()
        time.sleep(IDLE_BEFORE_PING_S + 0.1)
        try:
            assert store.get_trace("0" * 32) == []
        except StoreUnavailable as exc:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"an idle connection that had ended was used: {exc}")
