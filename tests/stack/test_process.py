"""Pid files: a recorded pid counts only while it is alive and still the program we started."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from vigil.stack import Stack, StackSettings


def _stack(tmp_path: Path) -> Stack:
    stack = Stack(StackSettings(state_dir=tmp_path))
    stack.layout.create()
    return stack


def test_pid_of_another_program_is_not_ours(tmp_path: Path) -> None:
    """A reused pid (here: the test process itself) is not mistaken for Prometheus."""
    stack = _stack(tmp_path)
    stack.prometheus.pid_file.write_text(f"{os.getpid()}\n")
    assert stack.prometheus.running_pid() is None
    assert stack.status()[2].state == "stopped"


def test_pid_of_a_process_started_after_the_pid_file_is_not_ours(tmp_path: Path) -> None:
    """Right program name, but younger than the pid file: a reuse of the pid, not ours."""
    stack = _stack(tmp_path)
    fake = tmp_path / "prometheus"  # a program that is called prometheus and just waits
    fake.symlink_to(Path("/bin/sleep"))
    pid_file = stack.prometheus.pid_file
    with subprocess.Popen([str(fake), "30"]) as proc:
        try:
            cmdline = Path(f"/proc/{proc.pid}/cmdline")
            deadline = time.monotonic() + 5
            while not cmdline.read_bytes().startswith(bytes(fake)):  # until exec happened
                assert time.monotonic() < deadline
                time.sleep(0.01)
            pid_file.write_text(f"{proc.pid}\n")
            assert stack.prometheus.running_pid() == proc.pid
            old = time.time() - 60
            os.utime(pid_file, (old, old))
            assert stack.prometheus.running_pid() is None
        finally:
            proc.kill()


def test_dead_and_garbage_pid_files(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    with subprocess.Popen([sys.executable, "-c", "pass"]) as proc:
        proc.wait()
    stack.alertmanager.pid_file.write_text(f"{proc.pid}\n")
    assert stack.alertmanager.running_pid() is None
    stack.postgres.pid_file.write_text("not a pid\n")
    assert stack.postgres.running_pid() is None
