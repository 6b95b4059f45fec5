"""The contract every artifact store keeps, run against each implementation: the
filesystem and S3 (a real SeaweedFS). Presigned URLs and credentials concern S3 only."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.artifacts.s3_server import S3Server
from tests.ports import free_port
from vigil.artifacts import (
    AccessDenied,
    ArtifactStore,
    ArtifactStoreUnavailable,
    BucketNotFound,
    ChecksumMismatch,
    FilesystemArtifactStore,
    ObjectNotFound,
    ObjectTooLarge,
    S3ArtifactStore,
    artifact_key,
)
from vigil.models import utc_now

MiB = 1024 * 1024


def _key(name: str = "file.bin", run: uuid.UUID | None = None) -> str:
    return artifact_key(run or uuid.uuid4(), uuid.uuid4(), name)


def _read(store: ArtifactStore, key: str) -> bytes:
    with store.open(key) as reader:
        return b"".join(reader)


def _s3_calls(store: ArtifactStore, operation: str) -> list[dict[str, Any]]:
    """Parameters of each call of ``operation`` the S3 store makes from now on."""
    calls: list[dict[str, Any]] = []
    if isinstance(store, S3ArtifactStore):
        store.client.meta.events.register(
            f"provide-client-params.s3.{operation}", lambda params, **_: calls.append(params)
        )
    return calls


def _incomplete_uploads(store: ArtifactStore) -> list[str]:
    if isinstance(store, S3ArtifactStore):
        answer = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix="runs/")
        return [upload["Key"] for upload in answer.get("Uploads", [])]
    assert isinstance(store, FilesystemArtifactStore)
    return [p.name for p in (store.root / ".incoming").glob("*")]


def test_round_trip_keeps_the_bytes_and_measures_them(
    artifact_store: ArtifactStore, tmp_path: Path
) -> None:
    """What goes in comes out, with the size and sha256 measured while it streamed."""
    data = os.urandom(3 * MiB + 17)
    key = _key("data.bin")
    stored = artifact_store.upload(key, data, content_type="application/x-test")

    assert (stored.key, stored.size_bytes) == (key, len(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content_type == "application/x-test"
    assert artifact_store.head(key).size_bytes == len(data)
    assert _read(artifact_store, key) == data
    target = tmp_path / "copy.bin"
    assert artifact_store.download_file(key, target).size_bytes == len(data)
    assert target.read_bytes() == data
    assert artifact_store.key_of(artifact_store.uri(key)) == key


def test_files_above_the_part_size_go_multipart(
    artifact_store: ArtifactStore, tmp_path: Path
) -> None:
    """A 12 MiB file (over the 8 MiB part size) is sent in parts on S3, and reads back
    whole, its sha256 that of the file."""
    source = tmp_path / "big.bin"
    data = os.urandom(12 * MiB)
    source.write_bytes(data)
    parts = _s3_calls(artifact_store, "UploadPart")

    stored = artifact_store.upload_file(source, _key("big.bin"), content_type="video/mp4")

    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(_read(artifact_store, stored.key)).hexdigest() == stored.sha256
    if isinstance(artifact_store, S3ArtifactStore):
        assert [p["PartNumber"] for p in parts] == [1, 2]
        assert len(parts[0]["Body"]) >= 8 * MiB


def test_a_wrong_declared_sha256_stores_nothing(artifact_store: ArtifactStore) -> None:
    key = _key()
    with pytest.raises(ChecksumMismatch, match="not the"):
        artifact_store.upload(key, b"payload", expected_sha256="0" * 64)
    with pytest.raises(ObjectNotFound):
        artifact_store.head(key)


def test_past_the_size_limit_nothing_is_kept(artifact_store: ArtifactStore) -> None:
    """The limit holds while streaming: a multipart upload in progress is aborted too."""
    key = _key()
    with pytest.raises(ObjectTooLarge, match=str(9 * MiB)):
        artifact_store.upload(key, os.urandom(10 * MiB), max_bytes=9 * MiB)
    with pytest.raises(ObjectNotFound):
        artifact_store.head(key)
    assert key not in _incomplete_uploads(artifact_store)


def test_an_aborted_upload_leaves_nothing(artifact_store: ArtifactStore) -> None:
    key = _key()
    writer = artifact_store.writer(key, content_type="application/octet-stream")
    writer.write(os.urandom(9 * MiB))  # one part sent on S3
    writer.abort()
    writer.abort()  # idempotent
    with pytest.raises(ObjectNotFound):
        artifact_store.head(key)
    assert _incomplete_uploads(artifact_store) == [] or key not in _incomplete_uploads(
        artifact_store
    )
    with pytest.raises(RuntimeError):
        writer.write(b"more")


def test_what_a_crash_leaves_is_swept(artifact_store: ArtifactStore) -> None:
    """An upload never committed nor aborted (its process died) is removed by
    sweep_incomplete once older than the cut-off, and kept before."""
    key = _key()
    writer = artifact_store.writer(key, content_type="application/octet-stream")
    writer.write(os.urandom(9 * MiB))
    assert artifact_store.sweep_incomplete(utc_now() - timedelta(hours=1)) == 0
    assert artifact_store.sweep_incomplete(utc_now() + timedelta(seconds=5)) >= 1
    assert key not in _incomplete_uploads(artifact_store)
    writer.abort()  # the dead process's handle; aborting what the sweep removed is harmless


def test_listing_is_paged_in_key_order(artifact_store: ArtifactStore) -> None:
    run = uuid.uuid4()
    keys = sorted(_key(f"f{i}.txt", run) for i in range(5))
    for key in keys:
        artifact_store.upload(key, key.encode())
    artifact_store.upload(_key(), b"another run")

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = artifact_store.list_objects(f"runs/{run}/", limit=2, cursor=cursor)
        pages += 1
        seen += [item.key for item in page.items]
        assert all(item.size_bytes == len(item.key) for item in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == keys
    assert pages == 3


def test_missing_objects_and_deletion(artifact_store: ArtifactStore) -> None:
    key = _key()
    for call in (artifact_store.head, artifact_store.open):
        with pytest.raises(ObjectNotFound):
            call(key)
    artifact_store.delete(key)  # nothing there: no error
    artifact_store.upload(key, b"x")
    artifact_store.delete(key)
    with pytest.raises(ObjectNotFound):
        artifact_store.head(key)
    with pytest.raises(ObjectNotFound):
        artifact_store.key_of("s3://another-bucket/runs/x")


@pytest.mark.parametrize("key", ["../escape", "runs/../../escape", "runs//x", "/etc/passwd"])
def test_unsafe_keys_are_refused(artifact_store: ArtifactStore, key: str) -> None:
    with pytest.raises(ValueError, match="safe"):
        artifact_store.upload(key, b"x")
    with pytest.raises(ValueError, match="safe"):
        artifact_store.head(key)


def test_the_readiness_check_passes(artifact_store: ArtifactStore) -> None:
    artifact_store.check()


def test_filesystem_files_are_private(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path / "artifacts")
    key = _key()
    store.upload(key, b"secret")
    path = store.path_of(key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (store.root, path.parent, path.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert store.presigned_get(key, 10) is None


def test_a_file_removed_while_listing_is_not_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing that races a delete (the orphan sweep, backup retention) leaves the removed
    object out instead of failing: GET /ops/backups answered 404 while a backup ran."""
    store = FilesystemArtifactStore(tmp_path / "artifacts")
    gone, kept = sorted((_key(), _key()))  # the removed one first in key order
    store.upload(kept, b"kept")
    walked = [gone, kept]
    monkeypatch.setattr(store, "_keys_under", lambda prefix: iter(walked))
    page = store.list_objects("", limit=1)
    assert [item.key for item in page.items] == [kept]
    assert page.next_cursor is None


