"""The controller as a separate process, ``python -m vigil serve``, on a port of the caller's
choosing, so that it can be killed with SIGKILL and started again at the same address: for
the fault tests, and for the benchmarks and load tests, which serve it the same way.

Its data directory holds an admin key written before the first start (the controller
registers it, as in tests/controller/conftest.py), so SDK processes started before the
controller already know a key it will accept. The environment's own ``VIGIL_*`` variables
are left out: what the controller is told is exactly ``settings`` over the defaults.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from vigil.auth import new_token
from vigil.secret_files import write_new_secret

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0


@dataclass
class ControllerProcess:
    database_url: str
    data_dir: Path
    port: int
    settings: Mapping[str, str] = field(default_factory=dict)
    """More ``VIGIL_*`` variables, over the defaults (WARNING logs, its own logs not stored)."""
    command: Sequence[str] | None = None
    """What serves it, the port included (default ``python -m vigil serve --port PORT``)."""
    prefix: Sequence[str] = ()
    """Put before the command: ``("taskset", "-c", "0")`` pins it to a core."""
    tree: Path | None = None
    """A checkout whose code it runs (on ``PYTHONPATH``, and the working directory), for a
    benchmark that compares two; default: the installed package."""
    keep_output: bool = True
    """False: its output goes to /dev/null (a benchmark: writing it would count in the CPU
    it measures, and it did not before); ``output()`` is then empty."""
    probe: str = "/health/startup"
    """What ``start`` waits for: the startup probe, or ``/health/ready`` (its stores too)."""
    start_timeout_s: float | None = None
    """How long ``start`` waits (default ``START_TIMEOUT_S``; more under valgrind)."""
    token: str = field(init=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _starts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.token, _ = new_token()
        write_new_secret(self.data_dir / "admin.key", self.token)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> float:
        """Start it and wait until its ``probe`` answers 200; returns the seconds taken."""
        assert self._process is None, "already running"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        env |= {
            "VIGIL_DATABASE_URL": self.database_url,
            "VIGIL_DATA_DIR": str(self.data_dir),
            "VIGIL_LOG_LEVEL": "WARNING",
            "VIGIL_PERSIST_LOGS": "off",
            **self.settings,
        }
        if self.tree is not None:
            env["PYTHONPATH"] = f"{self.tree / 'backend'}{os.pathsep}{self.tree}"
        command = self.command or [sys.executable, "-m", "vigil", "serve", "--port", str(self.port)]
        timeout = START_TIMEOUT_S if self.start_timeout_s is None else self.start_timeout_s
        self._starts += 1
        began = time.monotonic()
        with contextlib.ExitStack() as files:
            log: IO[bytes] | int = subprocess.DEVNULL
            if self.keep_output:
                log_file = self.data_dir / f"controller-{self._starts}.log"
                log = files.enter_context(log_file.open("wb"))
            self._process = subprocess.Popen(
                [*self.prefix, *command],
                cwd=self.tree or self.data_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while True:
            try:
                if httpx.get(f"{self.url}{self.probe}", timeout=1.0).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                pass
            if self._process.poll() is not None:
                self._process = None
                raise AssertionError(f"controller exited at start-up:\n{self.output()}")
            if time.monotonic() - began > timeout:
                self.kill()  # never left running (a benchmark's pinned one, say)
                raise AssertionError(f"controller did not start:\n{self.output()}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        """The running process's id (for its CPU time)."""
        assert self._process is not None, "not running"
        return self._process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown, no answer to what is in flight."""
        process = self._take()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), if it runs."""
        if self._process is None:
            return
        process = self._take()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def _take(self) -> subprocess.Popen[bytes]:
        process, self._process = self._process, None
        assert process is not None, "not running"
        return process

    def output(self) -> str:
        """What the last start wrote (its log lines), for failure messages."""
        log = self.data_dir / f"controller-{self._starts}.log"
        return log.read_text(errors="replace")[-5_000:] if log.exists() else ""
