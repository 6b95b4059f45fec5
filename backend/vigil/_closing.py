"""``ClosedOnExit``: ``with obj:`` gives ``obj`` and calls ``obj.close()`` on leaving.

``contextlib.closing`` as a base class, so that ``with store as s`` keeps the subclass's
type. For the stores, readers and recorders whose ``with`` means "close it afterwards". Its
own module, importing nothing of Vigil's, so that any package can use it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosedOnExit:
    """Mixin: a context manager that returns itself and closes itself on leaving."""

    __slots__ = ()

    def close(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
