"""finish_in_thread: blocking work of background tasks is not abandoned by a cancel."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from vigil.controller.threads import finish_in_thread


def test_a_cancel_waits_for_the_call_to_return() -> None:
    started, release, returned = threading.Event(), threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        release.wait(5)
        returned.set()

    async def main() -> None:
        task = asyncio.create_task(finish_in_thread(work))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done()  # still waiting for the thread
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert returned.is_set()

    asyncio.run(main())


def test_results_and_errors_pass_through() -> None:
    async def main() -> None:
        assert await finish_in_thread(divmod, 7, 2) == (3, 1)
        with pytest.raises(ZeroDivisionError):
            await finish_in_thread(divmod, 1, 0)

    asyncio.run(main())


def test_a_failure_caught_by_the_cancel_is_not_left_unretrieved() -> None:
    """The call's error is dropped for the cancel, and retrieved (asyncio would otherwise log
    "exception was never retrieved")."""
    started, release = threading.Event(), threading.Event()

    def fail() -> None:
        started.set()
        release.wait(5)
        raise RuntimeError("store closed")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        unhandled: list[object] = []
        loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
        task = asyncio.create_task(finish_in_thread(fail))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        del task
        gc.collect()
        await asyncio.sleep(0)
        assert unhandled == []

    asyncio.run(main())
