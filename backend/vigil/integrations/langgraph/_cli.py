"""``vigil checkpoints prune``: delete LangGraph threads idle longer than N days."""

from __future__ import annotations

import argparse

INSTALL_HINT = "the checkpoints commands need the langgraph extra: pip install 'vigil[langgraph]'"


def add_checkpoints_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``checkpoints prune`` to the ``vigil`` command's subparsers."""
    checkpoints = commands.add_parser("checkpoints", help="LangGraph's agent checkpoints")
    actions = checkpoints.add_subparsers(dest="checkpoints_command", required=True)
    prune = actions.add_parser(
        "prune",
        help="delete the threads whose newest checkpoint is older than --idle-days",
        description="Uses the controller's settings (VIGIL_DATABASE_URL): the PostgreSQL "
        "saver's tables (schema langgraph), or the SQLite saver's file next to the database.",
    )
    prune.add_argument("--idle-days", type=float, required=True, metavar="N")
    prune.add_argument("--url", help="database URL (default: VIGIL_DATABASE_URL)")
    prune.add_argument("--dry-run", action="store_true", help="list, delete nothing")


def run_checkpoints_command(args: argparse.Namespace) -> int:
    """Run ``vigil checkpoints prune``; returns the exit status."""
    from datetime import timedelta

    if args.idle_days <= 0:
        print("--idle-days must be > 0")
        return 2
    try:
        from vigil.integrations.langgraph._checkpointer import open_checkpointer
        from vigil.integrations.langgraph._retention import prune_idle_threads
    except ImportError:
        print(INSTALL_HINT)
        return 2
    with open_checkpointer(database_url=args.url) as saver:
        threads = prune_idle_threads(
            saver, idle_for=timedelta(days=args.idle_days), dry_run=args.dry_run
        )
    verb = "would delete" if args.dry_run else "deleted"
    for thread_id in threads:
        print(f"{verb} thread {thread_id}")
    print(f"{len(threads)} threads idle for more than {args.idle_days:g} days {verb}")
    return 0
