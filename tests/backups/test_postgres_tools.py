"""pg_dump, pg_restore and psql are those of the server's major version, found by asking it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypedDict

import psycopg
import pytest

from tests.pg_server import PostgresServer
from vigil.artifacts import FilesystemArtifactStore
from vigil.backups import DatabaseToolMissing, create_backup, find_pg_tools, restore_backup
from vigil.backups._pg_client import tool_major
from vigil.models import RunCreate
from vigil.storage import NotFound, open_store, upgrade

pytestmark = pytest.mark.postgres


def _server_major(server: PostgresServer) -> int:
    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres") as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]


def test_the_tools_match_the_servers_major(postgres_server: PostgresServer) -> None:
    major = _server_major(postgres_server)
    tools = find_pg_tools(major)
    assert tools.major == major
    for tool in ("pg_dump", "pg_restore", "psql"):
        assert tool_major(tools.bin_dir / tool) == major, tool


def test_no_tools_of_that_major_is_a_clear_error() -> None:
    """A server newer than every installed client: say which package would fix it."""
    with pytest.raises(DatabaseToolMissing, match=re.escape("install postgresql-client-99")):
        find_pg_tools(99)


def test_langgraphs_checkpoint_tables_are_backed_up_and_restored(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """With the schema langgraph present (postgres/roles.sql makes it), the dump holds
    LangGraph's own checkpoint tables (the real PostgresSaver made them), the manifest counts
    them, and after a wipe and a restore the graph's checkpoint reads back."""
    postgres = pytest.importorskip(
        "langgraph.checkpoint.postgres",
        reason="langgraph-checkpoint-postgres is not installed (the LangGraph integration's extra)",
    )
    from langgraph.graph import END, START, StateGraph

    name = "vigil_backup_langgraph"
    url = postgres_server.create_database(name)
    try:
        upgrade(url)
        with psycopg.connect(_libpq(postgres_server, name), autocommit=True) as conn:
            conn.execute("CREATE SCHEMA langgraph")
        conninfo = _libpq(postgres_server, name) + "?options=-c%20search_path%3Dlanggraph"
        config: Any = {"configurable": {"thread_id": "t1"}}
        with postgres.PostgresSaver.from_conn_string(conninfo) as saver:
            saver.setup()
            graph = StateGraph(Counter)
            graph.add_node("inc", lambda state: {"n": state["n"] + 1})
            graph.add_edge(START, "inc")
            graph.add_edge("inc", END)
            assert graph.compile(checkpointer=saver).invoke({"n": 1}, config) == {"n": 2}
        with (
            FilesystemArtifactStore(tmp_path / "a") as artifacts,
            FilesystemArtifactStore(tmp_path / "b") as location,
        ):
            manifest = create_backup(url, artifacts, location)
            assert manifest.row_counts["langgraph.checkpoints"] >= 1
            assert "langgraph.checkpoint_writes" in manifest.row_counts
            postgres_server.drop_database(name)
            postgres_server.create_database(name)
            report = restore_backup(location, manifest.id, url, artifacts)
        assert report.row_counts == manifest.row_counts
        with postgres.PostgresSaver.from_conn_string(conninfo) as saver:
            restored = saver.get_tuple(config)
        assert restored is not None
        assert restored.checkpoint["channel_values"]["n"] == 2
    finally:
        postgres_server.drop_database(name)


class Counter(TypedDict):
    n: int


def _libpq(server: PostgresServer, database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{server.port}/{database}"


def test_the_controllers_own_role_backs_up_and_restores(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """As in both stacks: the controller's role is no superuser, owns its schemas and may not
    create schemas. It dumps its own database and restores over it (a run made after the
    backup is gone again, the tables still its own, the restore needed no CREATE SCHEMA)."""
    name, role = "vigil_backup_role", "vigil_backup_app"
    postgres_server.create_database(name)
    admin = _libpq(postgres_server, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        conn.execute(f"REVOKE CREATE ON DATABASE {name} FROM PUBLIC")
        conn.execute(f"CREATE SCHEMA observability AUTHORIZATION {role}")
        conn.execute(f"CREATE SCHEMA langgraph AUTHORIZATION {role}")
    url = f"postgresql+psycopg://{role}@127.0.0.1:{postgres_server.port}/{name}"
    try:
        upgrade(url)
        with open_store(url) as store:
            kept = store.create_run(RunCreate(name="kept", agent="a", project_id="p1"))
        with (
            FilesystemArtifactStore(tmp_path / "a") as artifacts,
            FilesystemArtifactStore(tmp_path / "b") as location,
        ):
            manifest = create_backup(url, artifacts, location)
            with open_store(url) as store:
                later = store.create_run(RunCreate(name="later", agent="a", project_id="p1"))
            restore_backup(location, manifest.id, url, artifacts)
        with open_store(url) as store:
            assert store.get_run(kept.id).name == "kept"
            with pytest.raises(NotFound):
                store.get_run(later.id)
        with psycopg.connect(admin) as conn:
            owners = conn.execute(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'observability'"
            ).fetchall()
        assert owners == [(role,)]
    finally:
        postgres_server.drop_database(name)
        with psycopg.connect(_libpq(postgres_server, "postgres"), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")
