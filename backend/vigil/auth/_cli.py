"""``vigil keys create|list|revoke|ensure``: the controller's API keys, managed offline.

They work on the store directly (``--url`` or ``VIGIL_DATABASE_URL``), after running its
migrations, so they also work before the first controller start and while none runs. A
revocation reaches running controllers within their key cache's TTL (5 s). A token is
printed once, by ``create`` (or written to ``--output`` with mode 600, and only its path
printed); nothing else ever prints one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from vigil.auth._provision import KeyFileError, create_key, ensure_key_file
from vigil.models import ApiKey, ApiKeyCreate, Scope
from vigil.secret_files import write_new_secret
from vigil.storage import EventStore, NotFound, open_store, upgrade


def add_keys_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keys create|list|revoke|ensure`` to the ``vigil`` command's subparsers."""
    keys = commands.add_parser("keys", help="the controller's API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    scopes = [scope.value for scope in Scope]

    def add_key_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", required=True, help="what the key is for")
        parser.add_argument(
            "--scope", action="append", required=True, choices=scopes, help="repeatable"
        )
        parser.add_argument("--project", help="the key's project (default: every project)")

    create = actions.add_parser("create", help="create a key and print its token once")
    add_key_options(create)
    create.add_argument("--output", type=Path, help="write the token to this new file (0600)")
    listing = actions.add_parser("list", help="the keys, never their secrets")
    listing.add_argument("--all", action="store_true", help="revoked keys too")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    revoke = actions.add_parser("revoke", help="revoke a key by its key_id")
    revoke.add_argument("key_id")
    ensure = actions.add_parser(
        "ensure", help="the key in FILE: registered if unknown, created (0600) if missing"
    )
    ensure.add_argument("--file", type=Path, required=True)
    add_key_options(ensure)
    for parser in (create, listing, revoke, ensure):
        parser.add_argument("--url", help="database URL (default: VIGIL_DATABASE_URL)")


def _wanted(args: argparse.Namespace) -> ApiKeyCreate:
    return ApiKeyCreate(name=args.name, scopes=args.scope, project_id=args.project)


def _line(key: ApiKey) -> str:
    scopes = ",".join(key.scopes)
    revoked = f"  revoked {key.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if key.revoked_at else ""
    return f"{key.key_id}  {key.name}  {scopes}  {key.project_id or '*'}{revoked}"


def _run(store: EventStore, args: argparse.Namespace) -> int:
    command = args.keys_command
    if command == "create":
        created = create_key(store, _wanted(args))
        if args.output is None:
            print(created.token)
        elif write_new_secret(args.output, created.token):
            print(f"key {created.key_id} written to {args.output}")
        else:
            store.revoke_api_key(created.key_id)
            raise KeyFileError(f"{args.output} exists; the new key was revoked again")
    elif command == "list":
        keys = store.list_api_keys(include_revoked=args.all)
        if args.json:
            print(json.dumps([key.model_dump(mode="json") for key in keys], indent=2))
        else:
            print("\n".join(_line(key) for key in keys))
    elif command == "revoke":
        print(_line(store.revoke_api_key(args.key_id)))
    else:
        key, outcome = ensure_key_file(store, args.file, _wanted(args))
        print(f"key {key.key_id} {outcome}: {args.file}")
    return 0


def run_keys_command(args: argparse.Namespace, database_url: str) -> int:
    """Run ``vigil keys <args.keys_command>``; returns the exit status."""
    upgrade(database_url)
    with open_store(database_url) as store:
        try:
            return _run(store, args)
        except (KeyFileError, NotFound, ValidationError) as exc:
            print(f"vigil keys: {exc}", file=sys.stderr)
            return 1
