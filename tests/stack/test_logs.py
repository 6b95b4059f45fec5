"""Log files of the parts: private (mode 600), rotated by size, complete to the last line.

The programs write to a pipe; the log pump (`_log_pump.py`, a child of the program in its
process group) is the only writer of the file, so it can rename it and start a new one.
"""

from __future__ import annotations

import shutil
import stat
import sys
import time
from pathlib import Path

import httpx
import pytest

import vigil.stack._alertmanager
import vigil.stack._postgres
import vigil.stack._prometheus
from tests.e2e.native_stack import admin_headers, new_state_dir, stack_settings
from vigil.stack import Stack
from vigil.stack._process import LaunchSpec, LogRotation, group_members, spawn, terminate

LINE = b"x" * 99 + b"\n"  # 100 bytes


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _wait_group_gone(pid: int, timeout_s: float = 20) -> None:
    """Until the program and its log pump have both exited."""
    deadline = time.monotonic() + timeout_s
    while group_members(pid):
        assert time.monotonic() < deadline, f"still running: {group_members(pid)}"
        time.sleep(0.05)


def _python(tmp_path: Path, code: str) -> LaunchSpec:
    return LaunchSpec(argv=[sys.executable, "-c", code], cwd=tmp_path, env={})


def test_output_is_rotated_by_size_keeping_the_newest(tmp_path: Path) -> None:
    """5000 lines of 100 bytes through a 4 KiB limit with 2 backups: three files, none over
    the limit, cut at line ends, mode 600; together they hold the newest lines in order."""
    log = tmp_path / "logs" / "part.log"
    code = "import sys\nfor i in range(5000): sys.stdout.write(f'{i:08d}' + 'x' * 91 + '\\n')\n"
    pid = spawn(_python(tmp_path, code), log, tmp_path / "part.pid", LogRotation(4096, 2))
    _wait_group_gone(pid)

    files = [log.with_name("part.log.2"), log.with_name("part.log.1"), log]
    assert sorted(log.parent.iterdir()) == sorted(files)
    for path in files:
        data = path.read_bytes()
        assert 0 < len(data) <= 4096, path.name
        assert data.endswith(b"\n"), f"{path.name} was cut inside a line"
        assert _mode(path) == 0o600, path.name
    for backup in files[:2]:
        assert backup.stat().st_size > 4096 - len(LINE), f"{backup.name} was rotated early"
    kept = b"".join(path.read_bytes() for path in files).splitlines()
    numbers = [int(line[:8]) for line in kept if not line.startswith(b"---")]
    assert numbers == list(range(5000 - len(numbers), 5000)), "the newest lines, in order"


def test_a_line_longer_than_a_file_is_split_without_loss(tmp_path: Path) -> None:
    log = tmp_path / "part.log"
    code = "import sys\nsys.stdout.write('y' * 10000 + '\\n')\n"
    pid = spawn(_python(tmp_path, code), log, tmp_path / "part.pid", LogRotation(4096, 5))
    _wait_group_gone(pid)
    parts = [log.with_name(f"part.log.{n}") for n in (3, 2, 1)] + [log]  # oldest first
    assert sorted(log.parent.glob("part.log*")) == sorted(parts), "the header, two full files"
    joined = b"".join(p.read_bytes() for p in parts)
    assert joined.endswith(b"\n" + b"y" * 10000 + b"\n")
    assert all(len(p.read_bytes()) <= 4096 for p in parts)


def test_the_pump_outlives_sigterm_and_writes_the_last_words(tmp_path: Path) -> None:
    """`down` signals the whole process group: the pump ignores SIGTERM, so what the program
    writes while shutting down still reaches the file; then both are gone."""
    log = tmp_path / "part.log"
    code = (
        "import signal, sys, time\n"
        "def bye(*_):\n"
        "    time.sleep(0.3); print('shutting down cleanly', flush=True); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    pid = spawn(_python(tmp_path, code), log, tmp_path / "part.pid", LogRotation(1 << 20, 1))
    deadline = time.monotonic() + 10
    while b"\nready\n" not in log.read_bytes():  # the header line quotes the code
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(group_members(pid)) == 2, "the program and its log pump"
    terminate(pid, timeout_s=10)
    _wait_group_gone(pid, timeout_s=5)
    assert log.read_text().splitlines()[-1] == "shutting down cleanly"


def test_stack_setting_rotates_a_part_log_and_down_leaves_no_pump(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """VIGIL_STACK_LOG_MAX_BYTES / _LOG_BACKUPS reach the real controller's log: its access
    log goes past 2 KiB, is rotated into one backup, and `down` stops the pump too."""
    for module in (vigil.stack._prometheus, vigil.stack._alertmanager):
        monkeypatch.setattr(module, "which", lambda name: None)
    monkeypatch.setattr(vigil.stack._postgres, "postgres_bin_dir", lambda: None)
    state = new_state_dir()
    stack = Stack(
        stack_settings(state, log_max_bytes=2048, log_backups=1, s3=False, temporal=False)
    )
    log = stack.controller.log_file
    try:
        try:
            stack.up()
            pid = stack.controller.running_pid()
            assert pid is not None
            assert len(group_members(pid)) == 2, "the controller and its log pump"
            with httpx.Client(
                base_url=stack.controller.url, headers=admin_headers(stack), timeout=5
            ) as client:
                for _ in range(60):  # an access log line each, some 400 bytes
                    assert client.get("/info").status_code == 200
        finally:
            stack.down()
        _wait_group_gone(pid, timeout_s=5)
        # Read once nothing writes: while running, a rotation may be between its two renames.
        assert sorted(p.name for p in log.parent.iterdir()) == [
            "controller.log",
            "controller.log.1",
        ]
        for path in (log, log.with_name("controller.log.1")):
            assert 0 < path.stat().st_size <= 2048
            assert _mode(path) == 0o600
        assert _mode(log.parent) == 0o700
        assert "GET /info 200" in log.read_text() + log.with_name("controller.log.1").read_text()
    finally:
        shutil.rmtree(state, ignore_errors=True)
