"""``VigilCallbackHandler``: a LangChain callback handler recording a LangGraph invocation as a
Vigil run and every call inside it as one of its steps, through ``AgentRecorder``.

- The root call (``parent_run_id`` None: the graph's invocation) is the run: it joins the
  run of the enclosing ``run_context`` if there is one, otherwise it begins one
  (``AgentRecorder.begin_run``: queued, so a controller that is down never holds the agent)
  and ends it as ``succeeded`` or ``failed``.
- Every other call is one step, recorded when it ends: a graph node (``graph_node``: the
  call LangGraph tags ``graph:step:<n>`` whose name is its ``langgraph_node``), a chat model
  or LLM call (``llm_generation``: prompt, output, tool calls, model, token usage), a tool
  or retriever call (``tool_call``: input, output), any other chain inside a node, such as
  a conditional edge's routing function (``thought``: its output). Each carries its
  LangChain call id and its parent's (``call_id``, ``parent_call_id``), its node, its
  duration and, if it raised, the error; with Langfuse, the trace id and the observation of
  the official Langfuse handler that recorded the same call (``_langfuse.py``).
- Each step's duration is also a measurement, ``agent_step_duration_seconds`` (a histogram,
  labels ``step_type`` and ``name``).

The agent's thread pays little: a call's start keeps references to what LangChain passed
(the prompt, the tool's input), its end queues the step with a function that builds the
step's data from them later, on the recorder's writer thread
(``AgentRecorder.log_step_later``): prompts and outputs are read, cut and serialized there.
Measured in a real graph, building the data on the agent's thread cost ~60 us per step of
its CPU (benchmarks/langgraph_callbacks.py). What is read later is what LangChain passed
and does not change afterwards (messages, the model's ``LLMResult``, a node's returned
update). One handler for both paths: the methods never wait on anything (dict accesses and
queue appends), so ``run_inline = True`` lets langchain_core's async callback manager call them on
the event loop, in order, before the handlers it runs in executor threads, instead of
hopping to a thread per event. The same instance serves concurrent invocations: calls are
keyed by their LangChain run id. A callback must never break the agent: anything unexpected
is logged (``vigil.integrations``) and the call goes unrecorded.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from vigil.integrations.langgraph import _payloads as payloads
from vigil.models import MeasurementKind, RunStatus, StepType
from vigil.sdk import AgentRecorder, current_run_id

if TYPE_CHECKING:
    from vigil.integrations.langgraph._langfuse import LangfuseLink

logger = logging.getLogger("vigil.integrations")

STEP_DURATION_METRIC: Final = "agent_step_duration_seconds"
NODE_TAG_PREFIX: Final = "graph:step:"
BUBBLE_UP: Final = "GraphBubbleUp"
"""LangGraph's base class of control-flow exceptions (an interrupt, a handoff): not errors."""
NO_OUTPUT: Final = object()


@dataclass(slots=True)
class _Call:
    run_id: UUID
    """The Vigil run the call belongs to."""
    step_type: StepType | None
    """None for the root call: the run itself."""
    name: str
    started: float
    parent: UUID | None
    """The LangChain call id of the parent call."""
    node: str | None
    data: dict[str, Any]
    """What the start knew cheaply (model, graph step, tool call id)."""
    shape: str = "chain"
    """Which of LangChain's events started it: chain, chat, llm, tool, retriever."""
    given: Any = None
    """What the start passed (messages, prompts, the tool's input), read on the writer thread."""
    output: Any = field(default=NO_OUTPUT)
    owns_run: bool = False
    parent_is_step: bool = False
    """False when the parent is the root call (the run itself) or unknown."""


