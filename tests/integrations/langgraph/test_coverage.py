"""Every call of a real LangGraph run is a Vigil step and a Langfuse observation, in one trace.

The example agent (examples/support_agent.py) runs in its own process (a fresh TracerProvider
and Langfuse client) into a real store (SQLite and PostgreSQL), with Langfuse's official
handler exporting to the protocol-level receiver (tests/langfuse_receiver.py: no Langfuse
server runs here). The counts come from three places that do not share code: the graph's
own stream (node updates, model replies, tool messages), the store, and the OTLP export.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.integrations.langgraph.conftest import run_agent
from tests.langfuse_receiver import ExportedSpan, FakeLangfuse
from vigil.models import RunStatus, Step, StepType
from vigil.storage import EventStore

COUNTED_TYPES = {StepType.GRAPH_NODE, StepType.LLM_GENERATION, StepType.TOOL_CALL}
OBSERVATION_TYPE = "langfuse.observation.type"
LABELS = ("answered", "failing", "async")


@pytest.fixture
def recorded(
    store: EventStore, store_url: str, langfuse_server: FakeLangfuse
) -> tuple[dict[str, Any], dict[str, list[Step]], dict[str, RunStatus], list[ExportedSpan]]:
    """Runs the example three times (answered, failing, answered on the async path); what the
    graph, the store and the Langfuse export hold."""
    counted = json.loads(
        run_agent(
            "record",
            "--store",
            store_url,
            LANGFUSE_PUBLIC_KEY="pk-lf-coverage",
            LANGFUSE_SECRET_KEY="sk-lf-coverage",
            LANGFUSE_BASE_URL=langfuse_server.url,
            LANGFUSE_PROJECT_ID="vigil",
        )
    )
    runs = sorted(store.list_runs(limit=10).items, key=lambda run: run.started_at)
    assert len(runs) == len(LABELS), runs
    steps = {label: store.list_steps(run.id) for label, run in zip(LABELS, runs, strict=True)}
    statuses = {label: run.status for label, run in zip(LABELS, runs, strict=True)}
    return counted, steps, statuses, langfuse_server.spans()


def test_every_call_is_a_step_and_an_observation(recorded: Any) -> None:
    counted, steps, _, spans = recorded
    by_observation = {span.span_id: span for span in spans}
    roots = [span for span in spans if span.parent_span_id is None]
    assert len(roots) == len(LABELS)  # a Langfuse trace per invocation: its root is the run
    for label in LABELS:
        graph = counted[label]
        calls = graph["nodes"] + graph["llm_calls"] + graph["tool_calls"]
        run_steps = steps[label]
        counted_steps = [s for s in run_steps if s.step_type in COUNTED_TYPES]
        assert len(counted_steps) == calls, (label, graph, [s.name for s in run_steps])
        types = Counter(s.step_type for s in counted_steps)
        assert types[StepType.GRAPH_NODE] == graph["nodes"]
        assert types[StepType.LLM_GENERATION] == graph["llm_calls"]
        assert types[StepType.TOOL_CALL] == graph["tool_calls"]

        # Each step names its Langfuse twin, in the run's one trace.
        trace_ids = {s.trace_id for s in run_steps}
        assert len(trace_ids) == 1
        assert None not in trace_ids
        (trace_id,) = trace_ids
        (root,) = [r for r in roots if r.trace_id == trace_id]
        observations = {span.span_id for span in spans if span.trace_id == trace_id} - {
            root.span_id
        }
        named = [s.data["langfuse"]["observation_id"] for s in run_steps]
        assert sorted(named) == sorted(observations)  # every observation but the root: a step
        for step in run_steps:
            link = step.data["langfuse"]
            observation = by_observation[link["observation_id"]]
            assert observation.trace_id == step.trace_id == link["trace_id"]
            assert observation.parent_span_id == (link["parent_observation_id"] or root.span_id)
            assert link["url"] == (
                f"{link['url'].split('/project/')[0]}/project/vigil/traces/{trace_id}"
                f"?observation={link['observation_id']}"
            )
            if step.step_type is StepType.LLM_GENERATION:
                assert observation.attributes[OBSERVATION_TYPE] == "generation"
            elif step.step_type is StepType.TOOL_CALL:
                assert observation.attributes[OBSERVATION_TYPE] == "tool"


def test_steps_carry_what_the_calls_did(recorded: Any) -> None:
    counted, steps, statuses, _ = recorded
    assert statuses["answered"] is statuses["async"] is RunStatus.SUCCEEDED
    assert counted["answered"] == counted["async"]
    assert [s.name for s in steps["async"]] == [s.name for s in steps["answered"]]
    answered = steps["answered"]
    by_call = {s.data["call_id"]: s for s in answered}
    llm = [s for s in answered if s.step_type is StepType.LLM_GENERATION]
    assert llm[0].data["tool_calls"][0]["name"] == "lookup_order"
    assert llm[0].data["usage"] == {"input_tokens": 30, "output_tokens": 12, "total_tokens": 42}
    assert llm[0].data["model"] == "generic-fake-chat-model"
    assert llm[0].data["prompt"] == [{"role": "human", "content": "Where is order 7?"}]
    assert llm[1].data["output"] == "Here is what I found: order 7: shipped on 2026-11-28."
    (tool,) = [s for s in answered if s.step_type is StepType.TOOL_CALL]
    assert (tool.name, tool.data["output"]) == ("lookup_order", "order 7: shipped on 2026-11-28")
    assert "error" not in tool.data
    # The parent link: a model or tool call's parent is its node's step.
    for step in [*llm, tool]:
        parent = by_call[step.data["parent_call_id"]]
        assert parent.step_type is StepType.GRAPH_NODE
        assert parent.name == step.data["node"]
        assert parent.data["duration_s"] >= step.data["duration_s"] > 0
    nodes = [s.name for s in answered if s.step_type is StepType.GRAPH_NODE]
    assert nodes == ["planner", "tools", "planner", "answer"]
    routes = [s.data["output"] for s in answered if s.step_type is StepType.THOUGHT]
    assert routes == ["tools", "answer"]  # the conditional edge's decisions


def test_a_tool_that_raises_is_a_step_with_its_error_and_fails_the_run(recorded: Any) -> None:
    counted, steps, statuses, spans = recorded
    assert counted["failing"]["error"] == "no order 99"
    assert statuses["failing"] is RunStatus.FAILED
    failing = steps["failing"]
    (tool,) = [s for s in failing if s.step_type is StepType.TOOL_CALL]
    assert tool.data["error"] == {"type": "LookupError", "message": "no order 99"}
    (node,) = [s for s in failing if s.name == "tools"]
    assert node.data["error"]["type"] == "LookupError"
    observation = next(s for s in spans if s.span_id == tool.data["langfuse"]["observation_id"])
    assert observation.attributes["langfuse.observation.level"] == "ERROR"
