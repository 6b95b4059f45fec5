"""PostgreSQL LISTEN/NOTIFY: steps stored by any process wake this process' stream subscribers.

The PostgreSQL store sends ``NOTIFY vigil_steps, '<run id>'`` in the transaction that stores
steps (delivered on commit). One connection per controller listens and forwards each run id to
the :class:`~vigil.controller.step_feed.StepFeed`. If the connection drops, it reconnects; the
feed's poll keeps streams moving meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import psycopg
from sqlalchemy.engine import make_url

from vigil.controller.step_feed import StepFeed
from vigil.storage import STEP_NOTIFY_CHANNEL

logger = logging.getLogger("vigil.controller.pg_listener")

RECONNECT_DELAY_S = 1.0


def psycopg_conninfo(sqlalchemy_url: str) -> str:
    """The libpq connection string of a ``postgresql+psycopg://`` SQLAlchemy URL."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class StepNotificationListener:
    """Forwards ``vigil_steps`` notifications to a step feed until cancelled."""

    def __init__(self, sqlalchemy_url: str, feed: StepFeed) -> None:
        self._conninfo = psycopg_conninfo(sqlalchemy_url)
        self._feed = feed
        self.listening = asyncio.Event()

    async def run(self) -> None:
        """Listen forever (reconnecting after errors); cancel the task to stop."""
        while True:
            try:
                await self._listen()
            except psycopg.Error as exc:
                self.listening.clear()
                logger.warning(
                    "Step notification listener lost its connection; reconnecting",
                    extra={"error": type(exc).__name__},
                )
                await asyncio.sleep(RECONNECT_DELAY_S)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        async with conn:
            await conn.execute(f"LISTEN {STEP_NOTIFY_CHANNEL}")
            self.listening.set()
            async for notification in conn.notifies():
                try:
                    run_id = UUID(notification.payload)
                except ValueError:
                    continue
                self._feed.notify(run_id)
