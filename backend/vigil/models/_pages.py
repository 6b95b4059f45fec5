"""Shapes shared by list endpoints and the batch writer."""

from typing import Annotated, Any, Generic, TypeVar

from pydantic import Discriminator, Tag

from vigil.models._logs import LogCreate, LogEntry
from vigil.models._measurements import MeasurementCreate
from vigil.models._runs import RunFinishEvent, RunStartEvent, StepEvent, StepRecord
from vigil.models._spans import SpanCreate
from vigil.models._types import StrictModel

T = TypeVar("T")


class Page(StrictModel, Generic[T]):
    """One page of a keyset-paginated listing."""

    items: list[T]
    next_cursor: str | None
    """Opaque; pass it back to get the next page. ``None`` on the last page."""


def _event_kind(value: Any) -> str | None:
    """The kind of a batch event: its ``event`` field, or, when a client left that field out
    (it has a default, so the schema cannot require it), the field only that kind has."""
    if not isinstance(value, dict):
        return getattr(value, "event", None)
    if "event" in value:
        kind = value["event"]
        return kind if isinstance(kind, str) else None
    for field, inferred in (
        ("step_type", "step"),
        ("level", "log"),
        ("start_time", "span"),
        ("agent", "run_start"),
        ("value", "measurement"),
        ("status", "run_finish"),
    ):
        if field in value:
            return inferred
    return None


BatchEvent = Annotated[
    Annotated[StepEvent, Tag("step")]
    | Annotated[LogCreate, Tag("log")]
    | Annotated[MeasurementCreate, Tag("measurement")]
    | Annotated[SpanCreate, Tag("span")]
    | Annotated[RunStartEvent, Tag("run_start")]
    | Annotated[RunFinishEvent, Tag("run_finish")],
    Discriminator(_event_kind),
]
"""One event of a ``write_batch``: ``event`` tells which kind it is (inferred when absent)."""

BatchItem = BatchEvent | StepRecord | LogEntry
"""What ``write_batch`` takes: events, and steps and log records the SDK checked already
(``StepRecord``, ``LogEntry``)."""


class BatchWriteResult(StrictModel):
    """How many events of each kind a ``write_batch`` stored."""

    steps: int = 0
    logs: int = 0
    measurements: int = 0
    spans: int = 0
    runs_started: int = 0
    runs_finished: int = 0

    @property
    def total(self) -> int:
        return (
            self.steps
            + self.logs
            + self.measurements
            + self.spans
            + self.runs_started
            + self.runs_finished
        )
