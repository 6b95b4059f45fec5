"""Cost of Vigil's LangGraph callback handler on the agent's thread, per step.

Two measurements, in one run, with a baseline each:

1. **End to end** (the figure of issue 12's target, <= 20 us p50 per step): the example
   graph (examples/support_agent.py: 4 nodes, 2 chat model calls, 1 tool call, 2 routing
   decisions: 9 steps) invoked ``--invocations`` times without callbacks (the baseline) and
   with ``VigilCallbackHandler``, alternated in ``--rounds`` rounds so drift hits both alike.
   Per step = (p50 of an invocation with the handler - p50 without) / 9: everything the
   handler costs the agent, langchain_core's dispatch of each event to it included.
2. **The handler alone**: its ``on_*_start`` + ``on_*_end`` pair per kind of step (a node, a
   chat model call, a tool call), called as langchain_core calls them, against a handler
   that does nothing (the cost of the calls themselves).

The recorder writes to a sink that keeps nothing (its writer thread still validates every
batch, on the same GIL as the agent: part of the cost), so no database skews the figures.

Usage: python benchmarks/langgraph_callbacks.py [--rounds 5] [--invocations 400]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "backend")]

from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402 - after the path set-up
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, LLMResult  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from examples.support_agent import build_graph  # noqa: E402
from vigil.integrations.langgraph import VigilCallbackHandler  # noqa: E402
from vigil.models import BatchEvent, BatchWriteResult, Run, RunCreate, RunFinish  # noqa: E402
from vigil.sdk import AgentRecorder, EventSink  # noqa: E402

STEPS_PER_INVOCATION = 9
TARGET_US = 20.0


class NullSink(EventSink):
    """Takes every batch and keeps nothing."""

    def write(
        self, events: Sequence[BatchEvent], *, batch_id: uuid.UUID | None = None
    ) -> BatchWriteResult:
        return BatchWriteResult()

    def create_run(self, run: RunCreate) -> Run:
        raise NotImplementedError

    def finish_run(self, run_id: uuid.UUID, finish: RunFinish) -> Run:
        raise NotImplementedError


class NothingHandler(BaseCallbackHandler):
    """The baseline of the handler-alone figures: same calls, no work."""

    run_inline = True


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def end_to_end(recorder: AgentRecorder, rounds: int, invocations: int) -> None:
    graph = build_graph()
    handler = VigilCallbackHandler(recorder, agent="bench", project_id="bench")
    inputs = {"messages": [HumanMessage("Where is order 7?")]}
    configs: dict[str, dict[str, Any]] = {"baseline": {}, "vigil": {"callbacks": [handler]}}
    timings: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(20):  # warm-up: imports, caches
        for config in configs.values():
            graph.invoke(inputs, config)
    for round_number in range(1, rounds + 1):
        for name, config in configs.items():
            gc.collect()
            times = []
            for _ in range(invocations):
                began = time.perf_counter()
                graph.invoke(inputs, config)
                times.append(time.perf_counter() - began)
            timings[name].extend(times)
            print(f"round {round_number} {name:8s} p50 {statistics.median(times) * 1e6:8.1f} us"
                  " per invocation")  # fmt: skip
        recorder.flush(timeout=30)
    base = statistics.median(timings["baseline"])
    vigil = statistics.median(timings["vigil"])
    per_step = (vigil - base) / STEPS_PER_INVOCATION * 1e6
    print()
    print(f"invocation p50: baseline {base * 1e6:.1f} us, with Vigil's handler {vigil * 1e6:.1f}"
          f" us, ratio {vigil / base:.3f}")  # fmt: skip
    verdict = "met" if per_step <= TARGET_US else "NOT met"
    print(f"added per step (p50, {STEPS_PER_INVOCATION} steps per invocation): {per_step:.1f} us"
          f" (target <= {TARGET_US:.0f} us): {verdict}")  # fmt: skip


def _pairs(handler: BaseCallbackHandler) -> dict[str, Callable[[], None]]:
    """One start + end per kind of step, with the arguments langchain_core passes."""
    graph_run, node_run = uuid.uuid4(), uuid.uuid4()
    handler.on_chain_start({}, {}, run_id=graph_run, parent_run_id=None, name="support")
    handler.on_chain_start({}, {}, run_id=node_run, parent_run_id=graph_run, name="planner",
                           tags=["graph:step:1"],
                           metadata={"langgraph_node": "planner", "langgraph_step": 1})  # fmt: skip
    node_meta = {"langgraph_node": "planner", "langgraph_step": 1}
    prompt = [[HumanMessage("Where is order 7?")]]
    reply = AIMessage(
        content="",
        tool_calls=[{"name": "lookup_order", "args": {"order_id": 7}, "id": "call-1"}],
        usage_metadata={"input_tokens": 30, "output_tokens": 12, "total_tokens": 42},
    )
    result = LLMResult(generations=[[ChatGeneration(message=reply)]])
    tool_output = ToolMessage("order 7: shipped", tool_call_id="call-1", name="lookup_order")
    serialized = {"id": ["langchain_core", "fake_chat_models", "GenericFakeChatModel"]}
    params = {"_type": "generic-fake-chat-model"}

    def node() -> None:
        run = uuid.uuid4()
        handler.on_chain_start({}, {}, run_id=run, parent_run_id=graph_run, name="tools",
                               tags=["graph:step:2"], metadata=node_meta)  # fmt: skip
        handler.on_chain_end({"messages": []}, run_id=run, parent_run_id=graph_run)

    def llm() -> None:
        run = uuid.uuid4()
        handler.on_chat_model_start(serialized, prompt, run_id=run, parent_run_id=node_run,
                                    metadata=node_meta, invocation_params=params,
                                    name="GenericFakeChatModel")  # fmt: skip
        handler.on_llm_end(result, run_id=run, parent_run_id=node_run)

    def tool() -> None:
        run = uuid.uuid4()
        handler.on_tool_start({"name": "lookup_order"}, "{'order_id': 7}", run_id=run,
                              parent_run_id=node_run, metadata=node_meta,
                              inputs={"order_id": 7}, name="lookup_order",
                              tool_call_id="call-1")  # fmt: skip
        handler.on_tool_end(tool_output, run_id=run, parent_run_id=node_run)

    return {"node": node, "llm": llm, "tool": tool}


def handler_alone(recorder: AgentRecorder, repeats: int) -> None:
    handlers = {
        "nothing": NothingHandler(),
        "vigil": VigilCallbackHandler(recorder, agent="bench", project_id="bench"),
    }
    pairs = {name: _pairs(handler) for name, handler in handlers.items()}
    print()
    print(f"{'step':6s} {'no-op handler p50':>18s} {'Vigil p50':>10s} {'Vigil p99':>10s} "
          f"{'added p50':>10s}")  # fmt: skip
    for kind in ("node", "llm", "tool"):
        figures = {}
        for name in handlers:
            call = pairs[name][kind]
            times = []
            for index in range(repeats):
                began = time.perf_counter()
                call()
                times.append(time.perf_counter() - began)
                if index % 5_000 == 4_999:
                    recorder.flush(timeout=30)
            figures[name] = (statistics.median(times) * 1e6, _percentile(times, 0.99) * 1e6)
        added = figures["vigil"][0] - figures["nothing"][0]
        print(f"{kind:6s} {figures['nothing'][0]:15.2f} us {figures['vigil'][0]:7.2f} us "
              f"{figures['vigil'][1]:7.2f} us {added:7.2f} us")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--invocations", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=20_000)
    args = parser.parse_args()
    recorder = AgentRecorder(NullSink(), service="bench", registry=CollectorRegistry(),
                             max_queue=1_000_000, put_timeout=10.0)  # fmt: skip
    try:
        end_to_end(recorder, args.rounds, args.invocations)
        handler_alone(recorder, args.repeats)
    finally:
        recorder.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
