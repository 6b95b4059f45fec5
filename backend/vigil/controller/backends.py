"""Which backend serves each concern, as said at start-up and by ``GET /info``."""

from __future__ import annotations

from vigil.redaction import redact_text
from vigil.settings import Settings


def describe_backends(settings: Settings) -> dict[str, str]:
    """A short description per concern, credentials masked."""
    store = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"
    if settings.artifacts_backend == "filesystem":
        artifacts = f"filesystem ({settings.artifacts_path.resolve()})"
    else:
        endpoint = settings.artifacts_s3_endpoint_url or "AWS S3"
        artifacts = f"s3 (bucket {settings.artifacts_s3_bucket} at {redact_text(endpoint)})"
    return {"store": f"{store} ({redact_text(settings.database_url)})", "artifacts": artifacts}
