"""The bounded ``project_id`` label: no client can mint unbounded Prometheus series.

A project id comes from the ``X-Project-Id`` header or a ``project_id`` path parameter. With an
allowlist, anything outside it is reported as ``other``; without one, the first ``cap`` distinct
ids seen keep their own label and the rest share ``other``. Ids that are not plausible identifiers
(wrong charset, too long) are ``other`` too, so scanner junk never reaches a label.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection
from contextvars import ContextVar, Token
from typing import Final

PROJECT_ID_HEADER = "x-project-id"
NO_PROJECT = "none"
OTHER_PROJECTS = "other"

_PLAUSIBLE_PROJECT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_project_id: ContextVar[str | None] = ContextVar("vigil_project_id", default=None)


current_project_id: Final[Callable[[], str | None]] = _project_id.get
"""The (bounded) project label of the request being served, or None outside a request.
The ContextVar's own ``get`` (no Python frame: every log line reads it)."""


# The ContextVar's own methods (no Python frame per request: request_id.bind_request_id).
bind_project_label: Final[Callable[[str], Token[str | None]]] = _project_id.set
"""Make a label the current project label; reset with :func:`reset_project_label`."""
reset_project_label: Final[Callable[[Token[str | None]], None]] = _project_id.reset
"""Restore the project label that was current before :func:`bind_project_label`."""


class ProjectLabelPolicy:
    """Maps raw project ids onto a bounded set of label values."""

    def __init__(self, allowlist: Collection[str] | None = None, cap: int = 100) -> None:
        if cap < 0:
            raise ValueError("cap must be >= 0")
        self._allowlist = frozenset(allowlist) if allowlist else None
        self._cap = cap
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label_for(self, raw: str | None) -> str:
        """The label value for a raw project id (None or empty: ``none``)."""
        if not raw:
            return NO_PROJECT
        if self._allowlist is not None:
            return raw if raw in self._allowlist else OTHER_PROJECTS
        if raw in self._seen:
            return raw
        if _PLAUSIBLE_PROJECT_ID.fullmatch(raw) is None:
            return OTHER_PROJECTS
        with self._lock:
            if len(self._seen) < self._cap:
                self._seen.add(raw)
                return raw
        return OTHER_PROJECTS
