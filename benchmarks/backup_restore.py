#!/usr/bin/env python3
"""Backup and restore of 1,000,000 steps on PostgreSQL: time and size, against the bare tools.

Fills a throwaway PostgreSQL (tests/pg_server.py: fsync off, so it measures the work, not
the disk) with ``--steps`` steps over 100 runs through the store's own write path, then:

- ``create_backup`` (pg_dump --format=custom streamed into a filesystem location with its
  sha256, row counts in the dump's snapshot, an empty artifact store, the manifest), against
  a bare ``pg_dump --format=custom -f FILE`` of the same schema: the ratio is what the
  streaming, hashing and counting cost on top of pg_dump itself;
- ``restore_backup`` into a wiped database (verify, download, pg_restore piped into psql in
  one transaction, row counts, the upgrade check), against a bare
  ``pg_restore -d DB FILE`` into an empty database.

    .venv/bin/python benchmarks/backup_restore.py                 # 1,000,000 steps
    .venv/bin/python benchmarks/backup_restore.py --steps 100000

Prints the figures; nothing is asserted (speed is measured here, never in unit tests).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_server

from tests.pg_server import PostgresServer  # noqa: E402

from vigil.artifacts import FilesystemArtifactStore  # noqa: E402
from vigil.backups import create_backup, restore_backup  # noqa: E402
from vigil.backups._pg_client import PgTarget, find_pg_tools, server_version  # noqa: E402
from vigil.models import RunCreate, StepCreate, StepType  # noqa: E402
from vigil.storage import open_store, upgrade  # noqa: E402

RUNS = 100
BATCH = 1_000  # MAX_STEPS_PER_APPEND
DISTINCT_BATCHES = 20


def fill(url: str, steps: int) -> float:
    upgrade(url)
    started = time.perf_counter()
    with open_store(url) as store:
        runs = [
            store.create_run(RunCreate(name=f"bench-{n}", agent="bench", project_id="bench")).id
            for n in range(RUNS)
        ]
        per_run = steps // RUNS
        # 20 distinct batches of 1,000 steps, each step with ~100 bytes of its own (a random
        # id, a number, a sentence): repeats lie ~4 MB apart, far beyond gzip's 32 KiB
        # window, so the dump compresses as varied real steps would, not as copies.
        batches = [
            [
                StepCreate(
                    step_type=StepType.TOOL_CALL,
                    name="search",
                    data={
                        "query": f"what changed in build {b * BATCH + n} of the service",
                        "result_id": secrets.token_hex(16),
                        "tokens": secrets.randbelow(4096),
                    },
                )
                for n in range(BATCH)
            ]
            for b in range(DISTINCT_BATCHES)
        ]
        calls = 0
        for run_id in runs:
            for _ in range(per_run // BATCH):
                store.append_steps(run_id, batches[calls % DISTINCT_BATCHES])
                calls += 1
    return time.perf_counter() - started


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    args = parser.parse_args()
    server = PostgresServer.start()
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-backup-"))
    try:
        url = server.create_database("bench")
        fill_s = fill(url, args.steps)
        target = PgTarget.from_url(url)
        with target.connect(autocommit=True) as conn:
            major, version = server_version(conn)
        tools = find_pg_tools(major)
        env = target.env()

        bare_file = work / "bare.pgdump"
        bare_dump_s = timed(
            [tools["pg_dump"], "--format=custom", "--schema=observability", "-f", str(bare_file)],
            env,
        )
        artifacts = FilesystemArtifactStore(work / "artifacts")
        location = FilesystemArtifactStore(work / "backups")
        started = time.perf_counter()
        manifest = create_backup(url, artifacts, location)
        backup_s = time.perf_counter() - started
        part = manifest.database_part

        server.create_database("bare_restore")
        bare_env = {**env, "PGDATABASE": "bare_restore"}
        bare_restore_s = timed(
            [tools["pg_restore"], "--no-owner", "--no-privileges", "--exit-on-error",
             "-d", "bare_restore", str(bare_file)],
            bare_env,
        )  # fmt: skip

        server.drop_database("bench")
        server.create_database("bench")
        started = time.perf_counter()
        report = restore_backup(location, manifest.id, url, artifacts)
        restore_s = time.perf_counter() - started
        if report.row_counts != manifest.row_counts:
            raise RuntimeError("the restored row counts differ from the manifest's")

        steps = manifest.row_counts["steps"]
        print(
            f"PostgreSQL {version}, pg_dump {tools.major} ({tools.bin_dir}); {os.cpu_count()} CPUs"
        )
        print(f"steps: {steps:,} in {RUNS} runs (filled in {fill_s:.1f} s)")
        print(f"backup : {backup_s:6.2f} s  {part.size_bytes / 1e6:7.1f} MB "
              f"({part.size_bytes / steps:.0f} B/step)  "
              f"bare pg_dump {bare_dump_s:6.2f} s {bare_file.stat().st_size / 1e6:7.1f} MB  "
              f"ratio {backup_s / bare_dump_s:.2f}")  # fmt: skip
        ratio = restore_s / bare_restore_s
        print(f"restore: {restore_s:6.2f} s  "
              f"bare pg_restore {bare_restore_s:6.2f} s  ratio {ratio:.2f}")  # fmt: skip
        print(f"throughput: backup {steps / backup_s:,.0f} steps/s, "
              f"restore {steps / restore_s:,.0f} steps/s")  # fmt: skip
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
