"""Orphans: bytes stored without a record, removed by ``vigil artifacts sweep``.

A record is created only once its bytes are stored, and a failed upload removes what it
stored. What can still be left: an upload interrupted by a crash (a temporary file, an S3
multipart upload never completed), bytes whose removal failed because the store went down
at that moment, and presigned PUTs that were never completed. Anything older than the grace
period (24 h by default, far beyond a presigned URL's lifetime) under ``runs/`` whose artifact
id has no record is deleted; keys not of the ``runs/<run>/<artifact>/<name>`` form are left
alone (the bucket may hold other things).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from vigil.artifacts._interface import ArtifactStore
from vigil.artifacts._keys import KEY_PREFIX, parse_artifact_key
from vigil.models import utc_now
from vigil.storage import EventStore

DEFAULT_GRACE = timedelta(hours=24)


@dataclass
class SweepReport:
    """What a sweep found (and, unless it was a dry run, removed)."""

    orphans: list[str] = field(default_factory=list)
    """Keys of objects without a record."""
    incomplete_uploads: int = 0
    """Uploads begun and never committed (temporary files, S3 multipart uploads)."""


def sweep_orphans(
    artifacts: ArtifactStore,
    store: EventStore,
    *,
    older_than: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
    prefix: str = KEY_PREFIX,
) -> SweepReport:
    """Delete objects under ``prefix`` (``runs/<run id>/``: one run's) older than
    ``older_than`` that no artifact record names."""
    cutoff = utc_now() - older_than
    report = SweepReport()
    if not dry_run:
        report.incomplete_uploads = artifacts.sweep_incomplete(cutoff)
    cursor: str | None = None
    while True:
        page = artifacts.list_objects(prefix, limit=1000, cursor=cursor)
        candidates = {}
        for item in page.items:
            parsed = parse_artifact_key(item.key)
            if parsed is not None and item.last_modified < cutoff:
                candidates[parsed[1]] = item.key
        recorded = store.recorded_artifacts(list(candidates))
        for artifact_id, key in candidates.items():
            if recorded.get(artifact_id) == artifacts.uri(key):
                continue
            report.orphans.append(key)
            if not dry_run:
                artifacts.delete(key)
        if page.next_cursor is None:
            return report
        cursor = page.next_cursor
