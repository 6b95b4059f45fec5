#!/usr/bin/env python3
"""Render a fast test variant of a Prometheus rule file.

The live alert smoke test cannot wait the production `for:` durations (HighErrorRate waits
5 minutes), so it loads a copy of prometheus/rules/alerts.yml derived by this script:

* every alerting rule's `for:` longer than --for is shortened to --for;
* range windows are left alone unless --window OLD=NEW asks, because a rate over [5m]
  already reacts within a scrape or two to a spike (prometheus/tests/fast/ pins that the
  rendered HighErrorRate fires within a minute of a spike's start);
* nothing else changes: names, labels and annotations stay byte-for-byte the same, so the
  smoke test can expect exactly what production would send.

Usage:
    scripts/render_alert_test_rules.py --for 10s -o /tmp/stack/rules/alerts.yml
    scripts/render_alert_test_rules.py --for 10s --window 5m=1m -o out.yml \
        prometheus/rules/recording.yml

Needs PyYAML only.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPO / "prometheus" / "rules" / "alerts.yml"

# Prometheus' duration syntax (model.ParseDuration): units in this order, each at most once.
_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000, 1)


def parse_duration(text: str) -> int:
    """Return a Prometheus duration such as "1h30m" in milliseconds."""
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groups()):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_MS, strict=True) if n)


def _duration_arg(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _window_arg(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected OLD=NEW, e.g. 5m=1m, got {text!r}")
    return _duration_arg(old), _duration_arg(new)


def rewrite_windows(expr: str, windows: dict[str, str]) -> str:
    """Replace range selectors `[OLD]`, subquery ranges `[OLD:...]` and `offset OLD`."""
    if not windows:
        return expr

    def range_sub(match: re.Match[str]) -> str:
        return "[" + windows.get(match.group(1), match.group(1)) + match.group(2)

    def offset_sub(match: re.Match[str]) -> str:
        return match.group(1) + windows.get(match.group(2), match.group(2))

    # `\w+` would also match "5m" inside "15m"; anchoring on "[" and "offset " avoids it.
    expr = re.sub(r"\[(\w+)([:\]])", range_sub, expr)
    return re.sub(r"(\boffset\s+)(\w+)\b", offset_sub, expr)


def render(rules: dict[str, Any], for_: str, windows: dict[str, str]) -> dict[str, Any]:
    """Return the rule file `rules` (as loaded by PyYAML) with `for:` and windows rewritten."""
    limit = parse_duration(for_)
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            rule["expr"] = rewrite_windows(str(rule["expr"]), windows)
            if "alert" in rule and "for" in rule and parse_duration(str(rule["for"])) > limit:
                rule["for"] = for_
    return rules


class _Dumper(yaml.SafeDumper):
    """Indent lists under their key (as yamllint expects) and never fold long lines."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "input",
        nargs="?",
        type=Path,
        default=DEFAULT_INPUT,
        help="rule file to render (default: prometheus/rules/alerts.yml)",
    )
    parser.add_argument(
        "--for",
        dest="for_",
        required=True,
        type=_duration_arg,
        metavar="DURATION",
        help="longest `for:` an alerting rule keeps, e.g. 10s",
    )
    parser.add_argument(
        "--window",
        action="append",
        default=[],
        type=_window_arg,
        metavar="OLD=NEW",
        help="also rewrite range windows and offsets OLD to NEW, e.g. 5m=1m (repeatable)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="file to write, or - for stdout",
    )
    args = parser.parse_args(argv)

    source = args.input.read_text(encoding="utf-8")
    rendered = render(yaml.safe_load(source), args.for_, dict(args.window))
    options = " ".join([f"--for {args.for_}"] + [f"--window {o}={n}" for o, n in args.window])
    try:
        shown = args.input.resolve().relative_to(REPO)
    except ValueError:
        shown = args.input
    text = (
        f"# Generated by scripts/render_alert_test_rules.py {options} from {shown}.\n"
        "# A test variant: do not edit, re-render. Annotations still quote the original\n"
        "# durations.\n"
        "---\n"
        + yaml.dump(rendered, Dumper=_Dumper, sort_keys=False, width=1 << 16, allow_unicode=True)
    )
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
