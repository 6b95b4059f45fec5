"""LangGraph's checkpointers on the controller's database (PostgreSQL and SQLite, real).

Durable state: a process runs the example graph to its interrupt (before the tool node) and
is killed with SIGKILL; a new process resumes the same thread from the checkpointer and ends
with the right answer. The PostgreSQL pool survives its connections being dropped while
idle (langgraph #7304), and setting the tables up again, or from two agents at once, is
harmless.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.messages import HumanMessage

from examples.support_agent import build_graph
from tests.integrations.langgraph.conftest import run_agent, start_agent
from tests.pg_server import PostgresServer
from vigil.integrations.langgraph import CheckpointDatabase, open_checkpointer

ANSWER_7 = "Here is what I found: order 7: shipped on 2026-11-28."


def test_a_killed_agent_resumes_from_the_checkpointer(store_url: str) -> None:
    paused = start_agent("pause", "--checkpoints", store_url, "--thread", "order-7")
    try:
        assert paused.stdout is not None
        line = paused.stdout.readline()
        assert line == 'PAUSED ["tools"]\n', paused.stderr.read() if paused.stderr else ""
        paused.send_signal(signal.SIGKILL)
        assert paused.wait(timeout=10) == -signal.SIGKILL
    finally:
        if paused.poll() is None:
            paused.kill()
            paused.wait()
        paused.communicate()  # closes its pipes
    final = json.loads(run_agent("resume", "--checkpoints", store_url, "--thread", "order-7"))
    assert final["resumed_from"] == ["tools"]
    assert final["answer"] == ANSWER_7
    assert final["messages"] == ["human", "ai", "tool", "ai"]


def _ask(graph: Any, thread: str) -> str:
    config = {"configurable": {"thread_id": thread}}
    return str(graph.invoke({"messages": [HumanMessage("Where is order 7?")]}, config)["answer"])


@pytest.mark.postgres
def test_the_pool_survives_dropped_connections(postgres_server: PostgresServer) -> None:
    """Every connection of the pool is terminated by the server between two invocations (an
    idle timeout, a proxy, a restart of PgBouncer): the next invocation still works."""
    url = postgres_server.create_database("lg_disconnects")
    with open_checkpointer(database_url=url) as checkpointer:
        graph = build_graph(checkpointer)
        assert _ask(graph, "before") == ANSWER_7
        target = CheckpointDatabase.from_url(url).target
        with psycopg.connect(target, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert killed is not None
        assert killed[0] >= 1
        assert _ask(graph, "after") == ANSWER_7
        assert graph.get_state({"configurable": {"thread_id": "before"}}).values["answer"]


@pytest.mark.postgres
def test_postgres_tables_live_in_their_own_schema(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("lg_schema")
    with open_checkpointer(database_url=url) as checkpointer:
        _ask(build_graph(checkpointer), "t")
    with psycopg.connect(CheckpointDatabase.from_url(url).target) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'langgraph'"
            )
        }
    assert {"checkpoints", "checkpoint_blobs", "checkpoint_writes"} <= tables


def test_setup_is_idempotent_and_safe_to_race(store_url: str) -> None:
    """Two agents starting at once, then a third later, all set the tables up: no error."""
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with open_checkpointer(database_url=store_url) as checkpointer:
                _ask(build_graph(checkpointer), f"t-{threading.get_ident()}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    start()
    assert errors == []


def test_a_sqlite_agent_waits_for_a_file_another_holds(tmp_path: Path) -> None:
    """Another agent holding the checkpoint file's write lock for longer than sqlite3's
    default busy timeout (5 s) delays this one; it does not fail it ("database is locked")."""
    url = f"sqlite:///{tmp_path}/vigil.db"
    with open_checkpointer(database_url=url):
        pass  # the file and its tables exist
    target = CheckpointDatabase.from_url(url).target
    holder = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(5.5, holder.execute, args=("COMMIT",))
    release.start()
    try:
        started = time.monotonic()
        with open_checkpointer(database_url=url) as checkpointer:
            assert _ask(build_graph(checkpointer), "waited") == ANSWER_7
        assert time.monotonic() - started >= 5.0  # it did wait for the lock
    finally:
        release.join()
        holder.close()


def test_sqlite_checkpoints_sit_next_to_the_controllers_database(tmp_path: Path) -> None:
    database = CheckpointDatabase.from_url(f"sqlite:///{tmp_path}/data/vigil.db")
    assert database == CheckpointDatabase("sqlite", f"{tmp_path}/data/langgraph-checkpoints.db")
    relative = CheckpointDatabase.from_url("sqlite:///./data/vigil.db")
    assert relative.target == "data/langgraph-checkpoints.db"
    with pytest.raises(ValueError, match="in-memory"):
        CheckpointDatabase.from_url("sqlite:///:memory:")
    with pytest.raises(ValueError, match="scheme"):
        CheckpointDatabase.from_url("mysql://x/y")
    pg = CheckpointDatabase.from_url("postgresql+psycopg://vigil:pw@db:5432/vigil")
    assert pg == CheckpointDatabase("postgres", "postgresql://vigil:pw@db:5432/vigil")
