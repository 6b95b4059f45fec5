"""One part of the stack: how it is prepared, started, probed and stopped."""

from __future__ import annotations

import errno
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import httpx

from vigil.stack import _process
from vigil.stack._binaries import Missing
from vigil.stack._layout import StateLayout
from vigil.stack._process import LaunchSpec, LogRotation
from vigil.stack._settings import StackSettings
from vigil.stack._web_config import BasicAuth
from vigil.stack.errors import StackError

State = Literal["running", "stopped", "missing"]


@dataclass(frozen=True)
class ComponentStatus:
    """What ``vigil stack status`` shows for one part."""

    name: str
    state: State
    pid: int | None
    url: str
    ready: bool
    log: str
    detail: str = ""


def http_ok(url: str, auth: BasicAuth | None = None) -> bool:
    """Whether ``GET url`` (with basic ``auth``, if given) answers 200 within a second."""
    try:
        return httpx.get(url, timeout=1.0, auth=auth.pair() if auth else None).status_code == 200
    except httpx.HTTPError:
        return False


def port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port`` (bind fails the way a server's would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


class Component(ABC):
    """A long-running process of the stack, known by its pid file and log file."""

    name: ClassVar[str]
    port_option: ClassVar[str | None] = None
    """The ``vigil stack up --<option>-port`` that sets :attr:`port` (default: the name)."""

    def __init__(self, settings: StackSettings, layout: StateLayout) -> None:
        self.settings = settings
        self.layout = layout

    # --- what each part defines -------------------------------------------------------

    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def missing(self) -> list[Missing]:
        """Binaries this part needs and cannot find (empty: it can run)."""

    @abstractmethod
    def prepare(self) -> None:
        """Render config, create directories and data: everything before the process starts."""

    @abstractmethod
    def launch_spec(self) -> LaunchSpec: ...

    @abstractmethod
    def probe(self) -> bool:
        """One quick readiness check."""

    @abstractmethod
    def owns(self, cmdline: list[str]) -> bool:
        """Whether a process with this command line is this part (pid reuse guard)."""

    def check_state(self) -> None:  # noqa: B027 - an optional hook, most parts need none
        """Refuse state this version must not run with (e.g. left by an older, less safe one).

        Called by every ``up``, whether this part is running or not.
        """

    def after_ready(self) -> None:  # noqa: B027 - an optional hook, most parts need none
        """Work once the process answers (e.g. create the database)."""

    def ready_note(self) -> str | None:
        """What `up` says of this part beyond its URL once it is ready (None: nothing)."""
        return None

    def graceful_stop(self) -> Callable[[], None] | None:
        """A clean shutdown other than SIGTERM to the process group, if the program has one."""
        return None

    # --- shared behaviour --------------------------------------------------------------

    @property
    def pid_file(self) -> Path:
        return self.layout.pid_file(self.name)

    @property
    def log_file(self) -> Path:
        return self.layout.log(self.name)

    def running_pid(self) -> int | None:
        """The pid of this part's live process, or None."""
        return _process.running_pid(self.pid_file, self.owns)

    def check_port(self) -> None:
        """A ``StackError`` naming the option to change if this part's port is taken."""
        if port_in_use(self.port):
            raise StackError(
                f"{self.name}: port {self.port} is already in use by another process; stop it or"
                f" choose another port (vigil stack up --{self.port_option or self.name}-port N)"
            )

    def start(self) -> int:
        """Prepare and launch the process; returns its pid (call :meth:`wait_ready` next)."""
        self.check_port()  # again: taken since ``Stack.up`` looked, the start would fail
        self.prepare()
        rotation = LogRotation(self.settings.log_max_bytes, self.settings.log_backups)
        return _process.spawn(self.launch_spec(), self.log_file, self.pid_file, rotation)

    def wait_ready(self, pid: int) -> None:
        _process.wait_ready(
            self.name, self.probe, pid, self.settings.ready_timeout_s, self.log_file
        )
        self.after_ready()

    def stop(self, pid: int) -> None:
        _process.terminate(pid, self.settings.stop_timeout_s, graceful=self.graceful_stop())
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> ComponentStatus:
        log = str(self.log_file)
        if missing := self.missing():
            detail = "missing " + ", ".join(map(str, missing))
            return ComponentStatus(self.name, "missing", None, self.url, False, log, detail)
        pid = self.running_pid()
        if pid is None:
            return ComponentStatus(self.name, "stopped", None, self.url, False, log)
        return ComponentStatus(self.name, "running", pid, self.url, self.probe(), log)
