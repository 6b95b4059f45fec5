"""The public surface of ``vigil.integrations.langgraph`` is a decision, and what importing it
loads: an agent installs and loads only what it uses."""

from __future__ import annotations

import subprocess
import sys

import vigil.integrations.langgraph
from tests.integrations.langgraph.conftest import agent_env

SERVER_LIBRARIES = ("fastapi", "starlette", "sqlalchemy", "alembic", "psycopg", "boto3", "uvicorn")


def test_exported_names() -> None:
    assert sorted(vigil.integrations.langgraph.__all__) == [
        "CheckpointDatabase",
        "LangfuseLink",
        "STEP_DURATION_METRIC",
        "VigilCallbackHandler",
        "agent_callbacks",
        "idle_threads",
        "open_async_checkpointer",
        "open_checkpointer",
        "prune_idle_threads",
    ]
    for name in vigil.integrations.langgraph.__all__:
        assert getattr(vigil.integrations.langgraph, name) is not None


def _loaded(code: str) -> list[str]:
    probe = (
        f"import sys\n{code}\nprint(sorted(m for m in {SERVER_LIBRARIES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=agent_env(), capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    return eval(result.stdout)  # noqa: S307  (our own probe's printed list)


def test_an_agent_loads_no_server_library() -> None:
    """``import vigil``, ``vigil.sdk`` and the integration (handler, Langfuse link, an
    HttpSink recorder) load none of FastAPI, Starlette, SQLAlchemy, Alembic, psycopg, boto3."""
    assert _loaded("import vigil") == []
    assert _loaded("import vigil.sdk") == []
    code = (
        "from vigil.integrations.langgraph import VigilCallbackHandler, agent_callbacks\n"
        "from vigil.sdk import AgentRecorder, HttpSink\n"
        "recorder = AgentRecorder(HttpSink('http://127.0.0.1:9'))\n"
        "agent_callbacks(recorder)\n"
        "recorder.close(timeout=1)"
    )
    assert _loaded(code) == []


def test_the_checkpointer_loads_psycopg_only_when_it_opens_one() -> None:
    """Importing the checkpointer's module loads nothing; opening a PostgreSQL saver does."""
    assert _loaded("from vigil.integrations.langgraph import open_checkpointer") == []
