"""LangGraph agents in Vigil and Langfuse, their state in the controller's database.

    from vigil.integrations.langgraph import agent_callbacks, open_checkpointer

    with open_checkpointer() as checkpointer:          # VIGIL_DATABASE_URL's database
        graph = builder.compile(checkpointer=checkpointer)
        callbacks = agent_callbacks(recorder, agent="support", project_id="p1")
        graph.invoke(inputs, {"callbacks": callbacks, "configurable": {"thread_id": "t1"}})

``VigilCallbackHandler`` records a run per graph invocation and a step per node, LLM and
tool call; ``agent_callbacks`` adds Langfuse's official handler in the same trace. Needs the
``langgraph`` extra (``langfuse`` for Langfuse). The names are imported on first use (PEP
562): the handler loads langchain_core and Vigil's SDK, never FastAPI, SQLAlchemy, Alembic
or psycopg (only the checkpointer loads psycopg), and ``vigil checkpoints`` loads none of
them to parse its arguments. Guide: docs/langgraph.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from vigil.integrations.langgraph._callbacks import (
        STEP_DURATION_METRIC,
        VigilCallbackHandler,
    )
    from vigil.integrations.langgraph._checkpointer import (
        CheckpointDatabase,
        open_async_checkpointer,
        open_checkpointer,
    )
    from vigil.integrations.langgraph._langfuse import LangfuseLink, agent_callbacks
    from vigil.integrations.langgraph._retention import idle_threads, prune_idle_threads

_ON_FIRST_USE: Final = {
    "STEP_DURATION_METRIC": "vigil.integrations.langgraph._callbacks",
    "VigilCallbackHandler": "vigil.integrations.langgraph._callbacks",
    "LangfuseLink": "vigil.integrations.langgraph._langfuse",
    "agent_callbacks": "vigil.integrations.langgraph._langfuse",
    "CheckpointDatabase": "vigil.integrations.langgraph._checkpointer",
    "open_async_checkpointer": "vigil.integrations.langgraph._checkpointer",
    "open_checkpointer": "vigil.integrations.langgraph._checkpointer",
    "idle_threads": "vigil.integrations.langgraph._retention",
    "prune_idle_threads": "vigil.integrations.langgraph._retention",
}

__all__ = [
    "STEP_DURATION_METRIC",
    "CheckpointDatabase",
    "LangfuseLink",
    "VigilCallbackHandler",
    "agent_callbacks",
    "idle_threads",
    "open_async_checkpointer",
    "open_checkpointer",
    "prune_idle_threads",
]


def __getattr__(name: str) -> Any:
    home = _ON_FIRST_USE.get(name)
    if home is None:
        raise AttributeError(f"module 'vigil.integrations.langgraph' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
