"""The async path: ``ainvoke`` and ``astream`` record the same run and steps as ``invoke``,
with the async checkpointers on both backends."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from prometheus_client import CollectorRegistry

from examples.support_agent import build_graph
from vigil.integrations.langgraph import VigilCallbackHandler, open_async_checkpointer
from vigil.models import RunStatus, StepType
from vigil.sdk import AgentRecorder, StoreSink
from vigil.storage import EventStore

EXPECTED = {
    StepType.GRAPH_NODE: 4,
    StepType.LLM_GENERATION: 2,
    StepType.TOOL_CALL: 1,
    StepType.THOUGHT: 2,
}


@pytest.mark.parametrize("path", ["ainvoke", "astream"])
def test_the_async_path_records_every_call(store: EventStore, store_url: str, path: str) -> None:
    recorder = AgentRecorder(StoreSink(store), service="support", registry=CollectorRegistry())
    handler = VigilCallbackHandler(recorder, agent="support", project_id="p1")
    config: Any = {"callbacks": [handler], "configurable": {"thread_id": f"async-{path}"}}
    inputs = {"messages": [HumanMessage("Where is order 8?")]}

    async def agent() -> tuple[str, object]:
        async with open_async_checkpointer(database_url=store_url) as checkpointer:
            graph = build_graph(checkpointer)
            if path == "ainvoke":
                answer = (await graph.ainvoke(inputs, config))["answer"]
            else:
                chunks = [c async for c in graph.astream(inputs, config, stream_mode="values")]
                answer = chunks[-1]["answer"]
            saved = await checkpointer.aget_tuple(config)
            assert await recorder.aclose()
        return answer, saved

    answer, saved = asyncio.run(agent())
    assert answer == "Here is what I found: order 8: waiting for stock."
    assert saved is not None
    assert handler.open_calls == 0
    (run,) = store.list_runs().items
    assert run.status is RunStatus.SUCCEEDED
    steps = store.list_steps(run.id)
    assert Counter(s.step_type for s in steps) == EXPECTED
    assert all(s.data["duration_s"] > 0 for s in steps)
