"""A pooled PostgreSQL connection's liveness check, made only when it sat idle a while.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` on every checkout: one round trip (about
130 us of client CPU and 300 us of wall time here) before every request and every batch of
spans. HikariCP's ``aliveBypassWindowMs`` (500 ms by default) skips the check for a
connection returned to the pool moments ago, which has just proven itself alive; this does the
same with the pool's documented ``checkout`` and ``checkin`` events (SQLAlchemy's "pessimistic"
disconnect handling) and raises ``InvalidatePoolError`` on a failed ping, as pre-ping does:
the pool replaces the connection and every connection older than it.

The trade: a connection used within the window before the server went away fails the one
statement it runs next (the store raises ``StoreUnavailable``, which the controller answers
with a 503 and clients retry); that failure invalidates the pool, so the requests after it
reconnect. The readiness probes, which must report the store as it is now, not a
connection that died with its last restart, try once more (``once_more_if_reconnected``).
"""

import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from vigil.storage.errors import StoreUnavailable

T = TypeVar("T")

IDLE_BEFORE_PING_S: Final = 0.5
"""HikariCP's ``aliveBypassWindowMs`` default."""

_RETURNED: Final = "vigil_returned_at"


def ping_when_idle(engine: Engine, idle_s: float = IDLE_BEFORE_PING_S) -> None:
    """Check a connection on checkout if it was last returned more than ``idle_s`` ago.

    A connection just opened is not checked (it has no return time yet)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
        entry.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(
        dbapi_connection: Any, entry: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        returned = entry.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned <= idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise InvalidatePoolError("connection failed its liveness check") from exc


def once_more_if_reconnected(probe: Callable[[], T]) -> T:
    """``probe()``, and once more if it failed on a pooled connection the server had closed
    (raw, or as the store's ``StoreUnavailable``): the pool holds new connections by then."""
    try:
        return probe()
    except (DBAPIError, StoreUnavailable) as exc:
        failed = exc if isinstance(exc, DBAPIError) else exc.__cause__
        if not (isinstance(failed, DBAPIError) and failed.connection_invalidated):
            raise
    return probe()
