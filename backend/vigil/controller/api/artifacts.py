"""Artifacts of runs: uploads streamed to the artifact store, records, downloads.

- ``POST /runs/{run_id}/artifacts``: a ``multipart/form-data`` body (``file``, ``kind``,
  optional ``step_id`` and ``sha256``) streamed to the store as it arrives, hashed and
  measured on the way; the record is created only once the bytes are stored, and a failed
  upload removes what it stored. ``Idempotency-Key`` (a UUID) becomes the artifact's id: an
  agent knows it before the upload ends (a step may name it), and a retried upload whose
  first attempt was stored gets that record back.
- ``POST /runs/{run_id}/artifacts/uploads`` and ``.../uploads/{artifact_id}/complete``:
  large files straight to S3 with a presigned PUT, recorded once the object is checked.
- ``GET /runs/{run_id}/artifacts``, ``GET /artifacts/{artifact_id}``: the records.
- ``GET /artifacts/{artifact_id}/content``: the bytes, streamed from the filesystem; from S3 a
  307 to a presigned URL (or streamed, ``VIGIL_ARTIFACTS_PROXY_DOWNLOADS``).

A project's key sees its project's runs only: another project's run or artifact is a 404.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final
from uuid import UUID

import anyio
from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError, WithJsonSchema
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from vigil.artifacts import (
    ArtifactStore,
    ObjectNotFound,
    ObjectReader,
    ObjectWriter,
    StoredObject,
    artifact_key,
)
from vigil.artifacts._digest import StreamDigest
from vigil.controller.api._deps import AUTH_RESPONSES, Cursor, Limit, Store, error_responses
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import Ingest, Read
from vigil.controller.upload_form import FileData, FileStart, FormError, UploadForm
from vigil.instrumentation.errors import error_response
from vigil.models import (
    DEFAULT_PAGE_SIZE,
    ArtifactCreate,
    ArtifactRecord,
    ArtifactUploadRequest,
    ArtifactUploadTicket,
    Page,
    new_id,
)
from vigil.models._artifacts import (
    ARTIFACT_KIND_PATTERN,
    CONTENT_TYPE_PATTERN,
    SHA256_PATTERN,
    ArtifactKind,
    Sha256,
)
from vigil.models._types import Id, StrictModel
from vigil.settings import Settings
from vigil.storage import Conflict, EventStore, NotFound

logger = logging.getLogger("vigil.controller.artifacts")

router = APIRouter(route_class=JsonBodyRoute, tags=["artifacts"], responses=AUTH_RESPONSES)

UPLOAD_PATH: Final = r"/runs/[^/]+/artifacts"
"""The path whose body limit is ``VIGIL_ARTIFACTS_MAX_UPLOAD_BYTES`` (plus the form's own)."""
FORM_OVERHEAD_BYTES: Final = 64 * 1024
HANDOFF_BYTES: Final = 1024 * 1024
"""File bytes gathered before each hop to the thread pool that writes them."""
FILE_FIELD: Final = "file"


class UploadFields(StrictModel):
    """The form's fields besides the file."""

    kind: ArtifactKind
    step_id: Id | None = None
    sha256: Sha256 | None = None


UPLOAD_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "kind"],
                "additionalProperties": False,
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The file; its part's filename is kept sanitised, its "
                        "Content-Type (a media type, default application/octet-stream) is "
                        "the artifact's.",
                    },
                    "kind": {"type": "string", "pattern": ARTIFACT_KIND_PATTERN},
                    "step_id": {
                        "type": "string",
                        "format": "uuid",
                        "description": "The step of this run that produced the file.",
                    },
                    "sha256": {
                        "type": "string",
                        "pattern": SHA256_PATTERN,
                        "description": "The file's digest: checked, 400 if it differs.",
                    },
                },
            },
            "encoding": {"file": {"contentType": "application/octet-stream"}},
        }
    },
}


def _artifacts(request: Request) -> ArtifactStore:
    store: ArtifactStore = request.app.state.artifacts
    return store


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _invalid(field: str | None, message: str, kind: str = "value_error") -> RequestValidationError:
    location = ["body", field] if field else ["body"]
    return RequestValidationError([{"loc": location, "msg": message, "type": kind}])


