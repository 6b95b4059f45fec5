"""Process supervision: detached start, pid files, liveness, stop without orphans.

Every part runs as the leader of its own process group (see ``_launcher.py``), with its pid
in a pid file, and its output goes through a log pump child into a size-rotated log file
(``_log_pump.py``). A pid file alone can lie: the process may be gone and its pid reused. So a pid
counts as ours only when the process is alive (a zombie is not), runs the expected program, and
started no later than its pid file was written.

Stopping sends SIGTERM to the whole process group, SIGKILL after a grace period, and then
kills any descendant that left the group: PostgreSQL's backends call setsid() themselves, so
the group alone would not reach them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vigil.stack.errors import StackError

LAUNCHER = Path(__file__).with_name("_launcher.py")
PROC = Path("/proc")
POLL_S = 0.2
# After a part exits, how long its log pump may take to write what is left in the pipe.
DRAIN_S = 2.0
# The pid file is written right after the launcher reports the pid; a process that started
# later than that (plus clock granularity: /proc/stat's boot time is in whole seconds) is
# some other process that reused the pid.
START_SLACK_S = 2.0


@dataclass(frozen=True)
class LaunchSpec:
    """How to start one long-running process."""

    argv: list[str]
    cwd: Path
    env: Mapping[str, str]
    user: str | None = None


@dataclass(frozen=True)
class LogRotation:
    """When a log file is rotated (bytes) and how many old ones are kept."""

    max_bytes: int
    backups: int


def open_log(log_file: Path) -> BinaryIO:
    """``log_file`` for appending, mode 600 (an existing file from an older version too)."""
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def spawn(spec: LaunchSpec, log_file: Path, pid_file: Path, rotation: LogRotation) -> int:
    """Start ``spec`` detached, output appended to ``log_file``; returns and records its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_args = [str(log_file), str(rotation.max_bytes), str(rotation.backups)]
    with open_log(log_file) as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} {' '.join(spec.argv)}\n".encode())
        log.flush()
        launched = subprocess.run(  # noqa: S603 - our own launcher and a resolved binary
            [sys.executable, "-I", str(LAUNCHER), spec.user or "", *log_args, *spec.argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=spec.cwd,
            env=dict(spec.env),
            check=False,
            timeout=30,
        )
    if launched.returncode != 0 or not launched.stdout.strip().isdigit():
        raise StackError(f"could not launch {spec.argv[0]}:\n{tail(log_file)}")
    pid = int(launched.stdout)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n", encoding="utf-8")
    return pid


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat from the state on (the command name may hold spaces)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return stat.rpartition(")")[2].split()


def _boot_time() -> float:
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise StackError("/proc/stat has no btime")


def _started_at(fields: list[str]) -> float:
    # Field 22 of stat is the start time in clock ticks after boot; fields[0] is field 3.
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _alive_no_proc(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (zombies are dead)."""
    if not PROC.is_dir():
        return _alive_no_proc(pid)
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def cmdline(pid: int) -> list[str]:
    """The command line of ``pid`` (empty when gone or unknown)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def running_pid(pid_file: Path, owns: Callable[[list[str]], bool]) -> int | None:
    """The pid in ``pid_file`` if that process is alive, is ours by ``owns(command line)``, and
    is not a later reuse of the pid (see module doc)."""
    pid = read_pid(pid_file)
    if pid is None or not is_alive(pid):
        return None
    if PROC.is_dir():
        fields = _stat_fields(pid)
        if fields is None or _started_at(fields) > pid_file.stat().st_mtime + START_SLACK_S:
            return None
        if not owns(cmdline(pid)):
            return None
    return pid


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` in the process tree (empty without /proc)."""
    if not PROC.is_dir():
        return []
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal(pids: list[int], group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def wait_gone(pids: list[int], timeout_s: float) -> bool:
    """Wait until none of ``pids`` is alive; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while any(is_alive(pid) for pid in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S / 2)
    return True


def terminate(pid: int, timeout_s: float, *, graceful: Callable[[], None] | None = None) -> None:
    """Stop ``pid``, its process group and its descendants; SIGKILL what outlives the grace.

    ``graceful`` replaces the SIGTERM to the leader (e.g. ``pg_ctl stop``); whatever it leaves
    alive is then signalled like any other process.
    """
    tree = [pid, *descendants(pid)]
    if graceful is not None:
        try:
            graceful()
        except (StackError, subprocess.TimeoutExpired):
            _signal([pid], pid, signal.SIGTERM)
    else:
        _signal([pid], pid, signal.SIGTERM)
    if wait_gone(tree, timeout_s):
        return
    _signal([p for p in tree if is_alive(p)], pid, signal.SIGKILL)
    if not wait_gone(tree, 5.0):
        raise StackError(f"processes still alive after SIGKILL: {[p for p in tree if is_alive(p)]}")


def group_members(group: int) -> list[int]:
    """The live processes of process group ``group`` (empty without /proc)."""
    if not PROC.is_dir():
        return []
    members = []
    for entry in PROC.iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == group:
            members.append(int(entry.name))
    return members


def wait_drained(pid: int, timeout_s: float = DRAIN_S) -> None:
    """Wait (bounded) until nothing is left of ``pid``'s process group: its log pump then has
    written the last output of the program to the log file."""
    deadline = time.monotonic() + timeout_s
    while group_members(pid) and time.monotonic() < deadline:
        time.sleep(POLL_S / 4)


def wait_ready(
    name: str, probe: Callable[[], bool], pid: int, timeout_s: float, log_file: Path
) -> None:
    """Poll ``probe`` until it passes; fail fast, with the log's tail, if ``pid`` exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        if not is_alive(pid):
            wait_drained(pid)
            raise StackError(f"{name} exited during start-up; end of {log_file}:\n{tail(log_file)}")
        if probe():
            return
        if time.monotonic() >= deadline:
            raise StackError(
                f"{name} not ready after {timeout_s:.0f}s; end of {log_file}:\n{tail(log_file)}"
            )
        time.sleep(POLL_S)


def tail(log_file: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for error messages (reaching back into the last
    rotated file when the current one is shorter)."""
    found: list[str] = []
    for path in (log_file, log_file.with_name(f"{log_file.name}.1")):
        try:
            found[:0] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            continue
        if len(found) >= lines:
            break
    if not found:
        return f"(no log at {log_file})"
    return "\n".join(found[-lines:])
