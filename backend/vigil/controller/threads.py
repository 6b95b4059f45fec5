"""Blocking work of the controller's background tasks, run to its end even when cancelled.

``run_in_threadpool`` gives its thread up when the awaiting task is cancelled: the call goes
on in the pool while the lifespan closes the store under it. A maintenance round caught by a
shutdown then checked its connection back in to a pool already disposed of, and PostgreSQL
connections were left to the garbage collector, open (CI failed on psycopg's
``ResourceWarning``). Background loops call :func:`finish_in_thread` instead: a cancel waits
for the call to return, then propagates; the shutdown is as long as the statement under way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")


async def finish_in_thread(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``func(*args, **kwargs)`` in the thread pool; cancelled, the caller still waits for it
    to return (its result or error is dropped) before the cancel propagates."""
    call = asyncio.ensure_future(run_in_threadpool(func, *args, **kwargs))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        await asyncio.wait({call})
        if not call.cancelled():
            call.exception()  # retrieved, so a failed call is not "never retrieved"
        raise
