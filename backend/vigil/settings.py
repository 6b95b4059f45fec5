"""The controller's settings: one object, read from ``VIGIL_*`` environment variables.

Every field is listed in ``.env.example`` (a test keeps them in step). Defaults are for a
developer's machine: the controller binds to loopback, stores data in ``./data`` and needs no
other service. Values marked DEV DEFAULT must be changed for any shared deployment.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

DEFAULT_DATABASE_URL = "sqlite:///./data/vigil.db"


class Settings(BaseSettings):
    """Controller configuration."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the controller binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the controller listens on.")
    service_name: str = Field(
        "vigil-controller", description="The `service` label on metrics and logs."
    )
    log_level: LogLevel = Field("INFO", description="Minimum level written to stdout.")
    log_flush_interval_s: float = Field(
        0.05,
        ge=0,
        le=5,
        description="Seconds INFO/DEBUG JSON lines may wait before they are written to stdout "
        "(WARNING and above are written at once; a SIGKILL loses at most this much); 0 writes "
        "every line at once.",
    )
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the event store: sqlite:///path or postgresql+psycopg://…",
    )
    project_ids: str = Field(
        "",
        description="Comma-separated allowlist for the project_id label (empty: use the cap).",
    )
    project_label_cap: int = Field(
        100, ge=0, description="Distinct project_id label values kept when there is no allowlist."
    )
    instrumentation_enabled: bool = Field(
        True, description="Apply vigil.instrument to the controller (off only to measure its cost)."
    )
    chaos: bool = Field(
        False, description="Expose the fault-injection endpoints used by the alert smoke test."
    )
    alert_webhook_token: SecretStr | None = Field(
        None,
        description="Bearer token Alertmanager must present on POST /alerts/webhook "
        "(unset: the webhook refuses every call).",
    )
    stream_poll_interval_s: float = Field(
        0.5,
        gt=0,
        le=60,
        description="Fallback poll of the live step stream; PostgreSQL also pushes new steps "
        "at once through LISTEN/NOTIFY.",
    )
    stream_max_open: int = Field(
        200, ge=1, description="Live step streams open at once on this controller (then 429)."
    )
    stream_max_per_key: int = Field(
        20, ge=1, description="Live step streams one API key may hold open (then 429)."
    )
    stream_max_duration_s: float = Field(
        300.0, gt=0, description="A live step stream ends after this long (reconnect)."
    )
    persist_logs: Literal["all", "runs", "off"] = Field(
        "all",
        description="Which of the controller's log records are also stored (queryable at /logs): "
        "all of them, only those of runs, or none.",
    )
    persist_log_level: LogLevel = Field("INFO", description="Least severe level that is stored.")
    persist_log_flush_interval_s: float = Field(
        0.5,
        gt=0,
        description="The controller's own stored log records are written in batches at most "
        "this many seconds apart (a transaction per interval, not per record).",
    )
    ops_token: SecretStr | None = Field(
        None, description="Bearer token for operations endpoints (unset: they are disabled)."
    )
    http_max_head_bytes: int = Field(
        64 * 1024, ge=1024, description="Request line and headers larger than this: 431."
    )
    http_head_timeout_s: float = Field(
        10.0, gt=0, description="A request head must arrive within this many seconds (408)."
    )
    http_body_timeout_s: float = Field(
        20.0, gt=0, description="A request body must arrive within this many seconds, ..."
    )
    http_body_min_rate: float = Field(
        500.0, gt=0, description="... extended by each chunk's size over this rate (bytes/s)."
    )
    http_max_connections: int = Field(
        1000, ge=1, description="Open connections (and requests) beyond this are answered 503."
    )
    run_abandon_after_s: float = Field(
        86_400.0,
        ge=0,
        description="A running run without a step for this long is marked abandoned (0: never).",
    )
    log_retention_days: float = Field(
        14.0,
        ge=0,
        description="Stored log records (access records included) and batch ids "
        "older than this are deleted, in batches (0: kept forever).",
    )
    maintenance_interval_s: float = Field(
        60.0, gt=0, description="How often abandonment and retention run."
    )
    alertmanager_url: str | None = Field(
        None,
        description="Alertmanager's URL: firing alerts it no longer holds are resolved "
        "(unset: no reconciliation).",
    )
    alertmanager_username: str | None = Field(None, description="Alertmanager's basic auth user.")
    alertmanager_password_file: Path | None = Field(
        None, description="File with Alertmanager's basic auth password."
    )
    alert_reconcile_interval_s: float = Field(
        60.0, gt=0, description="How often stored firing alerts are checked against Alertmanager."
    )
    min_free_disk_mb: float = Field(
        100.0,
        ge=0,
        description="Readiness fails when the disk of the data directory (and of "
        "the SQLite database) has less free space than this.",
    )
    data_dir: Path = Field(
        Path("./data"), description="The controller's own files (the first admin key, ...)."
    )
    admin_key_file: Path | None = Field(
        None,
        description="File with the admin API key (default <data_dir>/admin.key): generated, "
        "mode 600, at the first start when no admin key exists; registered if it exists.",
    )
    metrics_key_file: Path | None = Field(
        None,
        description="File with the API key Prometheus scrapes /metrics with: registered with "
        "the metrics scope at start-up (generated, mode 600, if missing).",
    )
    metrics_auth: Literal["auto", "open", "key"] = Field(
        "auto",
        description="GET /metrics: open, or only with a key of the metrics (or admin) scope; "
        "auto: open while the controller binds to a loopback address, keyed otherwise.",
    )

    artifacts_backend: Literal["filesystem", "s3"] = Field(
        "filesystem",
        description="Where artifacts' bytes go: files under artifacts_dir, or an S3 bucket.",
    )
    artifacts_dir: Path | None = Field(
        None, description="The filesystem store's directory (default <data_dir>/artifacts)."
    )
    artifacts_max_upload_bytes: int = Field(
        5 * 1024**3, ge=1, description="The largest artifact a client may upload (then 413)."
    )
    artifacts_part_bytes: int = Field(
        8 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        le=512 * 1024 * 1024,
        description="S3: uploads above this are multipart, in parts of this size.",
    )
    artifacts_presign_expiry_s: int = Field(
        300, ge=1, description="Lifetime of the presigned URLs the controller hands out."
    )
    artifacts_presign_max_expiry_s: int = Field(
        3600,
        ge=1,
        le=7 * 86_400,
        description="The longest lifetime a client may ask for (S3 allows at most 7 days).",
    )
    artifacts_proxy_downloads: bool = Field(
        False,
        description="S3: stream GET /artifacts/{id}/content through the controller instead of "
        "a 307 to a presigned URL (for clients that cannot reach the S3 endpoint).",
    )
    artifacts_s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint the controller uses (unset: AWS S3 of the region)."
    )
    artifacts_s3_public_endpoint_url: str | None = Field(
        None,
        description="S3 endpoint presigned URLs name, when clients reach S3 by another address "
        "than the controller (compose: http://localhost:9000).",
    )
    artifacts_s3_bucket: str = Field("vigil-artifacts", description="The bucket of artifacts.")
    artifacts_s3_region: str = Field("us-east-1", description="The bucket's region.")
    artifacts_s3_access_key_id: str | None = Field(
        None, description="S3 access key id (unset: boto3's own lookup, e.g. an IAM role)."
    )
    artifacts_s3_secret_access_key: SecretStr | None = Field(
        None, description="S3 secret access key (prefer the _FILE form)."
    )
    artifacts_s3_secret_access_key_file: Path | None = Field(
        None, description="File holding the S3 secret access key."
    )
    artifacts_s3_addressing_style: Literal["path", "virtual", "auto"] = Field(
        "path", description="path (MinIO, SeaweedFS) or virtual-hosted bucket addressing."
    )
    artifacts_s3_connect_timeout_s: float = Field(
        5.0, gt=0, description="S3 connect timeout per attempt."
    )
    artifacts_s3_read_timeout_s: float = Field(30.0, gt=0, description="S3 read timeout.")
    artifacts_s3_max_attempts: int = Field(
        3, ge=1, le=10, description="S3 attempts per call (retries back off exponentially)."
    )
    backup_schedule: Literal["off", "daily"] = Field(
        "off",
        description="daily: a backup whenever the newest one in the backup location is older "
        "than a day (the first soon after start); the stacks set it, tests leave it off.",
    )
    backup_check_interval_s: float = Field(
        300.0,
        gt=0,
        description="How often the schedule looks whether a backup is due (and re-reads the "
        "newest success from the location, backups made by `vigil backup create` included).",
    )
    backup_keep_daily: int = Field(
        7, ge=0, description="Retention: the newest backup of each of the last N days."
    )
    backup_keep_weekly: int = Field(
        4, ge=0, description="Retention: the newest backup of each of the last M ISO weeks."
    )
    backup_backend: Literal["filesystem", "s3"] = Field(
        "filesystem",
        description="Where backups go: a folder (backup_dir), or the bucket backup_s3_bucket "
        "on the artifacts' S3 endpoint and credentials.",
    )
    backup_dir: Path | None = Field(
        None, description="The filesystem backup location (default <data_dir>/backups)."
    )
    backup_s3_bucket: str = Field("vigil-backups", description="The bucket of backups.")
    backup_s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint of the backup bucket (unset: the artifacts' endpoint)."
    )
    backup_pg_bin_dir: Path | None = Field(
        None,
        description="Directory of pg_dump, pg_restore and psql (unset: the first of the "
        "server's major version in /usr/lib/postgresql/<major>/bin, then PATH).",
    )
    tracing_enabled: bool = Field(
        False,
        description="One OpenTelemetry server span per request (trace ids on every log line, "
        "latency exemplars), exported where the other tracing settings say.",
    )
    tracing_sample_ratio: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of new traces sampled (a continued one keeps its parent's decision).",
    )
    tracing_store_export: bool = Field(
        True, description="Store the controller's own spans in its store (GET /traces/{id})."
    )
    tracing_otlp_endpoint: str | None = Field(
        None,
        description="Also export spans as OTLP/HTTP to this URL "
        "(e.g. http://otel-collector:4318/v1/traces).",
    )
    tracing_environment: str = Field(
        "development", min_length=1, description="The deployment.environment of the spans."
    )
    tracing_queue_size: int = Field(
        8192,
        ge=64,
        description="Spans waiting for export; past it the oldest are dropped "
        "(counted in sdk_events_dropped_total, reason span_queue_full).",
    )

    @property
    def admin_key_path(self) -> Path:
        """Where the admin API key is kept."""
        return self.admin_key_file or self.data_dir / "admin.key"

    @property
    def artifacts_path(self) -> Path:
        """The filesystem artifact store's directory."""
        return self.artifacts_dir or self.data_dir / "artifacts"

    @property
    def backup_path(self) -> Path:
        """The filesystem backup location."""
        return self.backup_dir or self.data_dir / "backups"

    @property
    def metrics_need_key(self) -> bool:
        """Whether ``GET /metrics`` asks for a key."""
        if self.metrics_auth != "auto":
            return self.metrics_auth == "key"
        return not _is_loopback(self.host)

    @property
    def project_allowlist(self) -> list[str]:
        """The allowlist as a list (empty when none is set)."""
        return [p.strip() for p in self.project_ids.split(",") if p.strip()]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
