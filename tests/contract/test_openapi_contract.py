"""Contract fuzzing: schemathesis drives every operation of the controller's OpenAPI schema,
on SQLite and on PostgreSQL.

Runs in-process against the ASGI app with positive and negative data and all checks (v4
defaults): no 500s, responses match their documented schemas and status codes. Requests
carry the admin API key (the webhook its own token); the ``ignored_auth`` check then sends
each operation again without a key and with a wrong one, and fails unless it is refused with
401 or 403. New endpoints are covered automatically. The controller traces its requests
(``VIGIL_TRACING_ENABLED``), so every fuzzed request also passes through its server span.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import reset_tracing
from tests.pg_server import PostgresServer
from vigil.auth import new_token
from vigil.controller import create_app
from vigil.secret_files import write_new_secret
from vigil.settings import Settings

WEBHOOK_TOKEN = "contract-webhook-token"
OPS_TOKEN = "contract-ops-token"
ADMIN_TOKEN, _ = new_token()
# schemathesis.toml gives each security scheme of the schema its credential from these, so
# schemathesis knows where auth goes: its negative cases drop it on purpose, and it checks
# the answer.
os.environ["VIGIL_CONTRACT_API_KEY"] = ADMIN_TOKEN
os.environ["VIGIL_CONTRACT_WEBHOOK_TOKEN"] = WEBHOOK_TOKEN
os.environ["VIGIL_CONTRACT_OPS_TOKEN"] = OPS_TOKEN
_databases = itertools.count(1)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def api_schema(request: pytest.FixtureRequest) -> Iterator[schemathesis.BaseSchema]:
    data_dir = Path(tempfile.mkdtemp(prefix="vigil-contract-"))
    write_new_secret(data_dir / "admin.key", ADMIN_TOKEN)
    server: PostgresServer | None = None
    name = f"vigil_contract_{next(_databases)}"
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir}/vigil.db"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(name)
    # Tracing on: the fuzzed requests go through the server span and its store export too.
    reset_tracing()
    app = create_app(
        Settings(
            database_url=url,
            alert_webhook_token=WEBHOOK_TOKEN,
            ops_token=OPS_TOKEN,
            data_dir=data_dir,
            tracing_enabled=True,
        )
    )
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        reset_tracing()
        if server is not None:
            server.drop_database(name)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_contract(case: schemathesis.Case) -> None:
    """Every operation answers within its documented contract for generated input, and
    refuses the same request without (or with a wrong) key."""
    case.call_and_validate()


def test_a_stored_trace_is_answered_as_documented(
    api_schema: schemathesis.BaseSchema,
) -> None:
    """Fuzzed trace ids are never stored ones, so the fuzzing only ever sees 404 and 422 from
    ``GET /traces/{trace_id}``: a real trace (the controller's own server span, continuing a
    ``traceparent`` sent to it) is read back and its 200 checked against the schema too."""
    from vigil.tracing._setup import flush_tracing

    trace_id = os.urandom(16).hex()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    seed = api_schema["/runs"]["GET"].Case(
        headers={**auth, "traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"}
    )
    assert seed.call().status_code == 200
    assert flush_tracing(timeout_s=10)  # the span, from the exporter's queue into the store
    case = api_schema["/traces/{trace_id}"]["GET"].Case(
        path_parameters={"trace_id": trace_id}, headers=auth
    )
    response = case.call_and_validate()
    assert response.status_code == 200
    tree = response.json()
    assert tree["trace_id"] == trace_id
    assert [root["name"] for root in tree["roots"]] == ["GET /runs"]


def test_a_runs_stored_trace_is_answered_as_documented(api_schema: schemathesis.BaseSchema) -> None:
    """The same for ``GET /runs/{run_id}/trace``: a run, a span of it posted in a batch, and
    the 200 read back checked against the schema."""
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    created = (
        api_schema["/runs"]["POST"]
        .Case(headers=auth, body={"name": "r", "agent": "a", "project_id": "p1"})
        .call()
    )
    assert created.status_code == 201
    run_id = created.json()["id"]
    span = {
        "event": "span",
        "trace_id": os.urandom(16).hex(),
        "span_id": os.urandom(8).hex(),
        "name": "plan",
        "service": "agent",
        "start_time": "2026-12-01T08:00:00Z",
        "end_time": "2026-12-01T08:00:01Z",
        "run_id": run_id,
    }
    posted = api_schema["/events/batch"]["POST"].Case(headers=auth, body={"events": [span]}).call()
    assert posted.status_code == 202
    case = api_schema["/runs/{run_id}/trace"]["GET"].Case(
        path_parameters={"run_id": run_id}, headers=auth
    )
    response = case.call_and_validate()
    assert response.status_code == 200
    (trace,) = response.json()["traces"]
    assert (trace["trace_id"], [root["name"] for root in trace["roots"]]) == (
        span["trace_id"],
        ["plan"],
    )
