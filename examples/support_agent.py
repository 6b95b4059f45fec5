"""A LangGraph support agent recorded in Vigil (and Langfuse), its state checkpointed in the
controller's database. No API key needed: the chat model is langchain_core's
``GenericFakeChatModel``, replying from a script, with a tool call first.

    vigil stack up                       # or `make up`; prints VIGIL_URL and VIGIL_API_KEY
    export VIGIL_URL=... VIGIL_API_KEY=...
    python examples/support_agent.py "where is order 7?"

The graph: ``planner`` (the model: asks for a tool, or answers) -> a conditional edge ->
``tools`` (LangGraph's ``ToolNode``: ``lookup_order``) -> back to ``planner`` ... ->
``answer``. Every node, model call and tool call is a step of one Vigil run; with
``LANGFUSE_PUBLIC_KEY``/``LANGFUSE_SECRET_KEY``/``LANGFUSE_BASE_URL`` set, the same calls
are observations of one Langfuse trace. With ``VIGIL_DATABASE_URL`` set the graph's state
is checkpointed there (``--thread`` names the conversation), else kept in memory.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode

ORDERS = {7: "shipped on 2026-11-28", 8: "waiting for stock"}


@tool
def lookup_order(order_id: int) -> str:
    """The status of an order."""
    if order_id not in ORDERS:
        raise LookupError(f"no order {order_id}")
    return f"order {order_id}: {ORDERS[order_id]}"


TOOLS = [lookup_order]


class SupportState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    answer: str


def scripted_reply(messages: Sequence[AnyMessage]) -> AIMessage:
    """What the fake model says next: look the order up first, then answer from the result.
    Chosen from the conversation, so a process resuming a checkpointed thread gets the
    reply the first process would have got."""
    last = messages[-1]
    if isinstance(last, ToolMessage):
        return AIMessage(
            content=f"Here is what I found: {last.content}.",
            usage_metadata={"input_tokens": 42, "output_tokens": 9, "total_tokens": 51},
        )
    question = next((m.content for m in messages if isinstance(m, HumanMessage)), "")
    found = re.search(r"\d+", str(question))
    order_id = int(found.group()) if found else 0
    return AIMessage(
        content="",
        tool_calls=[{"name": "lookup_order", "args": {"order_id": order_id}, "id": "call-1"}],
        usage_metadata={"input_tokens": 30, "output_tokens": 12, "total_tokens": 42},
    )


def planner(state: SupportState) -> dict[str, Any]:
    model = GenericFakeChatModel(messages=iter([scripted_reply(state["messages"])]))
    return {"messages": [model.invoke(state["messages"])]}


def route(state: SupportState) -> str:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "answer"


def answer(state: SupportState) -> dict[str, Any]:
    return {"answer": str(state["messages"][-1].content)}


def build_graph(checkpointer: Any = None, *, interrupt_before: Sequence[str] = ()) -> Any:
    """The compiled graph; ``interrupt_before=["tools"]`` stops before every tool call."""
    builder = StateGraph(SupportState)
    builder.add_node("planner", planner)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_node("answer", answer)
    builder.add_edge(START, "planner")
    builder.add_conditional_edges("planner", route, ["tools", "answer"])
    builder.add_edge("tools", "planner")
    builder.add_edge("answer", END)
    return builder.compile(
        checkpointer=checkpointer, interrupt_before=list(interrupt_before), name="support"
    )


@contextmanager
def checkpointer_from_environment() -> Iterator[Any]:
    """The controller database's checkpointer with ``VIGIL_DATABASE_URL``, else memory."""
    if not os.environ.get("VIGIL_DATABASE_URL"):
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    from vigil.integrations.langgraph import open_checkpointer

    with open_checkpointer() as checkpointer:
        yield checkpointer


def main(argv: Sequence[str] | None = None) -> int:
    from vigil.integrations.langgraph import agent_callbacks
    from vigil.sdk import AgentRecorder, HttpSink
    from vigil.tracing import shutdown_tracing

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("question", nargs="?", default="Where is order 7?")
    parser.add_argument("--thread", default="support-demo", help="the conversation's id")
    parser.add_argument("--project", default=os.environ.get("VIGIL_PROJECT", "default"))
    args = parser.parse_args(argv)

    # HttpSink() reads VIGIL_URL and VIGIL_API_KEY; the spool keeps what the controller cannot
    # take while it is down (the agent never waits for it).
    recorder = AgentRecorder(
        HttpSink(), service="support-agent", spool=os.environ.get("VIGIL_SPOOL")
    )
    callbacks = agent_callbacks(recorder, agent="support", project_id=args.project)
    try:
        with checkpointer_from_environment() as checkpointer:
            graph = build_graph(checkpointer)
            result = graph.invoke(
                {"messages": [HumanMessage(args.question)]},
                {"callbacks": callbacks, "configurable": {"thread_id": args.thread}},
            )
        print(result["answer"])
    finally:
        shutdown_tracing()
        recorder.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
