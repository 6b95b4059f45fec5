"""The manifest: canonical JSON with its own checksum; any change to it is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vigil.backups import BackupCorrupt, BackupManifest, BackupPart, is_backup_id, new_backup_id


def _manifest() -> BackupManifest:
    backup_id = new_backup_id(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    part = BackupPart(
        name="database.pgdump", kind="postgresql", format="pg_dump-custom", size_bytes=10,
        sha256="a" * 64,
    )  # fmt: skip
    return BackupManifest(
        id=backup_id,
        created_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
        completed_at=datetime(2026, 12, 1, 2, 1, tzinfo=UTC),
        duration_s=60.0,
        vigil_version="0.1.0",
        schema_revision="0005_artifact_names_and_links",
        database_backend="postgresql",
        artifacts_backend="s3",
        location=f"s3://vigil-backups/{backup_id}/manifest.json",
        parts=[part],
        row_counts={"runs": 3, "steps": 12},
    )


def test_ids_sort_by_time_and_are_safe_keys() -> None:
    first = new_backup_id(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    later = new_backup_id(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    assert first.startswith("20261201T020000Z-")
    assert first < later
    assert is_backup_id(first)
    assert not is_backup_id("../etc")
    assert not is_backup_id(first + "/x")


def test_round_trip() -> None:
    manifest = _manifest()
    assert BackupManifest.from_bytes(manifest.to_bytes(), manifest.id) == manifest


@pytest.mark.parametrize("position", [0, 10, 100, 200, -20, -3])
def test_any_flipped_byte_is_refused(position: int) -> None:
    manifest = _manifest()
    data = bytearray(manifest.to_bytes())
    data[position] ^= 0x04
    with pytest.raises(BackupCorrupt, match=manifest.id):
        BackupManifest.from_bytes(bytes(data), manifest.id)


def test_a_row_count_edited_by_hand_is_refused() -> None:
    """Still valid JSON, a plausible number: only the checksum tells."""
    manifest = _manifest()
    edited = manifest.to_bytes().replace(b'"steps":12', b'"steps":13')
    assert edited != manifest.to_bytes()
    with pytest.raises(BackupCorrupt, match="does not match its checksum"):
        BackupManifest.from_bytes(edited, manifest.id)


def test_a_manifest_under_another_id_is_refused() -> None:
    manifest = _manifest()
    with pytest.raises(BackupCorrupt, match="names"):
        BackupManifest.from_bytes(manifest.to_bytes(), new_backup_id())
