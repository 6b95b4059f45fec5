"""PostgreSQL: ``pg_dump --format=custom`` of Vigil's schemas, restored with pg_restore + psql.

**What is dumped.** The ``observability`` schema (every Vigil table and Alembic's version
table) and, when it exists, ``langgraph`` (LangGraph's checkpoint tables, postgres/roles.sql).
The row counts of the manifest are taken in the same snapshot as the dump: a REPEATABLE READ
transaction exports its snapshot and pg_dump imports it (``--snapshot``), so the counts are
exactly the dump's while the controller goes on writing.

**Restore.** All or nothing, in one transaction: psql ``--single-transaction`` reads a
prelude that empties the dumped schemas (creating them if missing), then what ``pg_restore
-f -`` makes of the archive. The archive's own ``CREATE SCHEMA`` entries are left out (the
controller's role owns its schemas but may not create schemas in the stack's databases), and
so are owners and grants: everything restored belongs to the role of ``VIGIL_DATABASE_URL``,
as when its migrations created it. A failure anywhere rolls the whole restore back.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Final

import psycopg
from psycopg import sql

from vigil.artifacts import ObjectWriter
from vigil.backups._dump import DatabaseDump
from vigil.backups._pg_client import (
    LOCK_TIMEOUT_MS,
    PgTarget,
    PgTools,
    find_pg_tools,
    server_version,
)
from vigil.backups.errors import BackupError, DatabaseToolFailed
from vigil.storage._schema import PG_SCHEMA

LANGGRAPH_SCHEMA: Final = "langgraph"
SCHEMAS: Final = (PG_SCHEMA, LANGGRAPH_SCHEMA)
CHUNK_BYTES: Final = 1024 * 1024


def existing_schemas(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY nspname",
        (list(SCHEMAS),),
    ).fetchall()
    return [row[0] for row in rows]


def count_rows(conn: psycopg.Connection[Any], schemas: list[str]) -> dict[str, int]:
    """Exact rows of every table of ``schemas`` (a partitioned table counts its partitions;
    the partitions themselves are not listed). Vigil's tables by name, others qualified."""
    tables = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " ORDER BY n.nspname, c.relname",
        (schemas,),
    ).fetchall()
    counts = {}
    for schema, table in tables:
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        name = table if schema == PG_SCHEMA else f"{schema}.{table}"
        counts[name] = int(conn.execute(query).fetchone()[0])  # type: ignore[index]
    return counts


def _revision(conn: psycopg.Connection[Any], schemas: list[str]) -> str | None:
    if PG_SCHEMA not in schemas:
        return None
    exists = conn.execute("SELECT to_regclass(%s)", (f"{PG_SCHEMA}.alembic_version",)).fetchone()
    if exists is None or exists[0] is None:
        return None
    row = conn.execute(f"SELECT version_num FROM {PG_SCHEMA}.alembic_version").fetchone()  # noqa: S608 - a constant
    return None if row is None else str(row[0])


def database_row_counts(url: str) -> dict[str, int]:
    """Rows per table now (after a restore, to compare with the manifest)."""
    with PgTarget.from_url(url).connect(autocommit=True) as conn:
        return count_rows(conn, existing_schemas(conn))


def backup_postgres(url: str, writer: ObjectWriter, *, bin_dir: Path | None = None) -> DatabaseDump:
    """Stream ``pg_dump --format=custom`` of Vigil's schemas (and LangGraph's, if present)
    into ``writer``; returns the row counts of the dump's own snapshot. The caller commits."""
    target = PgTarget.from_url(url)
    with target.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        major, version = server_version(conn)
        tools = find_pg_tools(major, bin_dir)
        schemas = existing_schemas(conn)
        if PG_SCHEMA not in schemas:
            raise BackupError(f"the database has no {PG_SCHEMA} schema: nothing to back up")
        snapshot = str(conn.execute("SELECT pg_export_snapshot()").fetchone()[0])  # type: ignore[index]
        counts = count_rows(conn, schemas)
        revision = _revision(conn, schemas)
        argv = [
            tools["pg_dump"],
            "--format=custom",
            f"--snapshot={snapshot}",
            f"--lock-wait-timeout={LOCK_TIMEOUT_MS}",
            *(f"--schema={schema}" for schema in schemas),
        ]
        # The exporting transaction stays open until pg_dump is done with the snapshot.
        _stream_out(argv, target, writer)
    return DatabaseDump(counts, revision, version)


