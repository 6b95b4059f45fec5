"""API keys: who may call the controller, for which project, with which scopes.

A key is shown once, when it is created (``ApiKeyCreated.token``); the store keeps only a
SHA-256 digest of its secret part. ``key_id`` is the public half of the token: it names the
key in listings, in logs and on the records the key ingested, and is no secret.
"""

from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, Field, StringConstraints

from vigil.models._types import Id, Identifier, Lax, Name, StrictModel, UtcDatetime


class Scope(StrEnum):
    """What a key may do; ``admin`` includes every other scope."""

    INGEST = "ingest"
    """Write runs, steps, events (logs, measurements, spans), workflows and artifacts."""
    READ = "read"
    """Read everything of the key's project (and the platform's alerts)."""
    METRICS = "metrics"
    """Scrape ``GET /metrics`` when it is keyed, and nothing else (Prometheus' key)."""
    ADMIN = "admin"
    """Manage keys, acknowledge alerts, run operations; implies the other scopes."""


KEY_ID_PATTERN: Final = r"^[0-9a-f]{16}$"
KeyId = Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]
"""The public identifier of a key: 16 lowercase hex digits."""


def _distinct(scopes: list[Scope]) -> list[Scope]:
    if len(set(scopes)) != len(scopes):
        raise ValueError("a scope is listed twice")
    return sorted(scopes)


Scopes = Annotated[
    list[Annotated[Scope, Lax]],
    Field(min_length=1, max_length=len(Scope), json_schema_extra={"uniqueItems": True}),
    AfterValidator(_distinct),
]


class ApiKeyCreate(StrictModel):
    """A key to create. ``project_id`` null: a key for every project (only a key that is
    itself for every project may create one)."""

    name: Name
    scopes: Scopes
    project_id: Identifier | None = None


class ApiKey(StrictModel):
    """A stored key, without its secret."""

    id: Id
    key_id: str
    name: str
    scopes: list[Annotated[Scope, Lax]]
    project_id: str | None
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None


class ApiKeyCreated(ApiKey):
    """The answer to creating a key: the only time its token is shown."""

    token: str
    """``vigil_<key_id>_<secret>``: send it as ``Authorization: Bearer <token>``."""
