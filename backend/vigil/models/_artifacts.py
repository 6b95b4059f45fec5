"""Artifacts: files a run produced, stored elsewhere (filesystem, S3) and recorded here."""

from typing import Annotated

from pydantic import Field, StringConstraints

from vigil.models._limits import MAX_URI_LENGTH
from vigil.models._types import Id, JsonInteger, StrictModel, UtcDatetime

ArtifactKind = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
"""A short lowercase tag chosen by the client: ``report``, ``image``, ``dataset``..."""

ContentType = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9!#$&^_.+-]{1,127}/[A-Za-z0-9!#$&^_.+-]{1,127}$")
]
"""A media type without parameters (RFC 6838 characters), e.g. ``application/json``."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

Uri = Annotated[
    str,
    StringConstraints(max_length=MAX_URI_LENGTH, pattern=r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$"),
]
"""An absolute URI (``file:``, ``s3:``, ``https:``...); the artifact store resolves it."""


class ArtifactCreate(StrictModel):
    step_id: Id | None = None
    """The step that produced the artifact; it must belong to the same run."""
    uri: Uri
    kind: ArtifactKind
    content_type: ContentType
    size_bytes: JsonInteger = Field(ge=0, le=2**63 - 1)
    sha256: Sha256


class ArtifactRecord(StrictModel):
    id: Id
    run_id: Id
    step_id: Id | None
    uri: str
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: UtcDatetime
