"""Agent runs and their steps: the controller is the system of record for both."""

from enum import StrEnum
from typing import Annotated, Final, Literal, NamedTuple
from uuid import UUID

from pydantic import AfterValidator, Field, WithJsonSchema

from vigil.models._artifacts import ArtifactLink
from vigil.models._limits import MAX_ARTIFACTS_PER_STEP, MAX_STEP_DATA_BYTES
from vigil.models._types import (
    BoundedMetadata,
    Id,
    Identifier,
    JsonObject,
    Lax,
    Name,
    StrictModel,
    TraceId,
    UtcDatetime,
    max_json_bytes,
)


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"
    """No step for ``VIGIL_RUN_ABANDON_AFTER_S``: its agent most likely died (set by the
    controller, never by a client)."""


TERMINAL_RUN_STATUSES = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.ABANDONED}
)


class StepType(StrEnum):
    MESSAGE = "message"
    """A message in the conversation (user input, the agent's final answer)."""
    THOUGHT = "thought"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    LLM_GENERATION = "llm_generation"
    ERROR = "error"
    GRAPH_NODE = "graph_node"
    """One execution of a node of an agent graph (a LangGraph node: vigil.integrations)."""


STEP_TYPES: Final[dict[str, StepType]] = {member.value: member for member in StepType}
"""Step types by their values: a dict lookup instead of ``StepType(value)`` (Python code)."""


class RunCreate(StrictModel):
    """What a client sends to start a run; the controller assigns id, status and times."""

    name: Name
    agent: Name
    project_id: Identifier
    metadata: BoundedMetadata = Field(default_factory=dict)


class Run(StrictModel):
    id: Id
    name: str
    agent: str
    project_id: str
    status: Annotated[RunStatus, Lax]
    started_at: UtcDatetime
    finished_at: UtcDatetime | None
    step_count: int
    metadata: JsonObject
    last_activity_at: UtcDatetime
    """When the run last did something: started, or got a step."""


CLIENT_FINISH_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


def _terminal(status: RunStatus) -> RunStatus:
    if status not in CLIENT_FINISH_STATUSES:
        raise ValueError("a run can only finish as succeeded, failed or cancelled")
    return status


TerminalRunStatus = Annotated[
    RunStatus,
    Lax,
    AfterValidator(_terminal),
    # The schema names the accepted values, so a schema-valid request is never refused.
    WithJsonSchema({"type": "string", "enum": ["succeeded", "failed", "cancelled"]}),
]


class RunFinish(StrictModel):
    """How a run ended; finishing a run that already ended is a conflict."""

    status: TerminalRunStatus


StepData = Annotated[JsonObject, AfterValidator(max_json_bytes(MAX_STEP_DATA_BYTES))]


class StepCreate(StrictModel):
    """One step as a client sends it; ``seq`` is assigned by the store, in arrival order."""

    step_type: Annotated[StepType, Lax]
    name: Name
    data: StepData = Field(default_factory=dict)
    request_id: Identifier | None = None
    trace_id: TraceId | None = None
    created_at: UtcDatetime | None = None
    """When the step happened on the client; the controller's clock when omitted."""
    artifact_ids: Annotated[list[Id], Field(max_length=MAX_ARTIFACTS_PER_STEP)] = Field(
        default_factory=list
    )
    """Artifacts the step links to: artifacts of the same run, stored before or after the
    step (an upload may still be running); only stored ones are shown."""


class StepEvent(StepCreate):
    """A step inside a ``write_batch`` (the SDK's background writer): it names its run."""

    event: Literal["step"] = "step"
    run_id: Id


class StepRecord(NamedTuple):
    """A step as the SDK's writer hands it to ``EventStore.write_batch``: a ``StepEvent``
    already checked, so no model is built (~11 us per step here, more than the store's write).

    Not a model on purpose, like ``SpanRecord``; whoever builds one (the SDK's writer,
    ``vigil.sdk._events.step_record``) guarantees what ``StepEvent`` would check: ``name``
    of 1..``MAX_NAME_LENGTH`` characters without U+0000 or lone surrogates, ``data_json`` a
    JSON object of at most ``MAX_STEP_DATA_BYTES`` with no ``\\u0000`` in it, ``request_id``
    an identifier and ``trace_id`` 32 lowercase hex digits (or None), at most
    ``MAX_ARTIFACTS_PER_STEP`` artifact ids. ``created_at`` is in seconds since the epoch, as
    ``time.time()`` gave it (the store writes it as text without a ``datetime``), or None
    for the store's clock at the write (a step posted without one).
    """

    run_id: UUID
    step_type: StepType
    name: str
    data_json: str
    request_id: str | None
    trace_id: str | None
    created_at: float | None
    artifact_ids: tuple[UUID, ...] | list[UUID] = ()


class RunStartEvent(StrictModel):
    """A run started inside a ``write_batch``: the client made its id (a UUIDv7, as the
    controller's), so a run, like its steps, can wait in the SDK's queue and spool while the
    controller is down. Stored once per id: the same start sent again changes nothing."""

    event: Literal["run_start"] = "run_start"
    id: Id
    name: Name
    agent: Name
    project_id: Identifier
    metadata: BoundedMetadata = Field(default_factory=dict)
    started_at: UtcDatetime | None = None
    """When the run started on the client; the controller's clock when omitted."""


class RunFinishEvent(StrictModel):
    """A run finished inside a ``write_batch``. Finishing a run that already ended (sent
    again, or marked ``abandoned`` meanwhile) changes nothing; an unknown run fails the batch
    with ``NotFound``, as a step of one does."""

    event: Literal["run_finish"] = "run_finish"
    run_id: Id
    status: TerminalRunStatus
    finished_at: UtcDatetime | None = None
    """When the run ended on the client; the controller's clock when omitted."""


class Step(StrictModel):
    id: Id
    run_id: Id
    seq: int
    step_type: Annotated[StepType, Lax]
    name: str
    data: JsonObject
    request_id: str | None
    trace_id: str | None
    created_at: UtcDatetime
    artifacts: list[ArtifactLink] = Field(default_factory=list)
    """The stored artifacts the step links to, and those uploaded naming it, oldest first."""
