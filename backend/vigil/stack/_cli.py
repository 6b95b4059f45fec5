"""``vigil stack up|down|status``: argparse glue over :class:`vigil.stack.Stack`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from vigil.stack._component import ComponentStatus
from vigil.stack._settings import StackSettings
from vigil.stack._stack import Stack
from vigil.stack.errors import StackError

PORT_OPTIONS = ("postgres", "prometheus", "alertmanager", "s3", "temporal", "controller")


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def add_stack_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``stack up|down|status`` to the ``vigil`` command's subparsers."""
    stack = commands.add_parser(
        "stack",
        help="run the native stack (PostgreSQL, Prometheus, Alertmanager, SeaweedFS, Temporal, "
        "controller)",
        description="Run the stack as local processes from the same config files as compose.",
    )
    actions = stack.add_subparsers(dest="stack_command", required=True)
    up = actions.add_parser("up", help="start every part that is not running, wait until ready")
    down = actions.add_parser("down", help="stop every part the state directory started")
    status = actions.add_parser("status", help="show each part: state, pid, readiness, URL")
    for parser in (up, down, status):
        parser.add_argument(
            "--state-dir",
            type=Path,
            help="configs, data, logs and pid files (default: VIGIL_STACK_STATE_DIR or .stack)",
        )
    for name in PORT_OPTIONS:
        up.add_argument(f"--{name}-port", type=int, metavar="PORT")
    up.add_argument(
        "--no-s3",
        dest="s3",
        action="store_false",
        default=None,
        help="leave SeaweedFS out: the controller keeps artifacts on the filesystem",
    )
    up.add_argument(
        "--no-temporal",
        dest="temporal",
        action="store_false",
        default=None,
        help="leave the Temporal development server out",
    )
    for name, what in (
        ("temporal-http-port", "Temporal's HTTP API (default 7243)"),
        ("temporal-metrics-port", "the Temporal server's /metrics (default 7235)"),
        ("temporal-sdk-metrics-port", "where Prometheus scrapes a worker's SDK metrics (9464)"),
    ):
        up.add_argument(f"--{name}", type=int, metavar="PORT", help=what)
    up.add_argument(
        "--seaweedfs-port-base",
        type=int,
        metavar="PORT",
        help="first of SeaweedFS' seven internal ports (default 18333)",
    )
    up.add_argument("--rules-dir", type=Path, help="rule files to load instead of prometheus/rules")
    up.add_argument("--scrape-interval", metavar="DURATION", help="e.g. 1s (tests)")
    up.add_argument("--evaluation-interval", metavar="DURATION", help="e.g. 1s (tests)")
    up.add_argument("--alert-group-wait", metavar="DURATION", help="Alertmanager group_wait")
    up.add_argument("--alert-group-interval", metavar="DURATION", help="and group_interval")
    up.add_argument(
        "--controller-env",
        action="append",
        type=_env_pair,
        metavar="KEY=VALUE",
        help="extra controller environment, e.g. VIGIL_CHAOS=1 (repeatable)",
    )
    up.add_argument("--timeout", type=float, dest="ready_timeout_s", help="seconds per part")
    up.add_argument(
        "--no-install",
        dest="install_missing",
        action="store_false",
        default=None,
        help="never install missing Debian packages",
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gives: every option named after a setting."""
    values = {
        name: value
        for name, value in vars(args).items()
        if name in StackSettings.model_fields and value is not None
    }
    if getattr(args, "controller_env", None):
        values["controller_env"] = dict(args.controller_env)
    return values


def format_table(statuses: list[ComponentStatus]) -> str:
    """One line per part: name, state, pid, readiness, URL (or what is missing)."""
    rows = [("PART", "STATE", "PID", "READY", "URL")]
    for s in statuses:
        ready = "yes" if s.ready else "no"
        rows.append((s.name, s.state, str(s.pid or "-"), ready, s.detail or s.url))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4]])
        for row in rows
    )


def run_stack_command(args: argparse.Namespace) -> int:
    """Run ``vigil stack <args.stack_command>``; returns the exit status."""

    def say(message: str) -> None:
        print(f"vigil stack: {message}", file=sys.stderr, flush=True)

    settings = StackSettings(**_overrides(args))
    try:
        if args.stack_command == "up":
            statuses = Stack(settings, say=say).up()
            print(format_table(statuses))
            return 0
        stack = Stack.from_state(settings, say=say)
        if args.stack_command == "down":
            stack.down()
            return 0
        statuses = stack.status()
    except StackError as exc:
        say(str(exc))
        return 1
    if args.json:
        print(json.dumps([dataclasses.asdict(s) for s in statuses], indent=2))
    else:
        print(format_table(statuses))
    healthy = all(s.state == "running" and s.ready for s in statuses if s.state != "missing")
    return 0 if healthy else 3
