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
  duration and, if it raised, the error (LangGraph's control flow, an ``interrupt()``, is
  not one: the step is marked ``interrupted``); with Langfuse, the trace id and the observation of
  the official Langfuse handler that recorded the same call (``_langfuse.py``).
- Each step's duration is also a measurement, ``agent_step_duration_seconds`` (a histogram,
  labels ``step_type`` and ``name``).

The agent's thread pays little: a call's start keeps references to what LangChain passed
(its serialized form, tags, metadata, the prompt or the tool's input), its end queues one
item (``AgentRecorder.record_later``) with a function that works out everything else on the
recorder's writer thread: the step type, name and node, the prompt and output read, cut and
serialized, the step and its duration measurement. Measured in a real graph
(benchmarks/langgraph_callbacks.py), building the step's data on the agent's thread cost
~60 us per step of its CPU, classifying the call there and queueing the step and the
measurement apart ~30 us; deferring all of it, ~14 us. What is read later is what LangChain
passed and does not change afterwards (messages, metadata, the model's ``LLMResult``, a
node's returned update).

One handler for both paths: the methods never wait on anything (dict accesses and a queue
append), so ``run_inline = True`` lets langchain_core's async callback manager call them on
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
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from vigil._run_context import current_project
from vigil.instrumentation.request_id import current_request_id
from vigil.integrations.langgraph import _payloads as payloads
from vigil.models import MeasurementKind, RunStatus, StepType
from vigil.sdk import AgentRecorder, current_run_id
from vigil.sdk._events import MEASUREMENT, QueuedEvent, step_item

if TYPE_CHECKING:
    from vigil.integrations.langgraph._langfuse import LangfuseLink

logger = logging.getLogger("vigil.integrations")

STEP_DURATION_METRIC: Final = "agent_step_duration_seconds"
NODE_TAG_PREFIX: Final = "graph:step:"
BUBBLE_UP: Final = "GraphBubbleUp"
"""LangGraph's base class of control-flow exceptions (an interrupt, a handoff): not errors."""
NO_OUTPUT: Final = object()


_Call = tuple[
    UUID, bool, float, UUID | None, str, Mapping[str, Any] | None, list[str] | None,
    Mapping[str, Any] | None, dict[str, Any], Any,
]  # fmt: skip
"""A call between its start and its end, a tuple (one allocation on the agent's thread):
``(run, parent_is_step, started, parent, shape, serialized, tags, metadata, kwargs,
given)``: the Vigil run it belongs to; False when its parent is the root call (the run
itself) or unknown; ``perf_counter`` at its start; the LangChain id of its parent; which of
LangChain's events started it (chain, chat, llm, tool, retriever); and what that event
passed, kept as references. Nothing is read out of it on the agent's thread: the step type,
name, node and data are worked out on the recorder's writer thread (``_step_events``)."""
_RUN: Final = 0
_STARTED: Final = 2
_PARENT: Final = 3

_Root = tuple[UUID, bool]
"""The root call of an invocation, the Vigil run itself: ``(run, owns_run)`` (False when
it joined the enclosing ``run_context``'s run)."""


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
        self._roots: dict[UUID, _Root] = {}

    # Starts: a reference to each argument, nothing read ---------------------------------

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
        if parent_run_id is None:
            self._begin_root(run_id, payloads.call_name(serialized, kwargs, "chain"), metadata)
        else:
            self._begin(run_id, parent_run_id, "chain", serialized, tags, metadata, kwargs, None)

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
        self._begin(run_id, parent_run_id, "chat", serialized, tags, metadata, kwargs, messages)

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
        self._begin(run_id, parent_run_id, "llm", serialized, tags, metadata, kwargs, prompts)

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
        self._begin(run_id, parent_run_id, "tool", serialized, tags, metadata, kwargs, input_str)

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
        self._begin(run_id, parent_run_id, "retriever", serialized, tags, metadata, kwargs, query)

    # Ends --------------------------------------------------------------------------------

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            self._record(run_id, call, outputs, None)
            return
        root = self._roots.pop(run_id, None)
        if root is not None:
            self._end_root(root, RunStatus.SUCCEEDED)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            self._record_error(run_id, call, error)
            return
        root = self._roots.pop(run_id, None)
        if root is not None:
            failed = not _is_control_flow(error)
            self._end_root(root, RunStatus.FAILED if failed else RunStatus.SUCCEEDED)

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
            self._roots[run_id] = (joined, False)
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
        self._roots[run_id] = (vigil_run, True)

    def _begin(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        shape: str,
        serialized: Mapping[str, Any] | None,
        tags: list[str] | None,
        metadata: Mapping[str, Any] | None,
        kwargs: dict[str, Any],
        given: Any,
    ) -> None:
        parent = self._calls.get(parent_run_id) if parent_run_id is not None else None
        root = None
        if parent is None and parent_run_id is not None:
            root = self._roots.get(parent_run_id)
        if parent is not None:
            vigil_run, parent_is_step = parent[_RUN], True
        elif root is not None:
            # The root call is the run, not a step: its children have no parent step.
            vigil_run, parent_is_step = root[0], False
        else:
            # A call whose parent this handler never saw (it was added below the root): the
            # enclosing run_context's run, if any.
            found = current_run_id()
            if found is None:
                return
            vigil_run, parent_is_step = found, False
        self._calls[run_id] = (
            vigil_run, parent_is_step, time.perf_counter(), parent_run_id, shape,
            serialized, tags, metadata, kwargs, given,
        )  # fmt: skip

    def _end(self, run_id: UUID, output: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            self._record(run_id, call, output, None)

    def _end_with_error(self, run_id: UUID, error: BaseException) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            self._record_error(run_id, call, error)

    def _record_error(self, run_id: UUID, call: _Call, error: BaseException) -> None:
        """A call that raised; LangGraph's control flow (an ``interrupt()`` in a node or in a
        tool, a handoff) is not an error: the step says it was interrupted."""
        if _is_control_flow(error):
            self._record(run_id, call, NO_OUTPUT, None, interrupted=type(error).__name__)
        else:
            self._record(run_id, call, NO_OUTPUT, error)

    def _record(
        self,
        run_id: UUID,
        call: _Call,
        output: Any,
        error: BaseException | None,
        *,
        interrupted: str | None = None,
    ) -> None:
        duration = time.perf_counter() - call[_STARTED]
        link = None
        if self.langfuse is not None:  # now: Langfuse's handler drops it when the call ends
            link = self.langfuse.observation(run_id, call[_PARENT])
        ended = (
            run_id, duration, output, error, interrupted, link, current_request_id(),
            current_project(), time.time(),
        )  # fmt: skip
        self.recorder.record_later(
            functools.partial(_step_events, call, ended, self.capture_io), events=2
        )

    def _end_root(self, root: _Root, status: RunStatus) -> None:
        vigil_run, owns_run = root
        if not owns_run:
            return
        try:
            self.recorder.end_run(vigil_run, status)
        except Exception:
            logger.exception("Vigil could not end run %s", vigil_run)

    @property
    def open_calls(self) -> int:
        """Calls started and not ended yet (0 between invocations)."""
        return len(self._calls) + len(self._roots)


_Ended = tuple[
    UUID, float, Any, BaseException | None, str | None, dict[str, Any] | None, str | None,
    str | None, float,
]  # fmt: skip
"""How a call ended, as the agent's thread saw it: ``(call_id, duration, output, error,
interrupted, link, request_id, project_id, created)``; ``interrupted`` is the class of the
control-flow exception (an interrupt) that ended it, which is not an error."""


def _step_events(call: _Call, ended: _Ended, capture_io: bool) -> list[QueuedEvent]:
    """The step of a finished call and its duration measurement: made by the recorder's
    writer thread (``AgentRecorder.record_later``)."""
    vigil_run, parent_is_step, _, parent, shape, _, _, metadata, _, given = call
    call_id, duration, output, error, interrupted, link, request_id, project_id, created = ended
    step_type, name, data = _classify(call)
    _add_io(data, shape, given, output, step_type, capture_io)
    data["call_id"] = str(call_id)
    data["parent_call_id"] = str(parent) if parent_is_step else None
    data["node"] = metadata.get("langgraph_node") if metadata else None
    data["duration_s"] = round(duration, 6)
    if interrupted is not None:
        data["interrupted"] = interrupted
    if error is not None:
        data["error"] = payloads.error_of(error)
    if link is not None:
        data["langfuse"] = link
    labels = {"step_type": step_type.value, "name": name}
    return [
        step_item(
            vigil_run, step_type, name, data, request_id,
            None if link is None else link["trace_id"], created,
        ),
        (
            MEASUREMENT, STEP_DURATION_METRIC, duration, MeasurementKind.HISTOGRAM, labels,
            vigil_run, project_id, created,
        ),
    ]  # fmt: skip


def _classify(call: _Call) -> tuple[StepType, str, dict[str, Any]]:
    """The step type, name and start-time data of a call, from its start's arguments."""
    _, _, _, _, shape, serialized, tags, metadata, kwargs, _ = call
    name = payloads.call_name(serialized, kwargs, shape)
    if shape == "chain":
        node = metadata.get("langgraph_node") if metadata else None
        step_type = StepType.THOUGHT
        if node == name and tags and any(tag.startswith(NODE_TAG_PREFIX) for tag in tags):
            step_type = StepType.GRAPH_NODE
        data: dict[str, Any] = {}
        if metadata and "langgraph_step" in metadata:
            data["graph_step"] = metadata["langgraph_step"]
        return step_type, name, data
    if shape in ("chat", "llm"):
        model = payloads.model_name(serialized, kwargs, metadata)
        return StepType.LLM_GENERATION, name, {"model": model}
    if shape == "retriever":
        return StepType.TOOL_CALL, name, {"retriever": True}
    call_id = kwargs.get("tool_call_id")
    data = {"tool_call_id": payloads.text(call_id, 128)} if call_id else {}
    return StepType.TOOL_CALL, name, data


def _add_io(
    data: dict[str, Any], shape: str, given: Any, output: Any, step_type: StepType, capture_io: bool
) -> None:
    """What went in and came out of the call, cut to size (prompts, outputs, tool I/O)."""
    if capture_io and given is not None:
        if shape == "chat":
            data["prompt"] = payloads.prompt(given)
        elif shape == "llm":
            data["prompt"] = [payloads.text(item, payloads.MESSAGE_TEXT_LIMIT)
                              for item in given[: payloads.PROMPT_MESSAGES]]  # fmt: skip
        else:
            data["input"] = payloads.text(given)
    if output is NO_OUTPUT:
        return
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
    elif capture_io and step_type is StepType.GRAPH_NODE:
        if isinstance(output, Mapping):
            data["updates"] = [payloads.text(key, 200) for key in output]
    elif capture_io:
        data["output"] = payloads.text(output)


def _is_control_flow(error: BaseException) -> bool:
    return any(cls.__name__ == BUBBLE_UP for cls in type(error).__mro__)