def _media_type(raw: str) -> str:
    """The part's media type without parameters (``text/csv; charset=utf-8``: text/csv)."""
    media_type = raw.split(";", 1)[0].strip().lower()
    if re.fullmatch(CONTENT_TYPE_PATTERN, media_type) is None:
        raise _invalid(FILE_FIELD, "the file's Content-Type is not a media type (type/subtype)")
    return media_type


async def _existing(
    store: EventStore, artifact_id: UUID, run_id: UUID, project_id: str | None
) -> ArtifactRecord | None:
    """The record already stored under ``artifact_id`` (a retry), None if there is none;
    409 if that id is another run's."""
    try:
        record = await run_in_threadpool(store.get_artifact, artifact_id)
    except NotFound:
        return None
    if record.run_id != run_id:
        raise HTTPException(status.HTTP_409_CONFLICT, "this id belongs to another artifact")
    return record


async def _abort(writer: ObjectWriter | None) -> None:
    if writer is not None:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(writer.abort)


async def _record(
    store: EventStore,
    artifacts: ArtifactStore,
    run_id: UUID,
    artifact_id: UUID,
    stored: StoredObject,
    kind: str,
    step_id: UUID | None,
    project_id: str | None,
) -> ArtifactRecord:
    """Record stored bytes; if the record cannot be made, the bytes go too (no orphan)."""
    create = ArtifactCreate(
        step_id=step_id,
        uri=artifacts.uri(stored.key),
        name=stored.key.rsplit("/", 1)[1],
        kind=kind,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
    )
    try:
        return await run_in_threadpool(
            store.create_artifact, run_id, create, artifact_id=artifact_id, project_id=project_id
        )
    except Conflict:
        # A concurrent upload with the same Idempotency-Key recorded it first (under the same
        # key): its bytes are these, keep them.
        existing = await _existing(store, artifact_id, run_id, project_id)
        if existing is None:
            raise
        return existing
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(artifacts.delete, stored.key)
        raise


@router.post(
    "/runs/{run_id}/artifacts",
    status_code=status.HTTP_201_CREATED,
    response_model=ArtifactRecord,
    responses={
        200: {"model": ArtifactRecord, "description": "Stored before (same Idempotency-Key)"},
        **error_responses(400, 404, 409, 413, 415, 503),
    },
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_artifact(
    run_id: UUID,
    request: Request,
    store: Store,
    principal: Ingest,
    idempotency_key: Annotated[
        UUID | None,
        # Absent, or a UUID: never a null (schema generators would send the text "null").
        WithJsonSchema({"type": "string", "format": "uuid"}),
        Header(
            alias="Idempotency-Key",
            description="The artifact's id (a UUIDv7 the client made): a retry with the same "
            "key gets the stored record back (200) instead of storing the file twice.",
        ),
    ] = None,
) -> Response:
    """Upload a file of a run, streamed to the artifact store; 201 and its record.

    Larger than ``VIGIL_ARTIFACTS_MAX_UPLOAD_BYTES``: 413, nothing stored. A ``sha256``
    that is not the file's: 400, nothing stored. The file's name is kept sanitised
    (``../../x.png`` is ``x.png``); the store derives the object's key from the run, the
    artifact id and that name.
    """
    settings, artifacts = _settings(request), _artifacts(request)
    project_id = principal.project_id
    await run_in_threadpool(store.get_run, run_id, project_id=project_id)
    artifact_id = idempotency_key or new_id()
    if (existing := await _existing(store, artifact_id, run_id, project_id)) is not None:
        async for _ in request.stream():  # read the body the client sends anyway
            pass
        return JSONResponse(existing.model_dump(mode="json"), status_code=status.HTTP_200_OK)
    try:
        form = UploadForm(
            request.headers.get("content-type", ""),
            file_field=FILE_FIELD,
            fields=frozenset(UploadFields.model_fields),
        )
    except FormError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    writer: ObjectWriter | None = None
    pending = bytearray()
    try:
        async for chunk in request.stream():
            for event in form.feed(chunk):
                if isinstance(event, FileStart):
                    key = artifact_key(run_id, artifact_id, event.file_name)
                    media_type = _media_type(event.content_type)
                    writer = await run_in_threadpool(
                        artifacts.writer,
                        key,
                        content_type=media_type,
                        max_bytes=settings.artifacts_max_upload_bytes,
                    )
                    continue
                if isinstance(event, FileData):
                    pending += event.data
                    if len(pending) < HANDOFF_BYTES:
                        continue
                assert writer is not None  # noqa: S101 - FileStart comes first
                if pending:  # a full hand-off, or the rest at the file's end
                    await run_in_threadpool(writer.write, pending)
                    pending = bytearray()
        form.close()
        try:
            fields = UploadFields.model_validate(form.fields)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
            ) from None
        assert writer is not None  # noqa: S101 - form.close() checked the file came
        stored = await run_in_threadpool(writer.commit, fields.sha256)
    except FormError as exc:
        await _abort(writer)
        if exc.status == 422:
            raise _invalid(exc.field, str(exc)) from None
        raise HTTPException(exc.status, str(exc)) from None
    except ClientDisconnect:
        # Nobody reads the answer; returning one keeps the disconnect out of the unhandled
        # exceptions (a traceback and unhandled_exceptions_total for a client's choice).
        await _abort(writer)
        logger.info("artifact upload to run %s abandoned by the client", run_id)
        return error_response(400, "the client went away before the upload ended")
    except BaseException:
        await _abort(writer)
        raise
    record = await _record(
        store, artifacts, run_id, artifact_id, stored, fields.kind, fields.step_id, project_id
    )
    return JSONResponse(record.model_dump(mode="json"), status_code=status.HTTP_201_CREATED)


