"""The public surface of ``vigil.integrations.temporal`` is a decision: this test pins it;
and an agent importing it loads no server library."""

import subprocess
import sys

import vigil.integrations.temporal


def test_exported_names() -> None:
    assert sorted(vigil.integrations.temporal.__all__) == [
        "Outcome",
        "TemporalRecorder",
        "VigilInterceptor",
        "correlation_id",
        "derived_id",
        "temporal_runtime",
        "tracing_interceptor",
    ]
    for name in vigil.integrations.temporal.__all__:
        assert getattr(vigil.integrations.temporal, name) is not None


def test_importing_it_loads_no_server_library() -> None:
    """A worker recording over HTTP needs neither FastAPI nor SQLAlchemy nor psycopg."""
    code = (
        "import sys, vigil.integrations.temporal\n"
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'psycopg', 'uvicorn')"
        " if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"
