"""A part of the native stack run for the tests: its own component (the code ``make up``
runs), in a throwaway state directory on the ports the test gives, started and ready.

    with running_component(SeaweedFS, prefix="vigil-s3-test-", s3_port=...) as running:
        running.component.url

A missing binary fails the test: every such binary is a dependency of the project, so a
green run means the part really ran. ``stop`` and ``start`` let a test kill it and bring it
back on the same ports and data.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

from vigil.stack import StackSettings
from vigil.stack._component import Component
from vigil.stack._layout import StateLayout

C = TypeVar("C", bound=Component)


@dataclass
class RunningComponent(Generic[C]):
    component: C
    pid: int | None = None

    def start(self) -> None:
        """Start it (again) and wait until it is ready."""
        assert self.pid is None, "already running"
        self.pid = self.component.start()
        self.component.wait_ready(self.pid)

    def stop(self) -> None:
        """Stop it (its ``stop``: SIGTERM, then SIGKILL after the stop timeout)."""
        assert self.pid is not None, "not running"
        pid, self.pid = self.pid, None
        self.component.stop(pid)


@contextmanager
def running_component(
    make: Callable[[StackSettings, StateLayout], C], *, prefix: str, **settings: Any
) -> Iterator[RunningComponent[C]]:
    """``make``'s component started with ``settings`` over test timeouts; stopped (if a test
    left it running) and its directory removed afterwards."""
    state = Path(tempfile.mkdtemp(prefix=prefix))
    stack = StackSettings(
        state_dir=state, ready_timeout_s=60.0, stop_timeout_s=10.0, **settings
    )  # fmt: skip
    layout = StateLayout(stack.state())
    layout.create()
    component = make(stack, layout)
    if missing := component.missing():
        pytest.fail(f"{missing[0]} is missing: pip install -e '.[dev]'", pytrace=False)
    running = RunningComponent(component)
    try:
        running.start()
        yield running
    finally:
        if running.pid is not None and component.running_pid() is not None:
            running.stop()
        shutil.rmtree(state, ignore_errors=True)
