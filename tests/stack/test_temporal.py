"""Temporal as a part of the native stack: on by default, left out on request, bound to the
loopback, its state a file of the state directory that outlives a restart."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from temporalio.client import Client

from tests.e2e.native_stack import stack_settings
from tests.integrations.temporal.temporal_server import temporal_server
from vigil.stack import Stack, add_stack_commands
from vigil.stack._cli import _overrides


def _up_arguments(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_stack_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(["stack", "up", *argv])


def test_temporal_is_a_part_unless_left_out(tmp_path: Path) -> None:
    """On by default, before the controller; ``--no-temporal`` leaves it out."""
    default = Stack(stack_settings(tmp_path / "with"))
    assert [c.name for c in default.components][-2:] == ["temporal", "controller"]
    without = _overrides(_up_arguments("--no-temporal", "--temporal-port", "17233"))
    assert without["temporal"] is False
    assert without["temporal_port"] == 17233
    assert "temporal" not in _overrides(_up_arguments())
    stack = Stack(stack_settings(tmp_path / "without", temporal=False))
    assert "temporal" not in [c.name for c in stack.components]


def test_the_server_binds_the_loopback_and_keeps_state_in_the_state_directory(
    tmp_path: Path,
) -> None:
    stack = Stack(stack_settings(tmp_path))
    argv = stack.temporal.launch_spec().argv
    assert "--ip=127.0.0.1" in argv
    assert "--headless" in argv
    assert f"--db-filename={tmp_path / 'temporal' / 'temporal.db'}" in argv
    settings = stack.settings
    assert f"--metrics-port={settings.temporal_metrics_port}" in argv
    assert stack.temporal.url == f"127.0.0.1:{settings.temporal_port}"


def test_workflows_survive_a_restart_of_the_server() -> None:
    """A workflow started before the server stops is still there after it starts again on
    the same SQLite file (nothing needs a worker for that)."""
    with temporal_server() as server:

        async def start() -> None:
            client = await Client.connect(server.address)
            await client.start_workflow("NoWorker", id="kept", task_queue="nobody")

        asyncio.run(start())
        server.stop()
        server.start()

        async def describe() -> str:
            client = await Client.connect(server.address)
            description = await client.get_workflow_handle("kept").describe()
            return description.workflow_type

        assert asyncio.run(describe()) == "NoWorker"
