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

    from vigil.stack import add_stack_commands, run_stack_command

    add_stack_commands(commands)

    args = parser.parse_args(argv)
    if args.command == "serve":
        from vigil.controller.server import serve as run_server

        run_server(host=args.host, port=args.port)
    elif args.command == "stack":
        return run_stack_command(args)
    return 0
