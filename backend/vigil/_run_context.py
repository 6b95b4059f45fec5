"""The run (and step, and project) the current code works for, so log records and other
events can be attributed to it.

One ContextVar per key, set with a token and reset in ``finally`` (``__exit__``). asyncio
tasks copy the context when they start, so a ``run_context`` entered in a task covers the
tasks it spawns and never leaks into sibling tasks; new threads start with an empty context.

Outside ``vigil.sdk`` (which exports ``run_context`` and the readers): the JSON log lines of
``vigil.instrument`` read the run id too, and importing the SDK's package for it loaded the
whole SDK (httpx, and through it rich and pygments; the models), ~11,700 objects that every
full collection of an instrumented service then walked.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Final, Self
from uuid import UUID

from vigil._also_async import AlsoAsync

_run_id: ContextVar[UUID | None] = ContextVar("vigil_sdk_run_id", default=None)
_step_id: ContextVar[UUID | None] = ContextVar("vigil_sdk_step_id", default=None)
_project_id: ContextVar[str | None] = ContextVar("vigil_sdk_project_id", default=None)


current_run_id: Final[Callable[[], UUID | None]] = _run_id.get
"""The run of the enclosing ``run_context``, or None outside one. The ContextVar's own
``get``, not a function around it: every log line reads it (a Python frame is ~320
instructions)."""


def current_step_id() -> UUID | None:
    """The step of the enclosing ``run_context``, or None."""
    return _step_id.get()


def current_project() -> str | None:
    """The project of the enclosing ``run_context`` (or of the request being served by the
    controller: the project of its API key), or None."""
    return _project_id.get()


def bind_project(project_id: str | None) -> Token[str | None]:
    """Attribute what follows in this context to ``project_id``; undo with ``reset_project``."""
    return _project_id.set(project_id)


def reset_project(token: Token[str | None]) -> None:
    _project_id.reset(token)


def as_uuid(value: UUID | str) -> UUID:
    """``value`` as a UUID; ``ValueError`` if a string is not one."""
    return value if isinstance(value, UUID) else UUID(value)


class run_context(AlsoAsync):  # noqa: N801  (used like a function: ``with run_context(run.id):``)
    """Attribute what runs inside to a run (and optionally a step).

        with run_context(run.id):
            logger.info("calling the search tool")   # stored as an execution log of the run

    Works with ``with`` and ``async with``; nested contexts restore the outer one on exit.
    An instance is entered once at a time: create one per ``with``.
    """

    __slots__ = ("_project_token", "_run_token", "_step_token", "project_id", "run_id", "step_id")

    def __init__(
        self,
        run_id: UUID | str,
        step_id: UUID | str | None = None,
        *,
        project_id: str | None = None,
    ) -> None:
        self.run_id = as_uuid(run_id)
        self.step_id = None if step_id is None else as_uuid(step_id)
        self.project_id = project_id
        self._run_token: Token[UUID | None] | None = None
        self._step_token: Token[UUID | None] | None = None
        self._project_token: Token[str | None] | None = None

    def __enter__(self) -> Self:
        if self._run_token is not None:
            raise RuntimeError("this run_context is already entered; create a new one")
        self._run_token = _run_id.set(self.run_id)
        self._step_token = _step_id.set(self.step_id)
        if self.project_id is not None:
            self._project_token = _project_id.set(self.project_id)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        run_token, step_token, project_token = (
            self._run_token,
            self._step_token,
            self._project_token,
        )
        self._run_token = self._step_token = self._project_token = None
        try:
            if project_token is not None:
                _project_id.reset(project_token)
            if step_token is not None:
                _step_id.reset(step_token)
        finally:
            if run_token is not None:
                _run_id.reset(run_token)