class VigilCallbackHandler(BaseCallbackHandler):
    """Records LangGraph (and any LangChain runnable's) calls as a Vigil run and its steps.

        handler = VigilCallbackHandler(recorder, agent="support", project_id="p1")
        graph.invoke(inputs, {"callbacks": [handler]})

    ``agent``/``project_id``/``run_name`` name the runs it begins (``run_name`` defaults to
    the graph's name). ``langfuse`` (made by ``agent_callbacks``) reads the observation the
    official Langfuse handler made for each call. ``capture_io=False`` records no prompt,
    output or tool input/output (only names, timings, usage and errors).
    """

    run_inline = True
    raise_error = False

    def __init__(
        self,
        recorder: AgentRecorder,
        *,
        agent: str = "langgraph",
        project_id: str = "default",
        run_name: str | None = None,
        langfuse: LangfuseLink | None = None,
        capture_io: bool = True,
    ) -> None:
        self.recorder = recorder
        self.agent = agent
        self.project_id = project_id
        self.run_name = run_name
        self.langfuse = langfuse
        self.capture_io = capture_io
        self._calls: dict[UUID, _Call] = {}

    # Starts ------------------------------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = payloads.call_name(serialized, kwargs, "chain")
        if parent_run_id is None:
            self._begin_root(run_id, name, metadata)
            return
        node = metadata.get("langgraph_node") if metadata else None
        step_type = StepType.THOUGHT
        if node == name and tags and any(tag.startswith(NODE_TAG_PREFIX) for tag in tags):
            step_type = StepType.GRAPH_NODE
        data: dict[str, Any] = {}
        if metadata and "langgraph_step" in metadata:
            data["graph_step"] = metadata["langgraph_step"]
        self._begin(run_id, parent_run_id, step_type, name, node, data, "chain", None)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        data = {"model": payloads.model_name(serialized, kwargs, metadata)}
        self._begin_call(
            run_id, parent_run_id, StepType.LLM_GENERATION, serialized, kwargs, metadata, data,
            "chat", messages,
        )  # fmt: skip

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        data = {"model": payloads.model_name(serialized, kwargs, metadata)}
        self._begin_call(
            run_id, parent_run_id, StepType.LLM_GENERATION, serialized, kwargs, metadata, data,
            "llm", prompts,
        )  # fmt: skip

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        call_id = kwargs.get("tool_call_id")
        data = {"tool_call_id": call_id} if call_id else {}
        self._begin_call(
            run_id, parent_run_id, StepType.TOOL_CALL, serialized, kwargs, metadata, data,
            "tool", input_str,
        )  # fmt: skip

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._begin_call(
            run_id, parent_run_id, StepType.TOOL_CALL, serialized, kwargs, metadata,
            {"retriever": True}, "retriever", query,
        )  # fmt: skip

    # Ends --------------------------------------------------------------------------------

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is None:
            return
        if call.step_type is None:
            self._end_root(call, RunStatus.SUCCEEDED)
            return
        call.output = outputs
        self._record(run_id, call, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is None:
            return
        if _is_control_flow(error):
            call.data["interrupted"] = type(error).__name__
            if call.step_type is None:
                self._end_root(call, RunStatus.SUCCEEDED)
            else:
                self._record(run_id, call, None)
            return
        if call.step_type is None:
            self._end_root(call, RunStatus.FAILED)
            return
        self._record(run_id, call, error)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, response)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_with_error(run_id, error)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, output)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_with_error(run_id, error)

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, documents)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_with_error(run_id, error)

    # The bookkeeping ---------------------------------------------------------------------

    def _begin_root(self, run_id: UUID, name: str, metadata: Mapping[str, Any] | None) -> None:
        joined = current_run_id()
        thread_id = metadata.get("thread_id") if metadata else None
        data: dict[str, Any] = {}
        if thread_id is not None:
            data["thread_id"] = payloads.text(thread_id, 200)
        if joined is not None:
            self._calls[run_id] = _Call(joined, None, name, time.perf_counter(), None, None, data)
            return
        try:
            vigil_run = self.recorder.begin_run(
                self.run_name or name,
                agent=self.agent,
                project_id=self.project_id,
                metadata={"call_id": str(run_id), **data},
            )
        except Exception:
            logger.exception("Vigil could not begin a run for graph %s", name)
            return
        self._calls[run_id] = _Call(
            vigil_run, None, name, time.perf_counter(), None, None, data, owns_run=True
        )

    def _begin_call(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        step_type: StepType,
        serialized: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
        metadata: Mapping[str, Any] | None,
        data: dict[str, Any],
        shape: str,
        given: Any,
    ) -> None:
        name = payloads.call_name(serialized, kwargs, shape)
        node = metadata.get("langgraph_node") if metadata else None
        self._begin(run_id, parent_run_id, step_type, name, node, data, shape, given)

    def _begin(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        step_type: StepType,
        name: str,
        node: str | None,
        data: dict[str, Any],
        shape: str,
        given: Any,
    ) -> None:
        parent = self._calls.get(parent_run_id) if parent_run_id is not None else None
        if parent is not None:
            vigil_run = parent.run_id
            # The root call is the run, not a step: its children have no parent step.
            parent_is_step = parent.step_type is not None
        else:
            # A call whose parent this handler never saw (it was added below the root): the
            # enclosing run_context's run, if any.
            found = current_run_id()
            if found is None:
                return
            vigil_run, parent_is_step = found, False
        self._calls[run_id] = _Call(
            vigil_run, step_type, name, time.perf_counter(), parent_run_id, node, data, shape,
            given, parent_is_step=parent_is_step,
        )  # fmt: skip

    def _end(self, run_id: UUID, output: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            call.output = output
            self._record(run_id, call, None)

    def _end_with_error(self, run_id: UUID, error: BaseException) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            self._record(run_id, call, error)

    def _record(self, run_id: UUID, call: _Call, error: BaseException | None) -> None:
        duration = time.perf_counter() - call.started
        step_type = call.step_type
        assert step_type is not None  # noqa: S101  (the root call never gets here)
        link = None
        if self.langfuse is not None:  # now: Langfuse's handler drops it when the call ends
            link = self.langfuse.observation(run_id, call.parent)
        build = functools.partial(_step_data, call, run_id, duration, error, link, self.capture_io)
        recorder = self.recorder
        try:
            recorder.log_step_later(
                call.run_id,
                step_type,
                call.name,
                build,
                trace_id=None if link is None else link["trace_id"],
            )
            recorder.measure(
                STEP_DURATION_METRIC,
                duration,
                MeasurementKind.HISTOGRAM,
                {"step_type": step_type.value, "name": call.name},
                run_id=call.run_id,
            )
        except (ValueError, TypeError):
            logger.exception("Vigil could not record step %s of run %s", call.name, call.run_id)

    def _end_root(self, call: _Call, status: RunStatus) -> None:
        if not call.owns_run:
            return
        try:
            self.recorder.end_run(call.run_id, status)
        except Exception:
            logger.exception("Vigil could not end run %s", call.run_id)

    @property
    def open_calls(self) -> int:
        """Calls started and not ended yet (0 between invocations)."""
        return len(self._calls)


def _step_data(
    call: _Call,
    run_id: UUID,
    duration: float,
    error: BaseException | None,
    link: dict[str, Any] | None,
    capture_io: bool,
) -> dict[str, Any]:
    """The step's ``data``: run by the recorder's writer thread (``log_step_later``)."""
    data = call.data
    output, given, shape = call.output, call.given, call.shape
    if capture_io and given is not None:
        if shape == "chat":
            data["prompt"] = payloads.prompt(given)
        elif shape == "llm":
            data["prompt"] = [payloads.text(item, payloads.MESSAGE_TEXT_LIMIT)
                              for item in given[: payloads.PROMPT_MESSAGES]]  # fmt: skip
        else:
            data["input"] = payloads.text(given)
    if "tool_call_id" in data:
        data["tool_call_id"] = payloads.text(data["tool_call_id"], 128)
    if output is not NO_OUTPUT:
        if shape in ("chat", "llm"):
            found = payloads.llm_result(output)
            if not capture_io:
                found.pop("output", None)
                found.pop("tool_calls", None)
            data.update(found)
        elif shape == "retriever":
            data["documents"] = len(output)
        elif capture_io and shape == "tool":
            data["output"] = payloads.tool_output(output)
        elif capture_io and call.step_type is StepType.GRAPH_NODE:
            if isinstance(output, Mapping):
                data["updates"] = [payloads.text(key, 200) for key in output]
        elif capture_io:
            data["output"] = payloads.text(output)
    data["call_id"] = str(run_id)
    data["parent_call_id"] = str(call.parent) if call.parent_is_step else None
    data["node"] = call.node
    data["duration_s"] = round(duration, 6)
    if error is not None:
        data["error"] = payloads.error_of(error)
    if link is not None:
        data["langfuse"] = link
    return data


def _is_control_flow(error: BaseException) -> bool:
    return any(cls.__name__ == BUBBLE_UP for cls in type(error).__mro__)
