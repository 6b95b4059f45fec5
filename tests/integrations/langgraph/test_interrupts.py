"""An interrupt is LangGraph's control flow, not an error: a node or a tool that calls
``interrupt()`` is a step marked ``interrupted``, without an error, and the run is not failed."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from prometheus_client import CollectorRegistry

from vigil.integrations.langgraph import VigilCallbackHandler
from vigil.models import RunStatus, StepType
from vigil.sdk import AgentRecorder, StoreSink
from vigil.storage import EventStore


class State(TypedDict):
    answer: str


@tool
def ask_a_human(question: str) -> str:
    """Ask a person (the graph stops here until it is resumed)."""
    return str(interrupt(question))


def approval(state: State) -> dict[str, Any]:
    return {"answer": ask_a_human.invoke({"question": "refund order 7?"})}


def test_an_interrupt_in_a_tool_is_not_an_error(store: EventStore) -> None:
    builder = StateGraph(State)
    builder.add_node("approval", approval)
    builder.add_edge(START, "approval")
    builder.add_edge("approval", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    with AgentRecorder(StoreSink(store), service="t", registry=CollectorRegistry()) as recorder:
        handler = VigilCallbackHandler(recorder, agent="approvals", project_id="p1")
        config: Any = {"callbacks": [handler], "configurable": {"thread_id": "t-1"}}
        paused = graph.invoke({"answer": ""}, config)
        assert "__interrupt__" in paused
        assert recorder.flush()
    (run,) = store.list_runs(limit=5).items
    assert run.status is not RunStatus.FAILED
    steps = store.list_steps(run.id)
    (tool_step,) = [s for s in steps if s.step_type is StepType.TOOL_CALL]
    assert tool_step.name == "ask_a_human"
    assert tool_step.data["interrupted"] == "GraphInterrupt"
    assert "error" not in tool_step.data
    (node,) = [s for s in steps if s.step_type is StepType.GRAPH_NODE]
    assert "error" not in node.data
    assert handler.open_calls == 0
