"""``AlsoAsync``: synchronous context managers that also work with ``async with``.

For context managers whose entering and leaving never block (they set ContextVars, start or
end a span): ``run_context`` and ``vigil.tracing.TracingContext``. Its own module, which
imports nothing of Vigil's, so that both can use it without importing each other.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class AlsoAsync:
    """Mixin: a synchronous context manager that also works with ``async with`` (entering and
    leaving it never blocks)."""

    __slots__ = ()

    def __enter__(self) -> Self:
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
