"""A throwaway PostgreSQL server for the test session, started from the server binaries.

    server = PostgresServer.start()      # initdb + pg_ctl start, on a free localhost port
    url = server.create_database("t1")  # postgresql+psycopg://postgres@127.0.0.1:PORT/t1
    server.stop()                       # pg_ctl stop -m fast, data directory removed

The data directory is a temp dir; the unix socket lives in it too; trust authentication;
fsync, synchronous_commit and full_page_writes are off (a test server loses nothing of
value in a crash). initdb and postgres refuse to run as root, so as root they run as the
``postgres`` user (or ``nobody``) through ``runuser``, in a temp dir owned by that user.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import psycopg
from psycopg import sql

from tests.ports import free_port as _free_port
from vigil.stack._binaries import postgres_bin_dir

SUPERUSER = "postgres"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in "
    "$VIGIL_PG_BIN, /usr/local/bin, /usr/lib/postgresql/*/bin or /usr/bin: "
    "run scripts/install-native-deps.sh, or `apt-get install postgresql`"
)
SERVER_SETTINGS = (
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=100",
)


class PostgresNotInstalledError(RuntimeError):
    pass


def find_pg_bin() -> Path:
    """The directory holding initdb, pg_ctl and postgres: the native stack's own lookup."""
    found = postgres_bin_dir()
    if found is None:
        raise PostgresNotInstalledError(INSTALL_HINT)
    return found


def _server_user() -> str | None:
    """Who runs the server: ourselves, or an unprivileged account when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresNotInstalledError("running as root and neither 'postgres' nor 'nobody' exist")


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    user: str | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the maintenance database ``postgres``."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    @classmethod
    def start(cls, attempts: int = 3) -> Self:
        bin_dir = find_pg_bin()
        user = _server_user()
        root = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        server = cls(bin_dir=bin_dir, root=root, port=0, user=user)
        try:
            server._run(
                "initdb",
                "-D", str(server.data_dir),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            )  # fmt: skip
            for attempt in range(attempts):
                server.port = _free_port()  # another process may take it first: retry
                try:
                    server._pg_ctl_start()
                    return server
                except subprocess.CalledProcessError:
                    if attempt == attempts - 1:
                        raise
        except BaseException as exc:
            log = server.log_file.read_text() if server.log_file.exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            if isinstance(exc, subprocess.CalledProcessError):
                raise RuntimeError(
                    f"PostgreSQL failed to start: {exc}\n{exc.stdout}\n{exc.stderr}\n{log}"
                ) from exc
            raise
        raise AssertionError("unreachable")

    def _pg_ctl_start(self) -> None:
        options = " ".join(
            [f"-p {self.port}", f"-k {self.root}", *(f"-c {s}" for s in SERVER_SETTINGS)]
        )
        self._run(
            "pg_ctl",
            "-D", str(self.data_dir),
            "-l", str(self.log_file),
            "-o", options,
            "-w",
            "-t", "60",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, binary: str, *args: str) -> None:
        command = [str(self.bin_dir / binary), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, cwd=self.root)

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