@router.post(
    "/runs/{run_id}/artifacts/uploads",
    status_code=status.HTTP_201_CREATED,
    response_model=ArtifactUploadTicket,
    responses=error_responses(404, 409, 413, 503),
)
async def presign_upload(
    run_id: UUID,
    upload: ArtifactUploadRequest,
    request: Request,
    store: Store,
    principal: Ingest,
    expires_s: Annotated[
        int | None,
        Query(ge=1, description="URL lifetime (default and upper bound: the controller's)"),
    ] = None,
) -> ArtifactUploadTicket:
    """A presigned URL to PUT a large file straight to S3, then complete it (same body; the
    step is checked then). 409 when the artifact store cannot presign (the filesystem:
    upload through ``POST /runs/{run_id}/artifacts``)."""
    settings, artifacts = _settings(request), _artifacts(request)
    await run_in_threadpool(store.get_run, run_id, project_id=principal.project_id)
    if upload.size_bytes > settings.artifacts_max_upload_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the file is larger than the limit of {settings.artifacts_max_upload_bytes} bytes",
        )
    artifact_id = new_id()
    key = artifact_key(run_id, artifact_id, upload.file_name)
    lifetime = min(
        expires_s or settings.artifacts_presign_expiry_s, settings.artifacts_presign_max_expiry_s
    )
    ticket = await run_in_threadpool(
        lambda: artifacts.presigned_put(
            key, lifetime, content_type=upload.content_type, sha256=upload.sha256
        )
    )
    if ticket is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"the {artifacts.backend} artifact store takes uploads through "
            "POST /runs/{run_id}/artifacts only",
        )
    return ArtifactUploadTicket(
        artifact_id=artifact_id,
        method=ticket.method,
        url=ticket.url,
        headers=ticket.headers,
        expires_at=ticket.expires_at,
        complete_url=f"/runs/{run_id}/artifacts/uploads/{artifact_id}/complete",
    )


