"""Measurements: numeric points recorded by the controller (durations, token counts, costs)."""

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from vigil.models._limits import MAX_NAME_LENGTH
from vigil.models._types import Id, Identifier, Labels, Lax, StrictModel, UtcDatetime


class MeasurementKind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    """One observation of a distribution (a duration); percentiles are computed over these."""


PERCENTILES: Final = (0.5, 0.95, 0.99)
"""The quantiles ``EventStore.percentile`` answers."""

MetricName = Annotated[
    str,
    StringConstraints(pattern=rf"^[a-zA-Z_:][a-zA-Z0-9_:]{{0,{MAX_NAME_LENGTH - 1}}}$"),
]
"""Prometheus metric name rules, so a measurement can be exported under the same name."""


class MeasurementCreate(StrictModel):
    event: Literal["measurement"] = "measurement"
    name: MetricName
    value: float
    kind: Annotated[MeasurementKind, Lax]
    recorded_at: UtcDatetime | None = None
    """When the value was observed; the controller's clock when omitted."""
    labels: Labels = Field(default_factory=dict)
    run_id: Id | None = None
    project_id: Identifier | None = None


class MeasurementPoint(StrictModel):
    id: Id
    name: str
    value: float
    kind: Annotated[MeasurementKind, Lax]
    recorded_at: UtcDatetime
    labels: dict[str, str]
    run_id: Id | None
    project_id: str | None
