"""The native stack for one test or session: free ports, a throwaway state directory.

    with running_stack(scrape_interval="1s") as stack:
        httpx.get(stack.controller.url + "/info", headers=admin_headers(stack))

A part that cannot run here (binary missing) fails the test instead of skipping it: a green run
must mean the stack really ran. Nothing is installed from a test (``install_missing=False``);
``make test`` runs scripts/install-native-deps.sh first.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port_block, free_ports
from vigil.stack import Stack, StackError, StackSettings

# Native stacks alive right now: the e2e conftest adds their logs to a failing test's report.
ACTIVE_STACKS: list[Stack] = []


@dataclass(frozen=True)
class StackUnderTest:
    """URLs of the stack an end-to-end test drives, and the native stack when it is one."""

    controller: str
    prometheus: str
    alertmanager: str
    scrape_instance: str
    """The `instance` label Prometheus gives the controller's scrape target."""
    native: Stack | None
    api_key: str
    """An admin API key of the controller."""
    prometheus_auth: tuple[str, str] | None = field(default=None, repr=False)
    """HTTP basic auth (user, password) of Prometheus; None: it asks for none."""
    alertmanager_auth: tuple[str, str] | None = field(default=None, repr=False)
    """HTTP basic auth (user, password) of Alertmanager; None: it asks for none."""


def admin_headers(stack: Stack) -> dict[str, str]:
    """Headers that send the native stack controller's admin API key."""
    return {"Authorization": f"Bearer {stack.layout.admin_key.read_text().strip()}"}


def new_state_dir() -> Path:
    """A state directory PostgreSQL's account can enter when the tests run as root.

    pytest's tmp_path sits under a 0700 directory of the user running pytest, which the
    ``postgres`` account cannot traverse; a 0755 directory straight under /tmp it can.
    """
    state = Path(tempfile.mkdtemp(prefix="vigil-stack-test-"))
    state.chmod(0o755)
    return state


def stack_settings(state_dir: Path, **overrides: Any) -> StackSettings:
    """Settings for a test stack: every port free, nothing installed, quick timeouts."""
    ports = free_ports(9)
    values: dict[str, Any] = {
        "state_dir": state_dir,
        "postgres_port": ports[0],
        "prometheus_port": ports[1],
        "alertmanager_port": ports[2],
        "controller_port": ports[3],
        "s3_port": ports[4],
        "seaweedfs_port_base": free_port_block(7),
        "temporal_port": ports[5],
        "temporal_http_port": ports[6],
        "temporal_metrics_port": ports[7],
        "temporal_sdk_metrics_port": ports[8],
        "install_missing": False,
        "ready_timeout_s": 60.0,
        "stop_timeout_s": 10.0,
    }
    values.update(overrides)
    return StackSettings(**values)


def component_logs(stack: Stack, lines: int = 60) -> str:
    """The end of every part's log, for failure messages."""
    parts = []
    for name, path in stack.log_files().items():
        text = path.read_text(errors="replace") if path.is_file() else "(no log)"
        parts.append(f"----- {name}: {path} -----\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(parts)


@contextmanager
def running_stack(**overrides: Any) -> Iterator[Stack]:
    """Start the whole native stack; stop it and delete its state directory afterwards."""
    state = new_state_dir()
    stack = Stack(stack_settings(state, **overrides))
    try:
        missing = [s for s in stack.status() if s.state == "missing"]
        if missing:
            pytest.fail(
                "native binaries missing: "
                + "; ".join(s.detail for s in missing)
                + " (run scripts/install-native-deps.sh as root)",
                pytrace=False,
            )
        try:
            stack.up()
        except StackError as exc:
            pytest.fail(f"vigil stack up failed: {exc}\n{component_logs(stack)}", pytrace=False)
        ACTIVE_STACKS.append(stack)
        yield stack
    finally:
        if stack in ACTIVE_STACKS:
            ACTIVE_STACKS.remove(stack)
        try:
            stack.down()
        finally:
            shutil.rmtree(state, ignore_errors=True)
