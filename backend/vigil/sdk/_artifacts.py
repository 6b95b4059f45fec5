"""``upload_artifact``: files of a run sent to the controller in the background.

The agent's call costs a few checks and a queue put: it gets an :class:`ArtifactUpload` at
once, whose ``id`` is already the artifact's (a UUIDv7 made here and sent as the upload's
``Idempotency-Key``), so a step can name the artifact while its bytes are still on the way
(``log_step(..., artifacts=[upload])``; the controller shows the link once they are stored).
Worker threads stream each file from disk (httpx reads it in chunks: a 5 GiB video never sits
in memory) as ``multipart/form-data`` to ``POST /runs/{run_id}/artifacts``, with its sha256
so the controller checks the bytes end to end. Transport errors, 408, 429 and 5xx answers are
retried with exponential backoff; the same ``Idempotency-Key`` makes a retry after a lost
answer return the stored record instead of a second copy.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import IO, Final
from uuid import UUID

import httpx

from vigil.models import ArtifactRecord, new_id
from vigil.models._artifacts import ARTIFACT_KIND_PATTERN
from vigil.sdk._controller import ControllerAddress

RETRYABLE: Final = frozenset({408, 429})

Source = str | os.PathLike[str] | bytes | bytearray | memoryview


class ArtifactUploadError(Exception):
    """The controller refused the upload, or it failed on every attempt."""


class ArtifactUpload:
    """One upload under way: its artifact id now, its record once stored."""

    def __init__(self, artifact_id: UUID, run_id: UUID, file_name: str) -> None:
        self.id = artifact_id
        self.run_id = run_id
        self.file_name = file_name
        self._future: Future[ArtifactRecord] = Future()

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> ArtifactRecord:
        """The stored record (waits up to ``timeout`` seconds); ``ArtifactUploadError`` if the
        upload failed, ``TimeoutError`` if it is still running."""
        try:
            return self._future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(f"upload of {self.file_name} still running") from None

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        return f"ArtifactUpload({self.id}, {self.file_name!r}, {state})"


class ArtifactUploader:
    """Uploads files to one controller from ``max_workers`` background threads."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        max_workers: int = 2,
        max_attempts: int = 5,
        retry_backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_attempts < 1 or retry_backoff < 0:
            raise ValueError("max_attempts must be >= 1 and retry_backoff >= 0")
        self.address = ControllerAddress.resolve(base_url, token)
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self._client = self.address.client(timeout=timeout, transport=transport)
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="vigil-sdk-artifacts")
        self._closed = threading.Event()

    @classmethod
    def for_sink(cls, sink: object) -> ArtifactUploader:
        """An uploader to the controller an ``HttpSink`` posts to (same URL and key), else
        to ``VIGIL_URL`` with ``VIGIL_API_KEY``."""
        address = getattr(sink, "address", None)
        if isinstance(address, ControllerAddress):
            return cls(address.base_url, token=address.token)
        return cls()

    def upload(
        self,
        run_id: UUID,
        source: Source,
        *,
        kind: str,
        step_id: UUID | None = None,
        content_type: str | None = None,
        file_name: str | None = None,
    ) -> ArtifactUpload:
        """Queue ``source`` (a path, or bytes) for upload to run ``run_id``; returns at once.

        ``ValueError`` for a kind the controller would refuse, ``FileNotFoundError`` for a
        path that is not a file: mistakes surface here, not as a failed upload later."""
        if re.fullmatch(ARTIFACT_KIND_PATTERN, kind) is None:
            raise ValueError(f"kind must match {ARTIFACT_KIND_PATTERN}")
        if self._closed.is_set():
            raise RuntimeError("this uploader is closed")
        if isinstance(source, bytes | bytearray | memoryview):
            payload: bytes | Path = bytes(source)  # a snapshot: later changes are not sent
            name = file_name or "artifact.bin"
        else:
            payload = Path(source)
            if not payload.is_file():
                raise FileNotFoundError(f"no file at {payload}")
            name = file_name or payload.name
        media_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        upload = ArtifactUpload(new_id(), run_id, name)
        fields = {"kind": kind, **({"step_id": str(step_id)} if step_id else {})}
        self._pool.submit(self._run, upload, payload, media_type, fields)
        return upload

    def _run(
        self, upload: ArtifactUpload, payload: bytes | Path, media_type: str, fields: dict[str, str]
    ) -> None:
        if not upload._future.set_running_or_notify_cancel():
            return
        try:
            upload._future.set_result(self._send(upload, payload, media_type, fields))
        except BaseException as exc:
            upload._future.set_exception(exc)

    def _send(
        self, upload: ArtifactUpload, payload: bytes | Path, media_type: str, fields: dict[str, str]
    ) -> ArtifactRecord:
        fields = {**fields, "sha256": _sha256(payload)}
        path = f"/runs/{upload.run_id}/artifacts"
        headers = {"Idempotency-Key": str(upload.id)}
        problem = ""
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            if self._closed.is_set() and attempt:
                break
            try:
                with _opened(payload) as body:
                    response = self._client.post(
                        path,
                        files={"file": (upload.file_name, body, media_type)},
                        data=fields,
                        headers=headers,
                    )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in (200, 201):
                return ArtifactRecord.model_validate_json(response.content)
            problem = f"HTTP {response.status_code}: {response.text[:500]}"
            if response.status_code not in RETRYABLE and response.status_code < 500:
                break
        raise ArtifactUploadError(f"upload of {upload.file_name} to {path} failed: {problem}")

    def close(self, timeout: float = 60.0) -> bool:
        """Wait up to ``timeout`` seconds for the uploads under way; False if some were still
        running (those stop retrying). Idempotent."""
        self._closed.set()
        waiter = threading.Thread(target=self._pool.shutdown, kwargs={"wait": True})
        waiter.start()
        waiter.join(timeout)
        finished = not waiter.is_alive()
        if finished:
            self._client.close()
        return finished


class _opened:  # noqa: N801 - used like a function: ``with _opened(payload) as body:``
    """A fresh binary stream over the payload for each attempt."""

    def __init__(self, payload: bytes | Path) -> None:
        self._payload = payload
        self._file: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes] | bytes:
        if isinstance(self._payload, bytes):
            return self._payload
        self._file = self._payload.open("rb")
        return self._file

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            self._file.close()


def _sha256(payload: bytes | Path) -> str:
    if isinstance(payload, bytes):
        return hashlib.sha256(payload).hexdigest()
    with payload.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()