@router.post(
    "/runs/{run_id}/artifacts/uploads/{artifact_id}/complete",
    status_code=status.HTTP_201_CREATED,
    response_model=ArtifactRecord,
    responses={
        200: {"model": ArtifactRecord, "description": "Completed before"},
        **error_responses(400, 404, 409, 413, 503),
    },
)
async def complete_upload(
    run_id: UUID,
    artifact_id: UUID,
    upload: ArtifactUploadRequest,
    request: Request,
    store: Store,
    principal: Ingest,
) -> Response:
    """Record a file PUT to its presigned URL, once the object is checked: its size and its
    sha256 (what S3 verified against the signed header) must be those declared; if not, the
    object is deleted (400, or 413 past the size limit). 409 if nothing was uploaded yet."""
    settings, artifacts = _settings(request), _artifacts(request)
    project_id = principal.project_id
    await run_in_threadpool(store.get_run, run_id, project_id=project_id)
    if (existing := await _existing(store, artifact_id, run_id, project_id)) is not None:
        return JSONResponse(existing.model_dump(mode="json"), status_code=status.HTTP_200_OK)
    key = artifact_key(run_id, artifact_id, upload.file_name)
    try:
        info = await run_in_threadpool(artifacts.head, key)
    except ObjectNotFound:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "nothing was uploaded for this artifact yet"
        ) from None
    problem: tuple[int, str] | None = None
    if info.size_bytes > settings.artifacts_max_upload_bytes:
        problem = (status.HTTP_413_CONTENT_TOO_LARGE, "the object is larger than the limit")
    elif info.size_bytes != upload.size_bytes:
        problem = (400, f"the object has {info.size_bytes} bytes, not {upload.size_bytes}")
    else:
        sha256 = info.sha256 or await run_in_threadpool(_sha256_of, artifacts, key)
        if sha256 != upload.sha256:
            problem = (400, f"the object's sha256 is {sha256}, not {upload.sha256}")
    if problem is not None:
        await run_in_threadpool(artifacts.delete, key)
        raise HTTPException(*problem)
    stored = StoredObject(key, info.size_bytes, upload.sha256, upload.content_type)
    record = await _record(
        store, artifacts, run_id, artifact_id, stored, upload.kind, upload.step_id, project_id
    )
    return JSONResponse(record.model_dump(mode="json"), status_code=status.HTTP_201_CREATED)


def _sha256_of(artifacts: ArtifactStore, key: str) -> str:
    """The digest of a stored object, read back (for S3-compatible servers that keep none)."""
    with artifacts.open(key) as reader:
        return StreamDigest.of(reader).sha256


@router.get(
    "/runs/{run_id}/artifacts",
    response_model=Page[ArtifactRecord],
    responses=error_responses(400, 404, 503),
)
async def list_artifacts(
    run_id: UUID,
    store: Store,
    principal: Read,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[ArtifactRecord]:
    """The run's artifacts, oldest first, one page at a time."""
    return await run_in_threadpool(
        store.list_artifacts, run_id, project_id=principal.project_id, limit=limit, cursor=cursor
    )


@router.get(
    "/artifacts/{artifact_id}",
    response_model=ArtifactRecord,
    responses=error_responses(404, 503),
)
async def get_artifact(artifact_id: UUID, store: Store, principal: Read) -> ArtifactRecord:
    """One artifact's record."""
    return await run_in_threadpool(store.get_artifact, artifact_id, project_id=principal.project_id)


@router.get(
    "/artifacts/{artifact_id}/content",
    response_class=Response,
    responses={
        200: {
            "description": "The bytes (as an attachment, with the artifact's media type)",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
        307: {"description": "S3: the presigned URL to GET them from, in Location"},
        **error_responses(404, 503),
    },
)
async def get_artifact_content(
    artifact_id: UUID, request: Request, store: Store, principal: Read
) -> Response:
    """The artifact's bytes: streamed, or from S3 a 307 to a short-lived presigned URL."""
    settings, artifacts = _settings(request), _artifacts(request)
    record = await run_in_threadpool(
        store.get_artifact, artifact_id, project_id=principal.project_id
    )
    key = artifacts.key_of(record.uri)
    if not settings.artifacts_proxy_downloads:
        lifetime = min(settings.artifacts_presign_expiry_s, settings.artifacts_presign_max_expiry_s)
        url = await run_in_threadpool(
            lambda: artifacts.presigned_get(
                key,
                lifetime,
                file_name=record.name,
                content_type=record.content_type,
            )
        )
        if url is not None:
            return RedirectResponse(url, status.HTTP_307_TEMPORARY_REDIRECT, _NO_STORE)
    reader = await run_in_threadpool(artifacts.open, key)
    headers = {
        **_NO_STORE,
        "Content-Length": str(reader.info.size_bytes),
        "Content-Disposition": f'attachment; filename="{record.name}"',
        "ETag": f'"{record.sha256}"',
        # Bytes a client uploaded, served from the API's origin: never rendered as a page.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    return StreamingResponse(_chunks(reader), media_type=record.content_type, headers=headers)


_NO_STORE: Final = {"Cache-Control": "no-store"}


async def _chunks(reader: ObjectReader) -> AsyncIterator[bytes]:
    chunks = iter(reader)
    try:
        while True:
            chunk = await run_in_threadpool(next, chunks, None)
            if chunk is None:
                return
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(reader.close)
