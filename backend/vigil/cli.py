"""``vigil``: the command line (``python -m vigil`` is the same)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vigil`` console script."""
    parser = argparse.ArgumentParser(prog="vigil", description="Vigil observability controller.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the controller")
    serve.add_argument("--host", help="bind address (default: VIGIL_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: VIGIL_PORT or 8000)")

    db = commands.add_parser("db", help="the event store's schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="run the migrations (the controller also runs them at start-up)"
    )
    upgrade.add_argument("--url", help="database URL (default: VIGIL_DATABASE_URL)")
    db_commands.add_parser("current", help="print the schema revision").add_argument(
        "--url", help="database URL (default: VIGIL_DATABASE_URL)"
    )

    from vigil.artifacts._cli import add_artifacts_commands
    from vigil.auth._cli import add_keys_commands
    from vigil.backups._cli import add_backup_commands
    from vigil.stack import add_stack_commands, run_stack_command

    add_stack_commands(commands)
    add_keys_commands(commands)
    add_artifacts_commands(commands)
    add_backup_commands(commands)

    args = parser.parse_args(argv)
    if args.command == "serve":
        from vigil.controller.server import serve as run_server

        run_server(host=args.host, port=args.port)
    elif args.command == "stack":
        return run_stack_command(args)
    elif args.command == "db":
        return run_db_command(args.db_command, args.url)
    elif args.command == "keys":
        from vigil.auth._cli import run_keys_command
        from vigil.settings import Settings

        return run_keys_command(args, args.url or Settings().database_url)
    elif args.command == "artifacts":
        from vigil.artifacts._cli import run_artifacts_command

        return run_artifacts_command(args)
    elif args.command == "backup":
        from vigil.backups._cli import run_backup_command

        return run_backup_command(args)
    return 0


def run_db_command(command: str, url: str | None) -> int:
    """``vigil db upgrade`` / ``vigil db current``."""
    from vigil.settings import Settings
    from vigil.storage import current_revision, upgrade

    url = url or Settings().database_url
    if command == "upgrade":
        upgrade(url)
    print(current_revision(url))
    return 0
