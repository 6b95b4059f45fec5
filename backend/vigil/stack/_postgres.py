"""PostgreSQL: a cluster of its own under the state directory, with a ``vigil`` database.

initdb and postgres refuse to run as root, so as root they run as the ``postgres`` account (or
``nobody``), which then owns ``<state>/postgres``. Authentication is ``trust`` for connections
from 127.0.0.1, the only address it listens on (DEV DEFAULT: a developer's machine; the compose
stack has its own credentials). No unix socket: the path would depend on the state directory and
can exceed the 107-byte socket path limit.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from vigil.stack._binaries import POSTGRES_BINARIES, Missing, postgres_bin_dir
from vigil.stack._component import Component
from vigil.stack._process import LaunchSpec
from vigil.stack.errors import StackError

SUPERUSER = "vigil"
DATABASE = "vigil"
SERVER_ACCOUNTS = ("postgres", "nobody")


def server_account() -> str | None:
    """Who runs the server: ourselves (None), or an unprivileged account when we are root."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_ACCOUNTS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise StackError(f"running as root and none of the accounts {SERVER_ACCOUNTS} exist")


def _searchable_by(directory: Path, account: str) -> bool:
    entry = pwd.getpwnam(account)
    groups = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if account in g.gr_mem}
    mode = directory.stat()
    if mode.st_uid == entry.pw_uid:
        return bool(mode.st_mode & stat.S_IXUSR)
    if mode.st_gid in groups:
        return bool(mode.st_mode & stat.S_IXGRP)
    return bool(mode.st_mode & stat.S_IXOTH)


class Postgres(Component):
    name = "postgres"

    @property
    def port(self) -> int:
        return self.settings.postgres_port

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL the controller uses."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data_dir(self) -> Path:
        return self.layout.part(self.name) / "data"

    def missing(self) -> list[Missing]:
        if postgres_bin_dir() is not None:
            return []
        return [Missing("/".join(POSTGRES_BINARIES), "postgresql")]

    def _bin(self, name: str) -> str:
        directory = postgres_bin_dir()
        if directory is None:
            raise StackError(f"PostgreSQL server binaries not found: {self.missing()[0]}")
        return str(directory / name)

    def _as_account(self) -> dict[str, Any]:
        """subprocess arguments that run a one-shot command as the server account."""
        account = server_account()
        if account is None:
            return {}
        entry = pwd.getpwnam(account)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _run(self, *argv: str, timeout_s: float = 120) -> None:
        result = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, resolved paths
            list(argv),
            cwd=self.layout.part(self.name),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
            **self._as_account(),
        )
        if result.returncode != 0:
            raise StackError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")

    def prepare(self) -> None:
        root = self.layout.part(self.name)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        account = server_account()
        if account is not None:
            entry = pwd.getpwnam(account)
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for parent in root.parents:
                if not _searchable_by(parent, account):
                    raise StackError(
                        f"PostgreSQL runs as {account!r}, which cannot enter {parent} (mode "
                        f"{stat.filemode(parent.stat().st_mode)}): use a state directory that "
                        "account can reach"
                    )
        if (self.data_dir / "PG_VERSION").is_file():
            return
        self._run(
            self._bin("initdb"),
            "-D", str(self.data_dir),
            "-U", SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        )  # fmt: skip

    def launch_spec(self) -> LaunchSpec:
        argv = [
            self._bin("postgres"),
            "-D", str(self.data_dir),
            "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=",
        ]  # fmt: skip
        return LaunchSpec(
            argv=argv,
            cwd=self.layout.part(self.name),
            env=os.environ,
            user=server_account(),
        )

    def _connect(self, dbname: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            dbname=dbname,
            connect_timeout=2,
            autocommit=True,
        )

    def probe(self) -> bool:
        try:
            with self._connect("postgres") as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def after_ready(self) -> None:
        with self._connect("postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))

    def graceful_stop(self) -> Callable[[], None] | None:
        def pg_ctl_stop() -> None:
            timeout = self.settings.stop_timeout_s
            self._run(
                self._bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast",
                "-w", "-t", str(int(timeout)), timeout_s=timeout + 5,
            )  # fmt: skip

        return pg_ctl_stop

    def owns(self, cmdline: list[str]) -> bool:
        return bool(cmdline) and os.path.basename(cmdline[0]) == "postgres"
