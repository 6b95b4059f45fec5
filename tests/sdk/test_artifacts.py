"""upload_artifact: the agent gets the artifact's id at once, the bytes go in the background,
and a step names the artifact before its upload ended."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.controller.conftest import ControllerData, controller_settings, serve_in_thread
from vigil.auth import new_token
from vigil.controller import create_app
from vigil.models import new_id
from vigil.sdk import AgentRecorder, ArtifactUploader, ArtifactUploadError, HttpSink
from vigil.secret_files import write_new_secret

MiB = 1024 * 1024


def test_upload_returns_at_once_and_a_step_links_it(store_url: str, tmp_path: Path) -> None:
    """Against a real controller: upload_artifact returns long before the 64 MiB file is
    sent (the first call also builds the uploader's client); a step logged right away names
    it; once stored, the run's steps show the link."""
    token, _ = new_token()
    write_new_secret(tmp_path / "data" / "admin.key", token)
    controller_data = ControllerData(tmp_path / "data", token)
    settings = controller_settings(store_url, controller_data)
    video = tmp_path / "render.mp4"
    video.write_bytes(os.urandom(64 * MiB))
    with serve_in_thread(create_app(settings), settings) as url:
        sink = HttpSink(url, token=controller_data.admin_token)
        with AgentRecorder(sink, service="agent") as recorder:
            run = recorder.start_run("render", agent="a", project_id="p")
            started = time.perf_counter()
            upload = recorder.upload_artifact(run.id, video, kind="video")
            returned_after = time.perf_counter() - started
            assert not upload.done()
            recorder.log_step(run.id, "tool_result", name="render", artifacts=[upload])
            record = upload.result(timeout=60)
            assert recorder.flush()
        assert returned_after < 0.25
        assert record.id == upload.id
        assert (record.name, record.content_type, record.size_bytes) == (
            "render.mp4",
            "video/mp4",
            64 * MiB,
        )
        assert record.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
        headers = controller_data.headers
        steps = httpx.get(f"{url}/runs/{run.id}/steps", headers=headers, timeout=10).json()
        assert [link["id"] for link in steps["items"][0]["artifacts"]] == [str(record.id)]
        content = httpx.get(f"{url}{record.content_url}", headers=headers, timeout=30)
        assert content.content == video.read_bytes()


def _record(request: httpx.Request, artifact_id: str) -> dict[str, Any]:
    return {
        "id": artifact_id,
        "run_id": request.url.path.split("/")[2],
        "step_id": None,
        "name": "a.bin",
        "uri": "file:///x",
        "kind": "k",
        "content_type": "application/octet-stream",
        "size_bytes": 3,
        "sha256": hashlib.sha256(b"abc").hexdigest(),
        "created_at": "2026-01-01T00:00:00Z",
    }


def test_retries_keep_the_idempotency_key() -> None:
    """A 503, then a connection error, then success: three attempts, one artifact id as the
    Idempotency-Key on each, the file's sha256 sent for the controller to check."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503, json={"detail": "S3 down"})
        if len(seen) == 2:
            raise httpx.ConnectError("refused")
        key = request.headers["idempotency-key"]
        return httpx.Response(201, json=_record(request, key))

    uploader = ArtifactUploader(
        "http://controller", token="t", transport=httpx.MockTransport(answer), retry_backoff=0
    )
    upload = uploader.upload(new_id(), b"abc", kind="k", file_name="a.bin")
    record = upload.result(timeout=10)
    assert uploader.close()
    assert record.id == upload.id
    assert len(seen) == 3
    assert {r.headers["idempotency-key"] for r in seen} == {str(upload.id)}
    body = seen[-1].read()
    assert hashlib.sha256(b"abc").hexdigest().encode() in body
    assert seen[-1].headers["authorization"] == "Bearer t"


def test_a_refusal_is_not_retried() -> None:
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(404, json={"detail": "run not found"})

    uploader = ArtifactUploader("http://c", transport=httpx.MockTransport(answer))
    upload = uploader.upload(new_id(), b"abc", kind="k")
    with pytest.raises(ArtifactUploadError, match="HTTP 404"):
        upload.result(timeout=10)
    assert calls == 1
    uploader.close()


def test_mistakes_surface_at_the_call(tmp_path: Path) -> None:
    uploader = ArtifactUploader(
        "http://c", transport=httpx.MockTransport(lambda r: httpx.Response(500))
    )
    with pytest.raises(ValueError, match="kind"):
        uploader.upload(new_id(), b"x", kind="Not A Kind")
    with pytest.raises(FileNotFoundError):
        uploader.upload(new_id(), tmp_path / "missing.bin", kind="k")
    uploader.close()
    with pytest.raises(RuntimeError, match="closed"):
        uploader.upload(new_id(), b"x", kind="k")


def test_bytes_are_a_snapshot_and_close_waits() -> None:
    """The bytes given are the bytes sent (later changes to a bytearray are not), and close
    waits for uploads under way."""
    release = threading.Event()
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        bodies.append(request.read())
        return httpx.Response(201, json=_record(request, request.headers["idempotency-key"]))

    uploader = ArtifactUploader("http://c", transport=httpx.MockTransport(answer))
    data = bytearray(b"first")
    upload = uploader.upload(new_id(), data, kind="k")
    data[:] = b"later"
    assert not uploader.close(timeout=0.2), "still uploading"
    release.set()
    upload.result(timeout=5)
    assert b"first" in bodies[0]
    assert b"later" not in bodies[0]
