"""Alerts received from Alertmanager's webhook, kept with their acknowledgement."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AliasChoices, Field, StringConstraints, field_validator, model_validator

from vigil.models._limits import MAX_ANNOTATION_VALUE_LENGTH, MAX_NAME_LENGTH, MAX_URI_LENGTH
from vigil.models._types import (
    NO_NUL,
    FreeText,
    Id,
    LabelName,
    Labels,
    Lax,
    Name,
    StrictModel,
    UtcDatetime,
)


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,64}$")]
"""Alertmanager's fingerprint of the alert's label set (16 hex digits today)."""

Annotations = Annotated[
    dict[
        LabelName,
        Annotated[str, StringConstraints(max_length=MAX_ANNOTATION_VALUE_LENGTH), FreeText],
    ],
    Field(max_length=64, json_schema_extra={"additionalProperties": False}),
]

AlertLabels = Annotated[
    Labels,
    Field(
        json_schema_extra={
            "additionalProperties": False,
            "required": ["alertname"],
            "properties": {
                "alertname": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}
            },
        }
    ),
]
"""Labels of an alert: they always name it (``alertname``, at most ``MAX_NAME_LENGTH``)."""

DEFAULT_SEVERITY = "none"
"""Severity recorded for an alert whose labels carry none."""


class AlertCreate(StrictModel):
    """One alert of an Alertmanager webhook notification.

    Accepts Alertmanager's own field names (``startsAt``, ``endsAt``, ``generatorURL``) as
    well as the snake_case ones, so the webhook body's ``alerts`` items validate as they are.
    """

    fingerprint: Fingerprint
    status: Annotated[AlertStatus, Lax]
    starts_at: UtcDatetime = Field(validation_alias=AliasChoices("starts_at", "startsAt"))
    ends_at: UtcDatetime | None = Field(
        default=None, validation_alias=AliasChoices("ends_at", "endsAt")
    )
    labels: AlertLabels
    annotations: Annotations = Field(default_factory=dict)
    generator_url: (
        Annotated[str, StringConstraints(max_length=MAX_URI_LENGTH, pattern=NO_NUL)] | None
    ) = Field(default=None, validation_alias=AliasChoices("generator_url", "generatorURL"))

    @field_validator("ends_at", mode="before")
    @classmethod
    def _zero_time_is_none(cls, value: Any) -> Any:
        # Alertmanager sends Go's zero time for "no end yet" on firing alerts.
        if isinstance(value, str) and value.startswith("0001-01-01"):
            return None
        if isinstance(value, datetime) and value.year == 1:
            return None
        return value

    @model_validator(mode="after")
    def _has_alertname(self) -> Self:
        name = self.labels.get("alertname")
        if not name or len(name) > MAX_NAME_LENGTH:
            raise ValueError(f"labels must carry an alertname of 1 to {MAX_NAME_LENGTH} characters")
        return self

    @property
    def alertname(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> str:
        return self.labels.get("severity") or DEFAULT_SEVERITY


class AlertAcknowledge(StrictModel):
    by: Name
    """Who acknowledged: a user name or an integration's name."""


class Alert(StrictModel):
    """One firing episode of an alert: unique by ``(fingerprint, starts_at)``."""

    id: Id
    fingerprint: str
    status: Annotated[AlertStatus, Lax]
    alertname: str
    severity: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None
    received_at: UtcDatetime
    updated_at: UtcDatetime
    acknowledged_at: UtcDatetime | None
    acknowledged_by: str | None
