"""The PostgreSQL client side of backups: which pg_dump, pg_restore and psql, and how they
connect.

**Which binaries.** pg_dump refuses a server newer than itself, and a dump made by a newer
pg_dump may not restore into an older server; the issue asks for the client matched to the
server. The server is asked its version (``server_version_num``), and the first directory
holding ``pg_dump``, ``pg_restore`` and ``psql`` of that same major wins:
``VIGIL_BACKUP_PG_BIN_DIR``, then ``/usr/lib/postgresql/<major>/bin`` (Debian's layout, and
PGDG's in the controller image), then ``PATH``. None of that major: ``DatabaseToolMissing``
naming the package to install.

Passwords reach the tools through ``PGPASSWORD`` in their environment, never their command
line (``/proc/<pid>/cmdline`` is world-readable); no other ``PG*`` variable of the caller
leaks in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg
from sqlalchemy import make_url

from vigil.backups.errors import BackupError, DatabaseToolMissing

TOOLS: Final = ("pg_dump", "pg_restore", "psql")
LOCK_TIMEOUT_MS: Final = 60_000
"""How long the dump and the restore wait for a table lock (a migration, a long transaction)
before failing with a message, instead of hanging."""
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


@dataclass(frozen=True)
class PgTools:
    """pg_dump, pg_restore and psql of one major version."""

    bin_dir: Path
    major: int

    def __getitem__(self, name: str) -> str:
        return str(self.bin_dir / name)


@dataclass(frozen=True)
class PgTarget:
    """Where to connect, from a SQLAlchemy URL."""

    host: str
    port: int
    user: str | None
    password: str | None
    database: str
    query: Mapping[str, str]

    @classmethod
    def from_url(cls, url: str) -> PgTarget:
        parsed = make_url(url)
        if not parsed.database:
            raise BackupError("the PostgreSQL URL names no database")
        query = {key: str(value) for key, value in parsed.query.items()}
        return cls(
            parsed.host or "localhost",
            parsed.port or 5432,
            parsed.username,
            parsed.password if isinstance(parsed.password, str) else None,
            parsed.database,
            query,
        )

    def connect(self, **options: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            connect_timeout=5,
            **{**self.query, **options},
        )

    def env(self) -> dict[str, str]:
        """The tools' environment: the caller's, minus its PG* variables, plus the target."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGHOST=self.host, PGPORT=str(self.port), PGDATABASE=self.database)
        env["PGCONNECT_TIMEOUT"] = "5"
        env["PGOPTIONS"] = f"-c lock_timeout={LOCK_TIMEOUT_MS}"
        if self.user:
            env["PGUSER"] = self.user
        if self.password:
            env["PGPASSWORD"] = self.password
        if "sslmode" in self.query:
            env["PGSSLMODE"] = self.query["sslmode"]
        return env

    def scrub(self, text: str) -> str:
        """Tool output without the password (psql may echo a connection string)."""
        return text.replace(self.password, "***") if self.password else text


def server_version(conn: psycopg.Connection[Any]) -> tuple[int, str]:
    """(major, full version) of the server."""
    number = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
    full = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    return number // 10000, full.split()[0]


def tool_major(pg_dump: Path) -> int | None:
    """The major version ``pg_dump --version`` reports (None if it cannot run)."""
    try:
        result = subprocess.run(  # noqa: S603 - a resolved PostgreSQL binary
            [str(pg_dump), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    match = _VERSION.search(result.stdout)
    return int(match[1]) if match else None


def find_pg_tools(major: int, bin_dir: Path | None = None) -> PgTools:
    """pg_dump, pg_restore and psql of exactly ``major`` (``DatabaseToolMissing``)."""
    candidates: list[Path] = []
    if bin_dir is not None:
        candidates.append(bin_dir)
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    if on_path := shutil.which("pg_dump"):
        candidates.append(Path(on_path).resolve().parent)
    seen: list[str] = []
    for directory in candidates:
        if not all(os.access(directory / tool, os.X_OK) for tool in TOOLS):
            continue
        found = tool_major(directory / "pg_dump")
        seen.append(f"{directory} ({found})")
        if found == major:
            return PgTools(directory, major)
    raise DatabaseToolMissing(
        f"the server is PostgreSQL {major}: no pg_dump, pg_restore and psql {major} found "
        f"(looked at {', '.join(seen) or 'VIGIL_BACKUP_PG_BIN_DIR, /usr/lib/postgresql, PATH'});"
        f" install postgresql-client-{major} or set VIGIL_BACKUP_PG_BIN_DIR"
    )
