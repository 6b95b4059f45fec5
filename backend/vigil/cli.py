"""``vigil``: the command line (``python -m vigil`` is the same).

The commands of an extra that is not installed (an agent installs the core and ``langgraph``
only) are still listed, and say which extra they need instead of failing at import.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import Final

OPTIONAL_COMMANDS: Final = (
    # (command, module, function adding its subparsers, the extra it needs)
    ("stack", "vigil.stack", "add_stack_commands", "stack"),
    ("keys", "vigil.auth._cli", "add_keys_commands", "controller"),
    ("artifacts", "vigil.artifacts._cli", "add_artifacts_commands", "controller"),
    ("backup", "vigil.backups._cli", "add_backup_commands", "controller"),
    ("checkpoints", "vigil.integrations.langgraph._cli", "add_checkpoints_commands", "langgraph"),
)
EXTRA_OF: Final = {"serve": "controller", "db": "controller"} | {
    command: extra for command, _, _, extra in OPTIONAL_COMMANDS
}


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

    unavailable: dict[str, ImportError] = {}
    for command, module, function, extra in OPTIONAL_COMMANDS:
        try:
            getattr(importlib.import_module(module), function)(commands)
        except ImportError as exc:
            unavailable[command] = exc
            placeholder = commands.add_parser(command, help=f"(needs pip install 'vigil[{extra}]')")
            placeholder.add_argument("arguments", nargs=argparse.REMAINDER)

    args = parser.parse_args(argv)
    if args.command in unavailable:
        return _needs_extra(args.command, unavailable[args.command])
    try:
        return _run(args)
    except ModuleNotFoundError as exc:
        return _needs_extra(args.command, exc)


def _needs_extra(command: str, exc: ImportError) -> int:
    print(f"vigil {command} needs the {EXTRA_OF[command]!r} extra "
          f"(pip install 'vigil[{EXTRA_OF[command]}]'): {exc}")  # fmt: skip
    return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        from vigil.controller.server import serve as run_server

        run_server(host=args.host, port=args.port)
    elif args.command == "stack":
        from vigil.stack import run_stack_command

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
    elif args.command == "checkpoints":
        from vigil.integrations.langgraph._cli import run_checkpoints_command

        return run_checkpoints_command(args)
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