def _stream_out(argv: list[str], target: PgTarget, writer: ObjectWriter) -> None:
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - PostgreSQL's own binary, resolved path
            argv, stdout=subprocess.PIPE, stderr=errors, env=target.env()
        )
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE
        try:
            while chunk := process.stdout.read(CHUNK_BYTES):
                writer.write(chunk)
        except BaseException:
            process.kill()
            raise
        finally:
            process.stdout.close()
            code = process.wait()
        if code != 0:
            raise DatabaseToolFailed(f"pg_dump failed ({code}): {_tail(errors, target)}")


def _tail(file: IO[bytes], target: PgTarget) -> str:
    file.seek(0)
    text = file.read().decode(errors="replace").strip()
    return target.scrub(text[-2000:]) or "(no message)"


def archive_schemas(tools: PgTools, dump: Path, target: PgTarget) -> tuple[list[str], str]:
    """The schemas an archive holds, and its table of contents without their ``CREATE
    SCHEMA`` entries (a pg_restore ``--use-list``)."""
    result = subprocess.run(  # noqa: S603 - PostgreSQL's own binary
        [tools["pg_restore"], "--list", str(dump)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=target.env(),
    )
    if result.returncode != 0:
        raise DatabaseToolFailed(f"pg_restore --list failed: {target.scrub(result.stderr)}")
    schemas, kept = [], []
    for line in result.stdout.splitlines():
        entry = re.match(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", line)
        if entry:
            schemas.append(entry[1])
            continue
        kept.append(line)
    return schemas, "\n".join(kept) + "\n"


_EMPTY_SCHEMA = """
DO $vigil$
DECLARE
  target text;
  item record;
BEGIN
  FOREACH target IN ARRAY %(schemas)s LOOP
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = target) THEN
      EXECUTE format('CREATE SCHEMA %%I', target);
    END IF;
    FOR item IN
      SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = target AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        AND NOT c.relispartition
    LOOP
      EXECUTE format(
        'DROP %%s IF EXISTS %%I.%%I CASCADE',
        CASE item.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
          WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
        target, item.relname);
    END LOOP;
    FOR item IN
      SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = target
    LOOP
      EXECUTE format('DROP ROUTINE IF EXISTS %%I.%%I(%%s) CASCADE',
                     target, item.proname, item.arguments);
    END LOOP;
    FOR item IN
      SELECT t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = target AND t.typtype IN ('e', 'd', 'r')
    LOOP
      EXECUTE format('DROP %%s IF EXISTS %%I.%%I CASCADE',
                     CASE item.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                     target, item.typname);
    END LOOP;
  END LOOP;
END
$vigil$;
"""


def row_count_check(expected: Mapping[str, int]) -> str:
    """A DO block that raises (so the restore's transaction rolls back) unless every table
    has the rows the manifest counted: the check happens before the commit, not after it,
    when a controller may already be writing again."""
    checks = []
    for name, rows in sorted(expected.items()):
        schema, _, table = name.rpartition(".")
        schema = schema or PG_SCHEMA
        qualified = f"{_identifier(schema)}.{_identifier(table)}"
        checks.append(
            f"  SELECT count(*) INTO got FROM {qualified};\n"  # noqa: S608 - checked identifiers
            f"  IF got <> {int(rows)} THEN RAISE EXCEPTION 'table {schema}.{table} has % rows "
            f"after the restore, the manifest counted {int(rows)}', got; END IF;"
        )
    body = "\n".join(checks)
    return f"DO $vigil$\nDECLARE got bigint;\nBEGIN\n{body}\nEND\n$vigil$;\n"


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise BackupError(f"unexpected table name in the manifest: {name!r}")
    return f'"{name}"'


def restore_postgres(
    url: str,
    dump: Path,
    *,
    bin_dir: Path | None = None,
    expected_rows: Mapping[str, int] | None = None,
) -> None:
    """Replace the contents of the archive's schemas with the archive, in one transaction;
    with ``expected_rows``, committed only if every table has that many rows."""
    target = PgTarget.from_url(url)
    with target.connect(autocommit=True) as conn:
        major, _ = server_version(conn)
    tools = find_pg_tools(major, bin_dir)
    schemas, use_list = archive_schemas(tools, dump, target)
    if not schemas:
        raise BackupError("the database archive holds no schema")
    array = "ARRAY[" + ", ".join(_literal(s) for s in schemas) + "]::text[]"
    prelude = _EMPTY_SCHEMA % {"schemas": array}
    with tempfile.TemporaryDirectory(prefix="vigil-restore-") as work:
        list_file = Path(work) / "restore.list"
        list_file.write_text(use_list, encoding="utf-8")
        epilogue = row_count_check(expected_rows) if expected_rows is not None else ""
        _restore_through_psql(tools, target, dump, list_file, prelude, epilogue)


def _literal(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise BackupError(f"unexpected schema name in the archive: {value!r}")
    return f"'{value}'"


def _restore_through_psql(
    tools: PgTools, target: PgTarget, dump: Path, list_file: Path, prelude: str, epilogue: str
) -> None:
    env = target.env()
    with tempfile.TemporaryFile() as psql_errors, tempfile.TemporaryFile() as restore_errors:
        psql = subprocess.Popen(  # noqa: S603 - PostgreSQL's own binary
            [
                tools["psql"], "--no-psqlrc", "--quiet", "--single-transaction",
                "--set=ON_ERROR_STOP=1", "--file=-",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_errors,
            env=env,
        )  # fmt: skip
        restore = subprocess.Popen(  # noqa: S603 - PostgreSQL's own binary
            [
                tools["pg_restore"], "--no-owner", "--no-privileges", "--exit-on-error",
                f"--use-list={list_file}", "--file=-", str(dump),
            ],
            stdout=subprocess.PIPE,
            stderr=restore_errors,
            env=env,
        )  # fmt: skip
        assert psql.stdin is not None  # noqa: S101 - stdin=PIPE
        assert restore.stdout is not None  # noqa: S101 - stdout=PIPE
        try:
            psql.stdin.write(prelude.encode())
            shutil.copyfileobj(restore.stdout, psql.stdin, CHUNK_BYTES)
            # After pg_restore's last statement, before psql's COMMIT (if pg_restore failed,
            # psql is killed below and commits nothing, whatever it was sent).
            psql.stdin.write(epilogue.encode())
        except BrokenPipeError:
            pass  # psql stopped at an error: its status and message say which
        except BaseException:
            psql.kill()
            restore.kill()
            raise
        finally:
            restore.stdout.close()
        stopped_early = psql.poll() is not None
        restore_code = restore.wait()
        if not stopped_early and restore_code != 0:
            # Killed before its input ends, psql never commits: the server rolls back.
            psql.kill()
            psql.wait()
            raise DatabaseToolFailed(
                f"pg_restore failed ({restore_code}), the restore was rolled back: "
                f"{_tail(restore_errors, target)}"
            )
        with contextlib.suppress(BrokenPipeError):
            psql.stdin.close()
        if psql.wait() != 0:
            raise DatabaseToolFailed(
                f"the restore was rolled back, nothing changed: {_tail(psql_errors, target)}"
            )
