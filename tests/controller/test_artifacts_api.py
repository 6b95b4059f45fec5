"""The artifact endpoints: uploads streamed to the store, records, downloads, presigned
uploads, step links; on the filesystem store (both databases) and on S3 (SeaweedFS)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.artifacts.s3_server import S3Server, seaweedfs
from tests.controller.conftest import ControllerData, controller_settings
from tests.controller.test_api_keys import make_key
from vigil.artifacts import S3ArtifactStore
from vigil.controller import create_app
from vigil.models import new_id, utc_now

MiB = 1024 * 1024
RUN = {"name": "render", "agent": "builder", "project_id": "p1"}


def _upload(
    api: TestClient | httpx.Client,
    run_id: str,
    data: bytes,
    name: str = "out.bin",
    content_type: str = "application/octet-stream",
    **fields: str,
) -> httpx.Response:
    headers = {}
    if "idempotency_key" in fields:
        headers["Idempotency-Key"] = fields.pop("idempotency_key")
    return api.post(
        f"/runs/{run_id}/artifacts",
        files={"file": (name, data, content_type)},
        data={"kind": "video", **fields},
        headers=headers,
    )


def _run(api: TestClient | httpx.Client) -> str:
    response = api.post("/runs", json=RUN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _stored_files(data: ControllerData) -> list[Path]:
    return [p for p in (data.directory / "artifacts" / "runs").rglob("*") if p.is_file()]


# --- filesystem store, SQLite and PostgreSQL --------------------------------------------------


def test_upload_list_read_and_download(api: TestClient, controller_data: ControllerData) -> None:
    """A file streamed in is recorded with what the store measured, listed, and served back
    as an attachment with its media type."""
    run_id = _run(api)
    data = os.urandom(3 * MiB + 5)
    sha256 = hashlib.sha256(data).hexdigest()
    created = _upload(api, run_id, data, "frame 1.png", "image/png; charset=binary", sha256=sha256)
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["run_id"] == run_id
    assert (record["name"], record["kind"], record["content_type"]) == (
        "frame_1.png",
        "video",
        "image/png",
    )
    assert (record["size_bytes"], record["sha256"]) == (len(data), sha256)
    assert record["uri"].startswith("file:///")
    assert record["content_url"] == f"/artifacts/{record['id']}/content"

    assert api.get(f"/artifacts/{record['id']}").json() == record
    assert api.get(f"/runs/{run_id}/artifacts").json() == {"items": [record], "next_cursor": None}
    content = api.get(record["content_url"])
    assert content.status_code == 200
    assert content.content == data
    assert content.headers["content-type"] == "image/png"
    assert content.headers["content-disposition"] == 'attachment; filename="frame_1.png"'
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["etag"] == f'"{sha256}"'
    assert [p.name for p in _stored_files(controller_data)] == ["frame_1.png"]


def test_listing_is_paged(api: TestClient) -> None:
    run_id = _run(api)
    ids = [_upload(api, run_id, b"x" * i, f"f{i}").json()["id"] for i in range(3)]
    first = api.get(f"/runs/{run_id}/artifacts", params={"limit": 2}).json()
    rest = api.get(
        f"/runs/{run_id}/artifacts", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [a["id"] for a in first["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        (b"../../../etc/passwd", "passwd"),
        (b"..\\..\\boot.ini", "boot.ini"),
        (b"a\x00b.txt", "a_b.txt"),
        (b"n" * 1024 + b".txt", "n" * 124 + ".txt"),
        (b"..", "file"),
        (b"", "file"),
    ],
)
def test_file_names_never_choose_a_path(
    api: TestClient, controller_data: ControllerData, name: bytes, kept: str
) -> None:
    """../ (and \\), a raw NUL byte and a 1 KiB name in the part's filename: the name is
    sanitised, the file lands in its artifact's directory and nowhere else."""
    run_id = _run(api)
    boundary = b"vigil-boundary"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="kind"\r\n\r\nvideo\r\n'
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="'
        + name + b'"\r\n\r\ndata\r\n--' + boundary + b"--\r\n"
    )  # fmt: skip
    response = api.post(
        f"/runs/{run_id}/artifacts",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=vigil-boundary"},
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["name"] == kept
    (path,) = _stored_files(controller_data)
    assert path.relative_to(controller_data.directory / "artifacts").parts == (
        "runs",
        run_id,
        record["id"],
        kept,
    )
    assert path.read_bytes() == b"data"


def test_bad_uploads_are_refused_and_store_nothing(
    api: TestClient, controller_data: ControllerData
) -> None:
    """Wrong sha256: 400; a content type that is not one: 422; a bad kind, a missing file,
    a field the form does not have: 422; not a form: 415; an unknown run: 404. No record, no
    file, no temporary file."""
    run_id = _run(api)
    cases: list[tuple[int, httpx.Response]] = [
        (400, _upload(api, run_id, b"data", sha256="0" * 64)),
        (422, _upload(api, run_id, b"data", content_type="not a type")),
        (422, api.post(f"/runs/{run_id}/artifacts", files={"file": ("a", b"x")})),
        (422, _upload(api, run_id, b"data", kind="Not-Lowercase")),
        (422, _upload(api, run_id, b"data", step_id="not-a-uuid")),
        (422, _upload(api, run_id, b"data", extra="field")),
        (422, api.post(f"/runs/{run_id}/artifacts", files={"kind": (None, "video")})),
        (415, api.post(f"/runs/{run_id}/artifacts", json={"kind": "video"})),
        (404, _upload(api, str(new_id()), b"data")),
        (404, _upload(api, run_id, b"data", step_id=str(new_id()))),
    ]
    for expected, response in cases:
        assert response.status_code == expected, response.text
        assert response.json()["request_id"] == response.headers["x-request-id"]
    assert api.get(f"/runs/{run_id}/artifacts").json()["items"] == []
    assert _stored_files(controller_data) == []
    assert list((controller_data.directory / "artifacts" / ".incoming").iterdir()) == []


def test_too_large_is_413_with_nothing_kept(
    store_url: str, controller_data: ControllerData
) -> None:
    """Past VIGIL_ARTIFACTS_MAX_UPLOAD_BYTES while streaming (the declared length is within
    the form's allowance): 413, nothing stored. A body declared far larger is refused before
    it is read. Other endpoints keep their 16 MiB limit."""
    settings = controller_settings(store_url, controller_data, artifacts_max_upload_bytes=2 * MiB)
    with TestClient(create_app(settings), headers=controller_data.headers) as api:
        run_id = _run(api)
        streamed = _upload(api, run_id, os.urandom(2 * MiB + 1))
        assert streamed.status_code == 413, streamed.text
        assert "2097152 bytes" in streamed.json()["detail"]
        declared = api.post(
            f"/runs/{run_id}/artifacts",
            content=b"x",
            headers={"Content-Length": str(3 * MiB), "Content-Type": "multipart/form-data"},
        )
        assert declared.status_code == 413
        assert _upload(api, run_id, os.urandom(MiB)).status_code == 201
        assert len(api.get(f"/runs/{run_id}/artifacts").json()["items"]) == 1
    assert len(_stored_files(controller_data)) == 1


def test_a_retry_with_the_same_idempotency_key_stores_once(api: TestClient) -> None:
    """The key is the artifact's id (an agent links a step to it before the upload ends);
    sent again, the stored record comes back with 200."""
    run_id = _run(api)
    key = str(new_id())
    first = _upload(api, run_id, b"frame", idempotency_key=key)
    again = _upload(api, run_id, b"frame", idempotency_key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == key
    assert again.json() == first.json()
    other_run = _run(api)
    assert _upload(api, other_run, b"frame", idempotency_key=key).status_code == 409
    assert len(api.get(f"/runs/{run_id}/artifacts").json()["items"]) == 1


def test_steps_link_their_artifacts(api: TestClient) -> None:
    """A step names artifacts (one uploaded before it, one whose upload comes after); an
    artifact uploaded naming a step shows too; GET /runs/{id}/steps lists each link."""
    run_id = _run(api)
    before = _upload(api, run_id, b"before", "before.png", "image/png").json()
    later_id = str(new_id())
    steps = api.post(
        f"/runs/{run_id}/steps",
        json={"steps": [{"step_type": "tool_result", "name": "render",
                         "artifact_ids": [before["id"], later_id]}]},
    )  # fmt: skip
    assert steps.status_code == 201, steps.text
    (step,) = steps.json()["items"]
    assert [link["id"] for link in step["artifacts"]] == [before["id"]]
    later = _upload(api, run_id, b"later", "later.mp4", "video/mp4", idempotency_key=later_id)
    produced = _upload(api, run_id, b"log", "log.txt", "text/plain", step_id=step["id"])
    assert (later.status_code, produced.status_code) == (201, 201)

    (listed,) = api.get(f"/runs/{run_id}/steps").json()["items"]
    links = {link["name"]: link for link in listed["artifacts"]}
    assert sorted(links) == ["before.png", "later.mp4", "log.txt"]
    assert links["later.mp4"] == {
        "id": later_id,
        "kind": "video",
        "name": "later.mp4",
        "content_type": "video/mp4",
        "size_bytes": 5,
        "uri": later.json()["uri"],
        "content_url": f"/artifacts/{later_id}/content",
    }


def test_projects_and_scopes(api: TestClient) -> None:
    """Another project's key: 404 for the run's artifacts and the artifact (as for runs);
    upload needs ingest, reads need read."""
    run_id = _run(api)
    record = _upload(api, run_id, b"secret frame").json()
    other = make_key(api, "ingest", "read", project_id="p2")
    for response in (
        api.get(f"/runs/{run_id}/artifacts", headers=other),
        api.get(f"/artifacts/{record['id']}", headers=other),
        api.get(record["content_url"], headers=other),
        _upload_as(api, run_id, other),
    ):
        assert response.status_code == 404, response.text
    reader, writer = make_key(api, "read"), make_key(api, "ingest")
    assert _upload_as(api, run_id, reader).status_code == 403
    assert api.get(record["content_url"], headers=writer).status_code == 403
    assert api.get(record["content_url"], headers=reader).content == b"secret frame"
    own = make_key(api, "ingest", "read", project_id="p1")
    assert _upload_as(api, run_id, own).status_code == 201


def _upload_as(api: TestClient, run_id: str, headers: dict[str, str]) -> httpx.Response:
    return api.post(
        f"/runs/{run_id}/artifacts",
        files={"file": ("f", b"x")},
        data={"kind": "video"},
        headers=headers,
    )


def test_the_filesystem_store_has_no_presigned_uploads(api: TestClient) -> None:
    run_id = _run(api)
    body = {"file_name": "a.bin", "kind": "video", "content_type": "video/mp4",
            "size_bytes": 10, "sha256": "0" * 64}  # fmt: skip
    response = api.post(f"/runs/{run_id}/artifacts/uploads", json=body)
    assert response.status_code == 409
    assert "POST /runs/{run_id}/artifacts" in response.json()["detail"]


# --- S3 (SeaweedFS) ---------------------------------------------------------------------------


@pytest.fixture
def s3_api(
    tmp_path: Path, controller_data: ControllerData, s3_server: S3Server
) -> Callable[..., AbstractContextManager[TestClient]]:
    """A factory: the controller (SQLite) keeping its artifacts in the session's S3."""

    def start(server: S3Server = s3_server, **overrides: Any) -> TestClient:
        values = {**server.settings(), **overrides}
        settings = controller_settings(f"sqlite:///{tmp_path}/vigil.db", controller_data, **values)
        return TestClient(
            create_app(settings), headers=controller_data.headers, raise_server_exceptions=False
        )

    return start


def _objects(server: S3Server, run_id: str) -> list[str]:
    with server.store() as store:
        return [item.key for item in store.list_objects(f"runs/{run_id}/").items]


def test_s3_upload_multipart_and_presigned_download(
    s3_api: Callable[..., TestClient], s3_server: S3Server
) -> None:
    """12 MiB through the API land as a multipart object in the bucket; the content URL is a
    307 to a short-lived presigned URL that serves them; with proxying on, the controller
    streams them itself. The step's link carries the s3:// URI."""
    data = os.urandom(12 * MiB)
    with s3_api() as api:
        run_id = _run(api)
        record = _upload(api, run_id, data, "clip.mp4", "video/mp4").json()
        assert record["uri"] == f"s3://{s3_server.bucket}/runs/{run_id}/{record['id']}/clip.mp4"
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        redirect = api.get(record["content_url"], follow_redirects=False)
        assert redirect.status_code == 307
        location = redirect.headers["location"]
        assert location.startswith(f"{s3_server.endpoint_url}/{s3_server.bucket}/runs/")
        assert "X-Amz-Expires=300" in location
        fetched = httpx.get(location, timeout=30)
        assert fetched.content == data
        assert fetched.headers["content-type"] == "video/mp4"
        step = api.post(
            f"/runs/{run_id}/steps",
            json={"steps": [{"step_type": "tool_result", "name": "t",
                             "artifact_ids": [record["id"]]}]},
        ).json()["items"][0]  # fmt: skip
        assert step["artifacts"][0]["uri"] == record["uri"]
    with s3_api(artifacts_proxy_downloads=True) as api:
        streamed = api.get(record["content_url"])
        assert streamed.status_code == 200
        assert streamed.content == data
    assert _objects(s3_server, run_id) == [f"runs/{run_id}/{record['id']}/clip.mp4"]


def test_s3_refused_checksum_leaves_no_object(
    s3_api: Callable[..., TestClient], s3_server: S3Server
) -> None:
    with s3_api() as api:
        run_id = _run(api)
        for size in (10, 9 * MiB):  # a single PUT, and a multipart upload in progress
            response = _upload(api, run_id, os.urandom(size), sha256="0" * 64)
            assert response.status_code == 400, response.text
        assert api.get(f"/runs/{run_id}/artifacts").json()["items"] == []
    assert _objects(s3_server, run_id) == []
    with s3_server.store() as store:
        uploads = store.client.list_multipart_uploads(
            Bucket=store.bucket, Prefix=f"runs/{run_id}/"
        ).get("Uploads", [])
    assert uploads == []


def test_presigned_upload_then_complete(
    s3_api: Callable[..., TestClient], s3_server: S3Server
) -> None:
    """A large file goes straight to S3 with the ticket's URL and headers; completing checks
    the object (size, sha256) and records it; completing again returns the record; a wrong
    declaration deletes the object."""
    data = os.urandom(256 * 1024)
    body = {"file_name": "../mesh.glb", "kind": "mesh", "content_type": "model/gltf-binary",
            "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip
    with s3_api() as api:
        run_id = _run(api)
        ticket = api.post(f"/runs/{run_id}/artifacts/uploads", json=body).json()
        assert ticket["method"] == "PUT"
        early = api.post(ticket["complete_url"], json=body)
        assert early.status_code == 409
        put = httpx.put(ticket["url"], content=data, headers=ticket["headers"], timeout=30)
        assert put.status_code == 200, put.text
        done = api.post(ticket["complete_url"], json=body)
        assert done.status_code == 201, done.text
        record = done.json()
        assert (record["id"], record["name"], record["size_bytes"]) == (
            ticket["artifact_id"],
            "mesh.glb",
            len(data),
        )
        assert api.post(ticket["complete_url"], json=body).json() == record
        location = api.get(record["content_url"], follow_redirects=False).headers["location"]
        assert httpx.get(location, timeout=30).content == data

        lying = {**body, "file_name": "lie.bin"}
        ticket = api.post(f"/runs/{run_id}/artifacts/uploads", json=lying).json()
        httpx.put(ticket["url"], content=data, headers=ticket["headers"], timeout=30)
        wrong = api.post(ticket["complete_url"], json={**lying, "size_bytes": len(data) + 1})
        assert wrong.status_code == 400
        assert [a["name"] for a in api.get(f"/runs/{run_id}/artifacts").json()["items"]] == [
            "mesh.glb"
        ]
        too_large = api.post(
            f"/runs/{run_id}/artifacts/uploads", json={**body, "size_bytes": 6 * 1024**3}
        )
        assert too_large.status_code == 413
    assert _objects(s3_server, run_id) == [f"runs/{run_id}/{record['id']}/mesh.glb"]


def test_a_missing_bucket_fails_readiness_with_a_clear_message(
    s3_api: Callable[..., TestClient], s3_server: S3Server
) -> None:
    with s3_api(artifacts_s3_bucket="no-such-bucket") as api:
        ready = api.get("/health/ready")
        assert ready.status_code == 503
        check = ready.json()["checks"]["artifacts"]
        assert check["status"] == "fail"
        assert "BucketNotFound: bucket 'no-such-bucket'" in check["error"]
        assert "the bucket does not exist" in check["error"]
        run_id = _run(api)
        refused = _upload(api, run_id, b"x")
        assert refused.status_code == 503
        assert refused.json()["detail"] == "the artifact store is unavailable, retry later"
    with s3_api() as api:
        assert api.get("/health/ready").json()["checks"]["artifacts"]["status"] == "ok"


def test_wrong_credentials_fail_readiness_and_uploads(
    s3_api: Callable[..., TestClient], s3_server: S3Server
) -> None:
    with s3_api(artifacts_s3_secret_access_key="not-the-secret") as api:
        check = api.get("/health/ready").json()["checks"]["artifacts"]
        assert "AccessDenied" in check["error"]
        assert f"refused the credentials of access key {s3_server.access_key_id}" in check["error"]
        assert "not-the-secret" not in check["error"]
        response = _upload(api, _run(api), b"x")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"


def test_s3_stopped_mid_upload_is_a_503_and_leaves_no_record(
    live_controller: Callable[..., AbstractContextManager[str]],
    controller_data: ControllerData,
) -> None:
    """A server of its own, killed while a 40 MiB upload streams in (two parts sent): the
    client gets 503 with the request id, no record exists; once S3 is back, nothing of the
    upload is left but what the sweep removes."""
    with seaweedfs(bucket="vigil-stopped") as server:
        sent = 0
        stopped = threading.Event()

        def body() -> Iterator[bytes]:
            nonlocal sent
            for _ in range(40):
                if sent == 20 * MiB:
                    server.stop()
                    stopped.set()
                sent += MiB
                yield os.urandom(MiB)

        with (
            live_controller(**server.settings()) as url,
            httpx.Client(base_url=url, headers=controller_data.headers, timeout=60) as client,
        ):
            run_id = _run(client)
            boundary = "vigil-test-boundary"
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nvideo\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="big.bin"\r\nContent-Type: video/mp4\r\n\r\n'
            ).encode()

            def stream() -> Iterator[bytes]:
                yield head
                yield from body()
                yield f"\r\n--{boundary}--\r\n".encode()

            try:
                response = client.post(
                    f"/runs/{run_id}/artifacts",
                    content=stream(),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                )
            except httpx.HTTPError as exc:  # the answer may come before the body is sent
                pytest.fail(f"no answer: {exc!r}")
            assert stopped.is_set()
            assert response.status_code == 503, response.text
            assert response.json()["request_id"] == response.headers["x-request-id"]
            assert response.json()["detail"] == "the artifact store is unavailable, retry later"
            assert client.get(f"/runs/{run_id}/artifacts").json()["items"] == []

        server.start()
        with server.store() as store:
            assert store.list_objects(f"runs/{run_id}/").items == []
            store.sweep_incomplete(utc_now())
            left = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
            assert left == []


def test_the_proxy_setting_and_expiry_are_the_controllers(
    s3_api: Callable[..., TestClient],
) -> None:
    """A presigned ticket lives at most VIGIL_ARTIFACTS_PRESIGN_MAX_EXPIRY_S, whatever the
    client asks; downloads are presigned for VIGIL_ARTIFACTS_PRESIGN_EXPIRY_S."""
    body = {"file_name": "a", "kind": "k", "content_type": "a/b", "size_bytes": 1,
            "sha256": "0" * 64}  # fmt: skip
    with s3_api(artifacts_presign_expiry_s=30, artifacts_presign_max_expiry_s=60) as api:
        run_id = _run(api)
        ticket = api.post(
            f"/runs/{run_id}/artifacts/uploads", params={"expires_s": 3600}, json=body
        ).json()
        assert "X-Amz-Expires=60" in ticket["url"]
        lifetime = time.mktime(
            time.strptime(ticket["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")
        ) - time.mktime(utc_now().replace(tzinfo=None).timetuple())
        assert 50 < lifetime <= 61
        record = _upload(api, run_id, b"x").json()
        redirect = api.get(record["content_url"], follow_redirects=False)
        assert "X-Amz-Expires=30" in redirect.headers["location"]
    with s3_api(artifacts_presign_expiry_s=7200, artifacts_presign_max_expiry_s=60) as api:
        redirect = api.get(record["content_url"], follow_redirects=False)
        assert redirect.status_code == 307, "a default above the bound is cut to it"
        assert "X-Amz-Expires=60" in redirect.headers["location"]


def test_the_store_is_closed_with_the_controller(s3_api: Callable[..., TestClient]) -> None:
    with s3_api() as api:
        store = api.app.state.artifacts  # type: ignore[attr-defined]
        assert isinstance(store, S3ArtifactStore)
    assert store._closed.is_set()


def test_a_client_that_goes_away_leaves_nothing(
    live_controller: Callable[..., AbstractContextManager[str]],
    controller_data: ControllerData,
) -> None:
    """The connection closed in the middle of the file: no record, no file, no temporary
    file, and no unhandled exception in the controller's metrics."""
    boundary = b"gone"
    head = (
        b'--gone\r\nContent-Disposition: form-data; name="kind"\r\n\r\nvideo\r\n'
        b'--gone\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n'
    )
    with (
        live_controller() as url,
        httpx.Client(base_url=url, headers=controller_data.headers) as client,
    ):
        run_id = _run(client)
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            request = (
                f"POST /runs/{run_id}/artifacts HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: {controller_data.headers['Authorization']}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\n"
                f"Content-Length: {10 * MiB}\r\n\r\n"
            ).encode()
            sock.sendall(request + head + os.urandom(2 * MiB))
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while list((controller_data.directory / "artifacts" / ".incoming").glob("*")):
            assert time.monotonic() < deadline, "the temporary file stayed"
            time.sleep(0.1)
        assert client.get(f"/runs/{run_id}/artifacts").json()["items"] == []
        metrics = client.get("/metrics").text
    assert _stored_files(controller_data) == []
    unhandled = [
        line for line in metrics.splitlines() if line.startswith("unhandled_exceptions_total{")
    ]
    assert all(line.endswith(" 0.0") for line in unhandled), unhandled
