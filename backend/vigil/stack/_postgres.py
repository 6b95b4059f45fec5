"""PostgreSQL: a cluster of its own under the state directory, with a ``vigil`` database.

initdb and postgres refuse to run as root, so as root they run as the ``postgres`` account (or
``nobody``), which then owns ``<state>/postgres``. It listens on 127.0.0.1 only, with no unix
socket (the path would depend on the state directory and can exceed the 107-byte limit).

Every login needs a password (``scram-sha-256`` for host and local connections, set by
initdb): a ``trust`` cluster lets any local user log in as any role. The superuser is
``postgres``; after every start ``postgres/roles.sql`` (the compose stack's init script runs
the same file) gives the controller its own role ``vigil``, which is no superuser (a superuser
may run ``COPY ... FROM PROGRAM``: any shell command as the server's account) and owns only
its schemas, and gives dashboards the role ``vigil_readonly``. The three passwords are generated
into ``<state>/secrets/`` (mode 600) and reach psql through its environment only.
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
from urllib.parse import quote

import psycopg

from vigil.stack._binaries import POSTGRES_BINARIES, Missing, postgres_bin_dir
from vigil.stack._component import Component
from vigil.stack._process import LaunchSpec
from vigil.stack._secrets import (
    POSTGRES_APP_PASSWORD,
    POSTGRES_PASSWORD,
    POSTGRES_READONLY_PASSWORD,
    ensure_secret,
    write_private,
)
from vigil.stack.errors import StackError

SUPERUSER = "postgres"
APP_ROLE = "vigil"  # the controller's
READONLY_ROLE = "vigil_readonly"
DATABASE = "vigil"
SERVER_ACCOUNTS = ("postgres", "nobody")
ROLES_SCRIPT = Path("postgres") / "roles.sql"  # in the project checkout
PASSWORD_SECRETS = (POSTGRES_PASSWORD, POSTGRES_APP_PASSWORD, POSTGRES_READONLY_PASSWORD)


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


def _trusts(hba: Path) -> bool:
    """Whether a pg_hba.conf lets some connection in with ``trust`` (no password)."""
    try:
        lines = hba.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StackError(f"postgres: cannot read {hba}: {exc}") from None
    return any("trust" in line.partition("#")[0].split() for line in lines)


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
        """What ``vigil stack status`` shows: the controller's role, no password."""
        return f"postgresql://{APP_ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL the controller uses: role ``vigil``, with its password."""
        return self._sqlalchemy_url(APP_ROLE, POSTGRES_APP_PASSWORD)

    @property
    def readonly_url(self) -> str:
        """A SQLAlchemy URL of the read-only role ``vigil_readonly`` (dashboards), password
        included."""
        return self._sqlalchemy_url(READONLY_ROLE, POSTGRES_READONLY_PASSWORD)

    def _password(self, secret: str) -> str:
        return ensure_secret(self.layout.secret(secret))

    def _sqlalchemy_url(self, role: str, secret: str) -> str:
        password = quote(self._password(secret), safe="")
        return f"postgresql+psycopg://{role}:{password}@127.0.0.1:{self.port}/{DATABASE}"

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
        # initdb reads the superuser's password from a file the server account can read:
        # a copy in its own 700 directory, removed once the cluster exists.
        pwfile = root / "initdb.pwfile"
        write_private(pwfile, self._password(POSTGRES_PASSWORD) + "\n")
        try:
            if account is not None:
                entry = pwd.getpwnam(account)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            self._run(
                self._bin("initdb"),
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",  # host and local lines of pg_hba.conf
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)

    def check_state(self) -> None:
        """Refuse a cluster made by a version before this one: it trusts every local login and
        its superuser is the controller's role. Keeping it would keep both; it must go."""
        if not (self.data_dir / "PG_VERSION").is_file():
            return
        if _trusts(self.data_dir / "pg_hba.conf"):
            raise StackError(
                f"postgres: the cluster in {self.data_dir} was created by an older `vigil stack"
                " up`: it trusts every local login (pg_hba.conf) and its superuser is the"
                " controller's role `vigil`. This version does not run it. Reset it (this"
                f" deletes the stack's PostgreSQL data): {self._reset_hint()}"
            )
        if not self.layout.secret(POSTGRES_PASSWORD).is_file():
            raise StackError(
                f"postgres: the cluster in {self.data_dir} exists but its superuser's password"
                f" file {self.layout.secret(POSTGRES_PASSWORD)} is gone. Reset the cluster"
                f" (this deletes the stack's PostgreSQL data): {self._reset_hint()}"
            )

    def _reset_hint(self) -> str:
        default = self.settings.project() / ".stack"
        state = "" if self.layout.root == default else f" --state-dir {self.layout.root}"
        return f"vigil stack down{state} && rm -rf {self.layout.part(self.name)}"

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
            password=self._password(POSTGRES_PASSWORD),
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
        """Roles, database, schemas and grants: ``postgres/roles.sql``, run by psql."""
        passwords = {name: self._password(name) for name in PASSWORD_SECRETS}
        script = self.settings.project() / ROLES_SCRIPT
        # Nothing of the caller's PG* environment (PGOPTIONS, PGSSLMODE, ...) changes the run.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update(
            PGPASSWORD=passwords[POSTGRES_PASSWORD],
            PGCONNECT_TIMEOUT="5",
            VIGIL_PG_APP_PASSWORD=passwords[POSTGRES_APP_PASSWORD],
            VIGIL_PG_READONLY_PASSWORD=passwords[POSTGRES_READONLY_PASSWORD],
        )
        result = subprocess.run(  # noqa: S603 - PostgreSQL's own psql, resolved path
            [
                self._bin("psql"), "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres",
                "-f", str(script),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env=env,
        )  # fmt: skip
        if result.returncode != 0:
            output = result.stdout + result.stderr
            for password in passwords.values():
                output = output.replace(password, "***")
            raise StackError(f"postgres: psql -f {script} failed:\n{output}")

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
