"""`vigil stack up|status|down` as a user runs it: every part starts and is ready, a second
`up` changes nothing, and `down` leaves no process behind (checked pid by pid, children too).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.native_stack import component_logs, free_ports, new_state_dir, stack_settings
from tests.ports import free_port_block
from vigil.stack import Stack, StackError

PARTS = ("postgres", "alertmanager", "prometheus", "seaweedfs", "temporal", "controller")
PORT_OPTION = {"seaweedfs": "s3"}


def _vigil_stack(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", "stack", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _process_tree(pids: list[int]) -> set[int]:
    """``pids`` and all their descendants, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree = set(pids)
    grew = True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return tree


def _alive(pid: int) -> bool:
    """A zombie waiting for init to reap it is not alive."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.fixture
def state_dir() -> Any:
    state = new_state_dir()
    try:
        yield state
    finally:
        _vigil_stack("down", "--state-dir", state)
        shutil.rmtree(state, ignore_errors=True)


def _status(state_dir: Path) -> dict[str, dict[str, Any]]:
    result = _vigil_stack("status", "--state-dir", state_dir, "--json")
    return {part["name"]: part for part in json.loads(result.stdout)}


def test_up_status_down_leaves_no_process(state_dir: Path) -> None:
    ports = dict(zip(PARTS, free_ports(len(PARTS)), strict=True))
    port_options = [f"--{PORT_OPTION.get(name, name)}-port={port}" for name, port in ports.items()]
    port_options.append(f"--seaweedfs-port-base={free_port_block(7)}")
    http, metrics, sdk = free_ports(3)
    port_options += [f"--temporal-http-port={http}", f"--temporal-metrics-port={metrics}",
                     f"--temporal-sdk-metrics-port={sdk}"]  # fmt: skip
    up = _vigil_stack("up", "--state-dir", state_dir, "--no-install", *port_options)
    logs = component_logs(Stack.from_state(stack_settings(state_dir)))
    assert up.returncode == 0, f"{up.stdout}{up.stderr}\n{logs}"
    for name, port in ports.items():
        assert f":{port}" in up.stdout, f"up prints the URL of {name}"
    for secret in (state_dir / "secrets").iterdir():
        assert secret.read_text().strip() not in up.stdout + up.stderr, secret.name

    status = _status(state_dir)
    states = {name: (s["state"], s["ready"]) for name, s in status.items()}
    assert states == dict.fromkeys(PARTS, ("running", True))
    pids = {name: s["pid"] for name, s in status.items()}
    for name, pid in pids.items():
        assert (state_dir / "run" / f"{name}.pid").read_text().strip() == str(pid)
    tree = _process_tree(list(pids.values()))
    assert len(tree) > len(pids), "PostgreSQL's own processes are part of the tree"

    again = _vigil_stack("up", "--state-dir", state_dir, "--no-install", *port_options)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already running") == len(PARTS)
    assert {name: s["pid"] for name, s in _status(state_dir).items()} == pids
    [other_port] = free_ports(1)
    other = _vigil_stack(
        "up", "--state-dir", state_dir, *port_options, f"--controller-port={other_port}"
    )
    assert other.returncode == 1
    assert "is running from" in other.stderr, other.stderr

    down = _vigil_stack("down", "--state-dir", state_dir)
    assert down.returncode == 0, down.stderr
    deadline = time.monotonic() + 10
    while any(map(_alive, tree)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in tree if _alive(pid)] == []
    assert list((state_dir / "run").glob("*.pid")) == []

    after = _vigil_stack("status", "--state-dir", state_dir)
    assert after.returncode == 3
    assert after.stdout.count("stopped") == len(PARTS)


def test_a_part_that_exits_fails_up_fast_with_its_log(tmp_path: Path) -> None:
    """Prometheus refusing a broken rule file fails `up` at once, quoting Prometheus' own
    error, and stops what that `up` had started."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yml").write_text("groups:\n  - name: x\n    rules:\n      - record: 1bad\n")
    state = new_state_dir()
    stack = Stack(stack_settings(state, rules_dir=rules))
    started = time.monotonic()
    try:
        with pytest.raises(StackError, match=r"prometheus exited during start-up") as failure:
            stack.up()
        assert time.monotonic() - started < 30
        assert "1bad" in str(failure.value), "the message quotes the end of prometheus.log"
        assert [s.state for s in stack.status()] == ["stopped"] * len(PARTS)
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)


def test_a_port_in_use_is_refused_before_starting(state_dir: Path) -> None:
    settings = stack_settings(state_dir)
    with subprocess.Popen(
        [sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(settings.controller_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as squatter:
        try:
            deadline = time.monotonic() + 10
            stack = Stack(settings)
            while not _listening(settings.controller_port):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            with pytest.raises(StackError, match=rf"port {settings.controller_port} is already"):
                stack.up()
            assert [s.state for s in stack.status()] == ["stopped"] * len(PARTS)
            # Refused before any part started (it found the controller's port taken only
            # after starting the others; CI once failed there on a SeaweedFS port race).
            assert [c.name for c in stack.components if c.log_file.exists()] == []
        finally:
            squatter.terminate()
            squatter.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True
