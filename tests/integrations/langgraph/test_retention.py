"""Retention: the threads idle longer than a bound are deleted, on both savers; the others,
and their state, stay. ``vigil checkpoints prune`` does the same from the command line."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base.id import uuid6

from examples.support_agent import build_graph
from tests.integrations.langgraph.conftest import ROOT, agent_env
from vigil.integrations.langgraph import idle_threads, open_checkpointer, prune_idle_threads
from vigil.integrations.langgraph._retention import uuid6_floor

MONTH = timedelta(days=30)


def _config(thread: str) -> dict[str, dict[str, str]]:
    return {"configurable": {"thread_id": thread}}


def test_uuid6_floor_sorts_below_later_ids_and_above_earlier_ones() -> None:
    now = datetime.now(UTC)
    made = str(uuid6(clock_seq=3))
    assert uuid6_floor(now - timedelta(seconds=1)) < made < uuid6_floor(now + timedelta(seconds=1))


def test_idle_threads_are_pruned(store_url: str) -> None:
    with open_checkpointer(database_url=store_url) as checkpointer:
        graph = build_graph(checkpointer)
        graph.invoke({"messages": [HumanMessage("Where is order 7?")]}, _config("old"))
        time.sleep(0.05)
        between = datetime.now(UTC)
        time.sleep(0.05)
        graph.invoke({"messages": [HumanMessage("Where is order 8?")]}, _config("recent"))
        # Thirty days after `between`: "old" has been idle longer than 30 days, "recent" not.
        later = between + MONTH
        assert idle_threads(checkpointer, idle_for=MONTH, now=later) == ["old"]
        assert prune_idle_threads(checkpointer, idle_for=MONTH, now=later, dry_run=True) == ["old"]
        assert graph.get_state(_config("old")).values  # a dry run deletes nothing
        assert prune_idle_threads(checkpointer, idle_for=MONTH, now=later) == ["old"]
        assert graph.get_state(_config("old")).values == {}
        assert list(checkpointer.list(_config("old"))) == []
        assert graph.get_state(_config("recent")).values["answer"].endswith("waiting for stock.")
        assert idle_threads(checkpointer, idle_for=MONTH, now=later) == []


def test_the_prune_command(store_url: str) -> None:
    with open_checkpointer(database_url=store_url) as checkpointer:
        build_graph(checkpointer).invoke(
            {"messages": [HumanMessage("Where is order 7?")]}, _config("t1")
        )
    time.sleep(1.0)

    def prune(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "vigil", "checkpoints", "prune", "--url", store_url, *args],
            cwd=ROOT, env=agent_env(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert prune("--idle-days", "30").endswith("0 threads idle for more than 30 days deleted\n")
    half_second = str(0.5 / 86_400)
    assert "would delete thread t1" in prune("--idle-days", half_second, "--dry-run")
    assert prune("--idle-days", half_second).startswith("deleted thread t1\n")
    with open_checkpointer(database_url=store_url) as checkpointer:
        assert list(checkpointer.list(_config("t1"))) == []
