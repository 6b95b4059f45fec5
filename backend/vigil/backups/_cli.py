"""``vigil backup create | list | verify ID | restore ID``, with the controller's settings
(``VIGIL_DATABASE_URL``, ``VIGIL_ARTIFACTS_*``, ``VIGIL_BACKUP_*``)."""

from __future__ import annotations

import argparse
import sys


def add_backup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup ...`` to the ``vigil`` command's subparsers."""
    backup = commands.add_parser(
        "backup",
        help="back up, check and restore the database and the artifacts",
        description="Uses the controller's settings (VIGIL_DATABASE_URL, VIGIL_ARTIFACTS_*, "
        "VIGIL_BACKUP_*). Exit status 1 on any failure, with the reason on stderr.",
    )
    actions = backup.add_subparsers(dest="backup_command", required=True)
    actions.add_parser("create", help="take a backup now; prints its id and location")
    actions.add_parser("list", help="the backups in the backup location, newest first")
    verify = actions.add_parser("verify", help="check a backup's manifest and every part's sha256")
    verify.add_argument("id")
    restore = actions.add_parser(
        "restore",
        help="replace the database and put the artifacts back from a backup (stop the "
        "controller first); checks the whole backup before changing anything",
    )
    restore.add_argument("id")
    restore.add_argument(
        "--no-upgrade",
        action="store_true",
        help="leave the schema at the backup's revision (default: upgrade to this version's)",
    )


def run_backup_command(args: argparse.Namespace) -> int:
    """Run ``vigil backup <command>``; returns the exit status."""
    from vigil.artifacts import ArtifactStoreError, open_artifact_store
    from vigil.backups import (
        BackupError,
        create_backup,
        open_backup_location,
        restore_backup,
        stored_backups,
        verify_backup,
    )
    from vigil.settings import Settings

    settings = Settings()
    try:
        with open_backup_location(settings) as location:
            if args.backup_command == "list":
                for backup in stored_backups(location):
                    m = backup.manifest
                    if m is None:
                        print(f"{backup.id}  {backup.problem}")
                        continue
                    size = sum(p.size_bytes for p in m.parts)
                    print(
                        f"{m.id}  {m.created_at:%Y-%m-%d %H:%M:%S}Z  {m.database_backend}  "
                        f"schema {m.schema_revision}  {size} bytes  "
                        f"{sum(m.row_counts.values())} rows"
                    )
                return 0
            if args.backup_command == "verify":
                manifest = verify_backup(location, args.id)
                print(f"{manifest.id}: sound ({len(manifest.parts)} parts match the manifest)")
                return 0
            with open_artifact_store(settings) as artifacts:
                if args.backup_command == "create":
                    manifest = create_backup(
                        settings.database_url,
                        artifacts,
                        location,
                        pg_bin_dir=settings.backup_pg_bin_dir,
                    )
                    print(f"{manifest.id} {manifest.location}")
                    return 0
                report = restore_backup(
                    location,
                    args.id,
                    settings.database_url,
                    artifacts,
                    pg_bin_dir=settings.backup_pg_bin_dir,
                    upgrade_schema=not args.no_upgrade,
                )
                print(
                    f"{args.id}: restored {sum(report.row_counts.values())} rows and "
                    f"{report.objects} artifacts; schema at {report.schema_revision}"
                )
                return 0
    except (BackupError, ArtifactStoreError) as exc:
        print(f"vigil backup {args.backup_command}: {exc}", file=sys.stderr)
        return 1