def test_a_file_removed_while_opening_is_still_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An open that races a delete reads the file it opened and closes it: the contract
    fuzzer once saw the manifest of a backup removed between open and stat, and the file left
    open (ResourceWarning)."""
    store = FilesystemArtifactStore(tmp_path / "artifacts")
    key = _key()
    store.upload(key, b"opened before the delete")
    opened = Path.open

    def open_then_delete(path: Path, *args: Any, **kwargs: Any) -> Any:
        file = opened(path, *args, **kwargs)
        path.unlink()
        return file

    monkeypatch.setattr(Path, "open", open_then_delete)
    with store.open(key) as reader:
        assert reader.info.size_bytes == len(b"opened before the delete")
        assert b"".join(reader) == b"opened before the delete"
    monkeypatch.undo()
    with pytest.raises(ObjectNotFound):
        store.open(key)


# --- S3 only: presigned URLs, credentials, buckets ------------------------------------------


@pytest.fixture
def s3_store(s3_server: S3Server) -> S3ArtifactStore:
    return s3_server.store(max_presign_expiry_s=60)


def test_a_presigned_get_works_then_expires(s3_store: S3ArtifactStore) -> None:
    key = _key("report.pdf")
    s3_store.upload(key, b"%PDF-1.7 ...", content_type="application/pdf")
    url = s3_store.presigned_get(key, 2, file_name="report.pdf", content_type="application/pdf")

    answer = httpx.get(url, timeout=5)
    assert answer.status_code == 200
    assert answer.content == b"%PDF-1.7 ..."
    assert answer.headers["content-disposition"] == 'attachment; filename="report.pdf"'
    time.sleep(3.5)
    expired = httpx.get(url, timeout=5)
    assert expired.status_code == 403
    assert "expired" in expired.text


def test_a_tampered_presigned_url_is_refused(s3_store: S3ArtifactStore) -> None:
    """Another key, a longer expiry or a changed signature: 403, the object not served."""
    key, other = _key(), _key()
    s3_store.upload(key, b"mine")
    s3_store.upload(other, b"not yours")
    url = s3_store.presigned_get(key, 30)
    tampered = [
        url.replace(key, other),
        url.replace("X-Amz-Expires=30", "X-Amz-Expires=3000"),
        url[:-4] + ("0000" if not url.endswith("0000") else "1111"),
    ]
    for changed in tampered:
        answer = httpx.get(changed, timeout=5)
        assert answer.status_code == 403, changed
        assert b"not yours" not in answer.content


def test_a_presigned_put_takes_only_the_declared_bytes(s3_store: S3ArtifactStore) -> None:
    data = os.urandom(64 * 1024)
    sha256 = hashlib.sha256(data).hexdigest()
    key = _key()
    upload = s3_store.presigned_put(key, 30, content_type="image/png", sha256=sha256)

    other = httpx.put(upload.url, content=b"other bytes", headers=upload.headers, timeout=5)
    assert other.status_code == 400, other.text
    unsigned = httpx.put(upload.url, content=data, timeout=5)
    assert unsigned.status_code == 403
    with pytest.raises(ObjectNotFound):
        s3_store.head(key)

    answer = httpx.put(upload.url, content=data, headers=upload.headers, timeout=5)
    assert answer.status_code == 200, answer.text
    info = s3_store.head(key)
    assert (info.size_bytes, info.sha256, info.content_type) == (len(data), sha256, "image/png")


def test_presigned_expiry_is_bounded(s3_store: S3ArtifactStore) -> None:
    with pytest.raises(ValueError, match=r"1\.\.60"):
        s3_store.presigned_get(_key(), 61)
    with pytest.raises(ValueError, match=r"1\.\.60"):
        s3_store.presigned_put(_key(), 0, content_type="a/b", sha256="0" * 64)


def test_wrong_credentials_give_a_clear_error(s3_server: S3Server) -> None:
    """The server's refusal says which key it refused, and the check fails with it."""
    with s3_server.store(secret_access_key="not-the-secret") as wrong:
        with pytest.raises(
            AccessDenied, match=f"refused the credentials of access key {s3_server.access_key_id}"
        ):
            wrong.check()
        with pytest.raises(AccessDenied, match="SignatureDoesNotMatch"):
            wrong.upload(_key(), b"x")
    with (
        s3_server.store(access_key_id="NOSUCHKEY", secret_access_key="x") as unknown,
        pytest.raises(AccessDenied, match="NOSUCHKEY"),
    ):
        unknown.upload(_key(), b"x")


def test_a_missing_bucket_fails_the_check(s3_server: S3Server) -> None:
    with s3_server.store(bucket="no-such-bucket") as store:
        with pytest.raises(BucketNotFound, match=r"bucket 'no-such-bucket' at http://127\.0\.0\.1"):
            store.check()
        with pytest.raises(BucketNotFound):
            store.upload(_key(), b"x")


def test_an_unreachable_endpoint_is_unavailable_after_retries() -> None:
    """Nothing listens: every attempt is refused, retried with backoff, then the typed
    error says where it tried."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    with S3ArtifactStore(
        "bucket", endpoint_url=endpoint, access_key_id="a", secret_access_key="b", max_attempts=3
    ) as store:
        attempts = _s3_calls(store, "HeadBucket")
        started = time.monotonic()
        with pytest.raises(
            ArtifactStoreUnavailable, match=f"S3 unreachable .*{re.escape(endpoint)}"
        ):
            store.check()
        assert time.monotonic() - started < 10
    assert len(attempts) == 1  # one call; botocore's retries happen below it
