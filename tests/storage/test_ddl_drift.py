"""sql/ddl/create_observability_schema.sql is generated from the migrations, and works."""

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.pg_server import PostgresServer
from vigil.models import RunCreate
from vigil.storage import current_revision, open_store, upgrade

ROOT = Path(__file__).resolve().parents[2]
DDL_FILE = ROOT / "sql" / "ddl" / "create_observability_schema.sql"


def test_committed_ddl_matches_the_migrations() -> None:
    """Fails when a migration changed and scripts/generate_ddl.py was not run."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_ddl.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.postgres
def test_ddl_file_provisions_a_usable_schema(postgres_server: PostgresServer) -> None:
    """A DBA applying the file by hand gets a schema the store accepts as current."""
    url = postgres_server.create_database("vigil_ddl_file")
    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=postgres_server.port,
            user="postgres",
            dbname="vigil_ddl_file",
            autocommit=True,
        ) as conn:
            conn.execute(DDL_FILE.read_text().encode())
        assert current_revision(url) == "0007_steps_run_id_unchecked"
        upgrade(url)  # nothing left to do
        with open_store(url) as store:
            run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
            assert store.get_run(run.id) == run
    finally:
        postgres_server.drop_database("vigil_ddl_file")
