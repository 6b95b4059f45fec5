"""The native stack as a whole: bring it up, report on it, take it down.

Start order: PostgreSQL, Alertmanager, Prometheus, SeaweedFS and Temporal are launched together
and waited for; the controller follows once its database answers. A part already running (live
pid of the right program) is left alone, so a second ``up`` is harmless. If a part fails,
whatever this ``up`` started is stopped again and the error carries the tail of the failing
part's log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from vigil.stack._alertmanager import Alertmanager
from vigil.stack._binaries import can_install, install_native_deps
from vigil.stack._component import Component, ComponentStatus
from vigil.stack._controller import Controller
from vigil.stack._layout import StateLayout
from vigil.stack._postgres import Postgres
from vigil.stack._prometheus import Prometheus
from vigil.stack._seaweedfs import SeaweedFS
from vigil.stack._secrets import ensure_secret
from vigil.stack._settings import StackSettings
from vigil.stack._temporal import Temporal
from vigil.stack.errors import StackError

Say = Callable[[str], None]
# Settings that only change how `up` behaves, not what runs: a second `up` may differ in them.
LAUNCH_ONLY = frozenset(
    {"ready_timeout_s", "stop_timeout_s", "install_missing", "log_max_bytes", "log_backups"}
)


def _quiet(_: str) -> None:
    pass


class Stack:
    """PostgreSQL, Prometheus, Alertmanager, SeaweedFS (S3), Temporal and the controller, run
    from one state directory."""

    def __init__(self, settings: StackSettings | None = None, *, say: Say = _quiet) -> None:
        self.settings = settings or StackSettings()
        self.layout = StateLayout(self.settings.state())
        self.say = say
        self.postgres = Postgres(self.settings, self.layout)
        self.prometheus = Prometheus(self.settings, self.layout)
        self.alertmanager = Alertmanager(self.settings, self.layout)
        self.seaweedfs = SeaweedFS(self.settings, self.layout)
        self.temporal = Temporal(self.settings, self.layout)
        self.controller = Controller(
            self.settings, self.layout, self._database_url, self._artifacts_env
        )

    @classmethod
    def from_state(cls, settings: StackSettings | None = None, *, say: Say = _quiet) -> Stack:
        """The stack as the last ``up`` in that state directory configured it (for status/down)."""
        settings = settings or StackSettings()
        saved = StateLayout(settings.state()).settings_file
        if saved.is_file():
            settings = StackSettings(**json.loads(saved.read_text(encoding="utf-8")))
        return cls(settings, say=say)

    @property
    def components(self) -> list[Component]:
        """Every part, in start order (SeaweedFS and Temporal unless the settings leave them
        out)."""
        s3 = [self.seaweedfs] if self.settings.s3 else []
        temporal = [self.temporal] if self.settings.temporal else []
        return [
            self.postgres,
            self.alertmanager,
            self.prometheus,
            *s3,
            *temporal,
            self.controller,
        ]

    def _database_url(self) -> str:
        return self.controller.sqlite_url if self.postgres.missing() else self.postgres.database_url

    def _artifacts_env(self) -> dict[str, str]:
        """The controller's artifact store: SeaweedFS when it runs, else the filesystem."""
        if self.settings.s3 and not self.seaweedfs.missing():
            return self.seaweedfs.controller_env()
        return {}

    def _saved_settings(self) -> dict[str, object]:
        resolved = self.settings.model_copy(
            update={
                "project_dir": self.settings.project(),
                "state_dir": self.settings.state(),
                "rules_dir": self.settings.rules(),
            }
        )
        return json.loads(resolved.model_dump_json())  # type: ignore[no-any-return]

    def _check_same_settings(self) -> None:
        """Refuse to mix a running stack with different ports or options."""
        saved = self.layout.settings_file
        if not saved.is_file() or not any(c.running_pid() for c in self.components):
            return
        before = json.loads(saved.read_text(encoding="utf-8"))
        now = self._saved_settings()
        if any(before.get(key) != now[key] for key in now if key not in LAUNCH_ONLY):
            raise StackError(
                f"a stack is running from {self.layout.root} with other settings "
                f"(see {saved}): run `vigil stack down` first"
            )

    def _usable(self) -> list[Component]:
        """The parts whose binaries exist, after installing missing ones when allowed."""
        wanted = any(c.missing() for c in self.components) and self.settings.install_missing
        if wanted and can_install():
            install_native_deps(self.settings.project(), self.say)
        usable = []
        for component in self.components:
            if missing := component.missing():
                self.say(f"{component.name}: not started, missing {', '.join(map(str, missing))}")
            else:
                usable.append(component)
        if len(usable) < len(self.components):
            hint = "sudo scripts/install-native-deps.sh (or apt-get install the packages above)"
            self.say(f"install what is missing with: {hint}")
        if self.postgres not in usable:
            self.say(f"controller: no PostgreSQL, using SQLite ({self.controller.sqlite_url})")
        if self.seaweedfs not in usable:
            self.say("controller: no S3, artifacts on the filesystem of its data directory")
        return usable

    def up(self) -> list[ComponentStatus]:
        """Start every part that is not running; returns the status of each part."""
        self.layout.create()
        self._check_same_settings()
        usable = self._usable()
        for component in usable:
            component.check_state()
        # Every port before any start: the controller's, checked when its turn came, was found
        # taken only after the other parts had started (and were stopped again).
        for component in usable:
            if component.running_pid() is None:
                component.check_port()
        ensure_secret(self.layout.webhook_token)
        self.layout.settings_file.write_text(json.dumps(self._saved_settings(), indent=2) + "\n")
        waves: list[list[Component]] = [
            [c for c in usable if c is not self.controller],
            [self.controller],
        ]
        started: list[Component] = []
        try:
            for wave in waves:
                launched: list[tuple[Component, int]] = []
                for component in wave:
                    if (pid := component.running_pid()) is not None:
                        self.say(f"{component.name}: already running (pid {pid})")
                        continue
                    pid = component.start()
                    started.append(component)
                    launched.append((component, pid))
                for component, pid in launched:
                    component.wait_ready(pid)
                    self.say(f"{component.name}: ready at {component.url} (pid {pid})")
                    if (note := component.ready_note()) is not None:
                        self.say(note)
        except BaseException:
            for component in reversed(started):
                if (pid := component.running_pid()) is not None:
                    component.stop(pid)
            raise
        return self.status()

    def down(self) -> None:
        """Stop every part this state directory started (reverse order, PostgreSQL last)."""
        for component in reversed(self.components):
            pid = component.running_pid()
            if pid is None:
                component.pid_file.unlink(missing_ok=True)
                self.say(f"{component.name}: not running")
                continue
            component.stop(pid)
            self.say(f"{component.name}: stopped (pid {pid})")

    def status(self) -> list[ComponentStatus]:
        return [component.status() for component in self.components]

    def urls(self) -> dict[str, str]:
        return {component.name: component.url for component in self.components}

    def log_files(self) -> dict[str, Path]:
        return {component.name: component.log_file for component in self.components}
