"""Fixtures of the Temporal tests: one real Temporal dev server and one real controller
(``python -m vigil serve`` on SQLite) for the session, both started and stopped here."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.controller_process import ControllerProcess
from tests.integrations.temporal.temporal_server import TemporalServer, temporal_server
from tests.ports import free_port


@pytest.fixture(scope="session")
def temporal() -> Iterator[TemporalServer]:
    with temporal_server() as server:
        yield server


@pytest.fixture(scope="session")
def controller() -> Iterator[ControllerProcess]:
    data = Path(tempfile.mkdtemp(prefix="vigil-temporal-controller-"))
    process = ControllerProcess(f"sqlite:///{data / 'vigil.db'}", data, free_port())
    try:
        process.start()
        yield process
    finally:
        process.stop()
        shutil.rmtree(data, ignore_errors=True)
