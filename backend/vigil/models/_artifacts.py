"""Artifacts: files a run produced, stored elsewhere (filesystem, S3) and recorded here.

A record exists only once its bytes are stored (``vigil.artifacts``); the controller creates
it, never a client directly: the upload endpoints measure the bytes, and ``uri``, ``name``,
``size_bytes`` and ``sha256`` are what the store measured.
"""

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import Field, StringConstraints, computed_field, model_validator

from vigil.models._limits import MAX_URI_LENGTH
from vigil.models._types import Id, JsonInteger, StrictModel, UtcDatetime

ARTIFACT_KIND_PATTERN: Final = r"^[a-z0-9][a-z0-9._-]{0,63}$"
CONTENT_TYPE_PATTERN: Final = r"^[A-Za-z0-9!#$&^_.+-]{1,127}/[A-Za-z0-9!#$&^_.+-]{1,127}$"
SHA256_PATTERN: Final = r"^[0-9a-f]{64}$"

ArtifactKind = Annotated[str, StringConstraints(pattern=ARTIFACT_KIND_PATTERN)]
"""A short lowercase tag chosen by the client: ``report``, ``image``, ``dataset``..."""

ContentType = Annotated[str, StringConstraints(pattern=CONTENT_TYPE_PATTERN)]
"""A media type without parameters (RFC 6838 characters), e.g. ``application/json``."""

Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]

Uri = Annotated[
    str,
    StringConstraints(max_length=MAX_URI_LENGTH, pattern=r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$"),
]
"""An absolute URI (``file:``, ``s3:``, ``https:``...); the artifact store resolves it."""

FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
"""A sanitised file name (``vigil.artifacts.sanitize_file_name``): the key's last segment."""

ClientFileName = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
"""A file name as a client gives it; only its sanitised form is kept."""

MAX_ARTIFACT_SIZE_BYTES = 2**53 - 1
"""The largest size a client may declare: an integer every JSON parser reads exactly."""


def content_url(artifact_id: object) -> str:
    return f"/artifacts/{artifact_id}/content"


def _without_content_url(data: Any) -> Any:
    """What the API sends back validates again: ``content_url`` is computed, not stored."""
    if isinstance(data, dict) and "content_url" in data:
        return {key: value for key, value in data.items() if key != "content_url"}
    return data


class ArtifactCreate(StrictModel):
    step_id: Id | None = None
    """The step that produced the artifact; it must belong to the same run."""
    uri: Uri
    name: FileName
    kind: ArtifactKind
    content_type: ContentType
    size_bytes: JsonInteger = Field(ge=0, le=MAX_ARTIFACT_SIZE_BYTES)
    sha256: Sha256


class ArtifactRecord(StrictModel):
    id: Id
    run_id: Id
    step_id: Id | None
    name: str
    uri: str
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: UtcDatetime

    _accept_content_url = model_validator(mode="before")(_without_content_url)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_url(self) -> str:
        """Where the controller serves the bytes (relative to its base URL)."""
        return content_url(self.id)


class ArtifactLink(StrictModel):
    """An artifact as a step shows it."""

    id: Id
    kind: str
    name: str
    content_type: str
    size_bytes: int
    uri: str

    _accept_content_url = model_validator(mode="before")(_without_content_url)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_url(self) -> str:
        return content_url(self.id)


class ArtifactUploadRequest(StrictModel):
    """A file the client will PUT to a presigned URL itself, and then completes with the
    same body: the controller checks the object (size, sha256) and records it."""

    file_name: ClientFileName
    kind: ArtifactKind
    content_type: ContentType
    size_bytes: JsonInteger = Field(ge=0, le=MAX_ARTIFACT_SIZE_BYTES)
    sha256: Sha256
    step_id: Id | None = None


class ArtifactUploadTicket(StrictModel):
    """Where and how to PUT the file, and where to complete the upload."""

    artifact_id: Id
    method: Literal["PUT"]
    url: str
    headers: dict[str, str]
    """Send exactly these (the store checks the sha256 header against the bytes)."""
    expires_at: datetime
    complete_url: str
