"""Vigil's data model: what the controller stores and what its API accepts.

Read models (``Run``, ``Step``...) describe stored rows; ``*Create`` models describe what a
client may send, with the size limits of ``vigil.models._limits``. Ids are UUIDv7 assigned
by the controller (``new_id``). Field by field documentation: docs/data-model.md.
"""

from vigil.models._alerts import (
    DEFAULT_SEVERITY,
    Alert,
    AlertAcknowledge,
    AlertCreate,
    AlertStatus,
)
from vigil.models._artifacts import (
    ArtifactCreate,
    ArtifactLink,
    ArtifactRecord,
    ArtifactUploadRequest,
    ArtifactUploadTicket,
)
from vigil.models._ids import id_timestamp, new_id, new_ids, utc_now
from vigil.models._keys import KEY_ID_PATTERN, ApiKey, ApiKeyCreate, ApiKeyCreated, Scope
from vigil.models._limits import (
    DEFAULT_PAGE_SIZE,
    MAX_ANNOTATION_VALUE_LENGTH,
    MAX_ARTIFACTS_PER_STEP,
    MAX_BATCH_EVENTS,
    MAX_IDENTIFIER_LENGTH,
    MAX_LABEL_VALUE_LENGTH,
    MAX_LABELS,
    MAX_LOG_MESSAGE_LENGTH,
    MAX_METADATA_BYTES,
    MAX_NAME_LENGTH,
    MAX_PAGE_SIZE,
    MAX_REASON_LENGTH,
    MAX_STEP_DATA_BYTES,
    MAX_STEPS_PER_APPEND,
    MAX_URI_LENGTH,
)
from vigil.models._logs import LOG_LEVEL_ORDER, LogCreate, LogLevel, LogRecord, levels_at_least
from vigil.models._measurements import (
    PERCENTILES,
    MeasurementCreate,
    MeasurementKind,
    MeasurementPoint,
)
from vigil.models._pages import BatchEvent, BatchWriteResult, Page
from vigil.models._runs import (
    TERMINAL_RUN_STATUSES,
    Run,
    RunCreate,
    RunFinish,
    RunStatus,
    Step,
    StepCreate,
    StepEvent,
    StepType,
)
from vigil.models._spans import Span, SpanCreate, SpanKind, SpanStatus
from vigil.models._types import JsonObject, StrictModel, UtcDatetime
from vigil.models._workflows import (
    TERMINAL_WORKFLOW_STATUSES,
    Workflow,
    WorkflowCreate,
    WorkflowStatus,
    WorkflowTransition,
    WorkflowTransitionCreate,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_SEVERITY",
    "KEY_ID_PATTERN",
    "LOG_LEVEL_ORDER",
    "MAX_ANNOTATION_VALUE_LENGTH",
    "MAX_ARTIFACTS_PER_STEP",
    "MAX_BATCH_EVENTS",
    "MAX_IDENTIFIER_LENGTH",
    "MAX_LABELS",
    "MAX_LABEL_VALUE_LENGTH",
    "MAX_LOG_MESSAGE_LENGTH",
    "MAX_METADATA_BYTES",
    "MAX_NAME_LENGTH",
    "MAX_PAGE_SIZE",
    "MAX_REASON_LENGTH",
    "MAX_STEPS_PER_APPEND",
    "MAX_STEP_DATA_BYTES",
    "MAX_URI_LENGTH",
    "PERCENTILES",
    "TERMINAL_RUN_STATUSES",
    "TERMINAL_WORKFLOW_STATUSES",
    "Alert",
    "AlertAcknowledge",
    "AlertCreate",
    "AlertStatus",
    "ApiKey",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ArtifactCreate",
    "ArtifactLink",
    "ArtifactRecord",
    "ArtifactUploadRequest",
    "ArtifactUploadTicket",
    "BatchEvent",
    "BatchWriteResult",
    "JsonObject",
    "LogCreate",
    "LogLevel",
    "LogRecord",
    "MeasurementCreate",
    "MeasurementKind",
    "MeasurementPoint",
    "Page",
    "Run",
    "RunCreate",
    "RunFinish",
    "RunStatus",
    "Scope",
    "Span",
    "SpanCreate",
    "SpanKind",
    "SpanStatus",
    "Step",
    "StepCreate",
    "StepEvent",
    "StepType",
    "StrictModel",
    "UtcDatetime",
    "Workflow",
    "WorkflowCreate",
    "WorkflowStatus",
    "WorkflowTransition",
    "WorkflowTransitionCreate",
    "id_timestamp",
    "levels_at_least",
    "new_id",
    "new_ids",
    "utc_now",
]
