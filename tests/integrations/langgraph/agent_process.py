"""The example agent in a process of its own, for the tests that need one: a fresh
TracerProvider and Langfuse client (the coverage test), or a process to kill (durable state).

    python -m tests.integrations.langgraph.agent_process record --store URL
    python -m tests.integrations.langgraph.agent_process pause  --checkpoints URL --thread T
    python -m tests.integrations.langgraph.agent_process resume --checkpoints URL --thread T

``record`` runs the example three times into the store (a question it answers, one whose
tool raises, one answered on the async path: ``astream``) with Vigil's and Langfuse's
handlers, and prints, as JSON, what the graph itself did
(its node updates, model replies and tool messages), counted without the callbacks.
``pause`` runs until the interrupt before the tool node, prints ``PAUSED`` and waits to be
killed; ``resume`` continues the thread and prints the final state as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from prometheus_client import CollectorRegistry

from examples.support_agent import build_graph
from vigil.integrations.langgraph import agent_callbacks, open_checkpointer
from vigil.sdk import AgentRecorder, StoreSink
from vigil.storage import open_store
from vigil.tracing import shutdown_tracing

QUESTIONS = (
    ("answered", "Where is order 7?", "invoke"),
    ("failing", "And order 99?", "invoke"),
    ("async", "Where is order 8?", "astream"),
)


def _counted(updates: list[dict[str, Any]], error: str | None) -> dict[str, Any]:
    """What the graph's own stream says it did: node updates, model replies, tool messages."""
    messages = [m for update in updates for node, values in update.items()
                if node in ("planner", "tools") for m in values["messages"]]  # fmt: skip
    nodes = sum(len(update) for update in updates)
    llm_calls = sum(isinstance(m, AIMessage) for m in messages)
    tool_calls = sum(isinstance(m, ToolMessage) for m in messages)
    if error is not None:  # the failing tool call left no message: the model asked for it
        tool_calls += sum(len(m.tool_calls) for m in messages if isinstance(m, AIMessage))
        nodes += 1  # the tools node that raised sent no update
    return {"nodes": nodes, "llm_calls": llm_calls, "tool_calls": tool_calls, "error": error}


async def _astream(graph: Any, inputs: Any, config: Any) -> list[dict[str, Any]]:
    return [update async for update in graph.astream(inputs, config, stream_mode="updates")]


def _record(store_url: str) -> dict[str, Any]:
    store = open_store(store_url)
    recorder = AgentRecorder(
        StoreSink(store), service="support-agent", registry=CollectorRegistry()
    )
    callbacks = agent_callbacks(recorder, agent="support", project_id="p1")
    graph = build_graph()
    config: Any = {"callbacks": callbacks}
    counted: dict[str, Any] = {}
    for label, question, path in QUESTIONS:
        inputs = {"messages": [HumanMessage(question)]}
        updates: list[dict[str, Any]] = []
        error = None
        try:
            if path == "invoke":
                updates.extend(graph.stream(inputs, config, stream_mode="updates"))
            else:
                updates.extend(asyncio.run(_astream(graph, inputs, config)))
        except LookupError as exc:
            error = str(exc)
        counted[label] = _counted(updates, error)
    assert shutdown_tracing(timeout_s=20), "the Langfuse export did not finish"
    assert recorder.close(timeout=20)
    store.close()
    return counted


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["record", "pause", "resume"])
    parser.add_argument("--store")
    parser.add_argument("--checkpoints")
    parser.add_argument("--thread", default="t1")
    args = parser.parse_args()
    if args.mode == "record":
        print(json.dumps(_record(args.store)), flush=True)
        return 0
    config = {"configurable": {"thread_id": args.thread}}
    with open_checkpointer(database_url=args.checkpoints) as checkpointer:
        graph = build_graph(checkpointer, interrupt_before=["tools"])
        if args.mode == "pause":
            graph.invoke({"messages": [HumanMessage("Where is order 7?")]}, config)
            print("PAUSED", json.dumps(list(graph.get_state(config).next)), flush=True)
            time.sleep(600)  # until the test kills the process
            return 1
        state = graph.get_state(config)
        resumed_from = list(state.next)
        final = graph.invoke(None, config)
        print(
            json.dumps(
                {
                    "resumed_from": resumed_from,
                    "answer": final["answer"],
                    "messages": [m.type for m in final["messages"]],
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
