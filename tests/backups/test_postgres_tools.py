"""pg_dump, pg_restore and psql are those of the server's major version, found by asking it."""

from __future__ import annotations

import re

import psycopg
import pytest

from tests.pg_server import PostgresServer
from vigil.backups import DatabaseToolMissing, find_pg_tools
from vigil.backups._postgres import tool_major

pytestmark = pytest.mark.postgres


def _server_major(server: PostgresServer) -> int:
    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres") as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]


def test_the_tools_match_the_servers_major(postgres_server: PostgresServer) -> None:
    major = _server_major(postgres_server)
    tools = find_pg_tools(major)
    assert tools.major == major
    for tool in ("pg_dump", "pg_restore", "psql"):
        assert tool_major(tools.bin_dir / "pg_dump") == major, tool


def test_no_tools_of_that_major_is_a_clear_error() -> None:
    """A server newer than every installed client: say which package would fix it."""
    with pytest.raises(DatabaseToolMissing, match=re.escape("install postgresql-client-99")):
        find_pg_tools(99)
