"""``vigil artifacts sweep``: remove stored bytes that no artifact record names."""

from __future__ import annotations

import argparse

from vigil.durations import parse_duration


def add_artifacts_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``artifacts sweep`` to the ``vigil`` command's subparsers."""
    artifacts = commands.add_parser("artifacts", help="the artifact store")
    actions = artifacts.add_subparsers(dest="artifacts_command", required=True)
    sweep = actions.add_parser(
        "sweep",
        help="delete objects without a record, and uploads never completed",
        description="Uses the controller's settings (VIGIL_DATABASE_URL, VIGIL_ARTIFACTS_*).",
    )
    sweep.add_argument(
        "--older-than",
        type=parse_duration,
        default=24 * 3600 * 1000,
        metavar="DURATION",
        help="only what is older than this (default 24h; e.g. 30m, 2h)",
    )
    sweep.add_argument("--dry-run", action="store_true", help="list, delete nothing")


def run_artifacts_command(args: argparse.Namespace) -> int:
    """Run ``vigil artifacts <command>``; returns the exit status."""
    from datetime import timedelta

    from vigil.artifacts._factory import open_artifact_store
    from vigil.artifacts._sweep import sweep_orphans
    from vigil.settings import Settings
    from vigil.storage import open_store, upgrade

    settings = Settings()
    upgrade(settings.database_url)
    with open_store(settings.database_url) as store, open_artifact_store(settings) as artifacts:
        report = sweep_orphans(
            artifacts,
            store,
            older_than=timedelta(milliseconds=args.older_than),
            dry_run=args.dry_run,
        )
    verb = "would delete" if args.dry_run else "deleted"
    for key in report.orphans:
        print(f"{verb} {artifacts.uri(key)}")
    print(
        f"{len(report.orphans)} orphaned objects {verb}, "
        f"{report.incomplete_uploads} incomplete uploads removed"
    )
    return 0
