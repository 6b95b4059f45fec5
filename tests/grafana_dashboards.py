"""The Grafana dashboards as data: their panels, targets and variables, and their queries with
Grafana's macros and variables expanded, so tests can run them against real servers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))

GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]")
# Grafana's interval variables in PromQL.
INTERVAL_VARIABLES = {"__rate_interval", "__interval", "__range", "__auto"}
_TIME_FILTER = re.compile(r"\$__timeFilter\(([^)]+)\)")
_TIME_GROUP_ALIAS = re.compile(r"\$__timeGroupAlias\(([^,]+),\s*'(\d+)([smhd])'\)")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def dashboard(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def targets(kind: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(dashboard file, panel, target) of every target querying a datasource of ``kind``."""
    for path in DASHBOARDS:
        for panel in panels(dashboard(path)):
            for target in panel.get("targets", []):
                datasource = target.get("datasource") or panel.get("datasource") or {}
                if datasource.get("type") == kind:
                    yield path.name, panel, target


def variables(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in board.get("templating", {}).get("list", [])}


def sql_variables(kind: str) -> Iterator[tuple[str, str, str]]:
    """(dashboard file, variable, SQL) of every query variable on a datasource of ``kind``."""
    for path in DASHBOARDS:
        for name, variable in variables(dashboard(path)).items():
            if variable.get("type") == "query" and variable["datasource"]["type"] == kind:
                yield path.name, name, variable["query"]


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def expand_sql(
    sql: str, start: datetime, end: datetime, values: Mapping[str, Sequence[str]]
) -> str:
    """A panel's SQL as Grafana's PostgreSQL datasource sends it: ``$__timeFilter(col)``,
    ``$__timeGroupAlias(col, '5m')`` (its documented expansions), and multi-value variables
    as comma-separated quoted literals."""
    sql = _TIME_FILTER.sub(
        lambda m: f"{m.group(1)} BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'", sql
    )
    sql = _TIME_GROUP_ALIAS.sub(
        lambda m: (
            f"floor(extract(epoch from {m.group(1)})/{int(m.group(2)) * _SECONDS[m.group(3)]})"
            f'*{int(m.group(2)) * _SECONDS[m.group(3)]} AS "time"'
        ),
        sql,
    )

    def variable(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        assert name in values, f"${name} has no value for the test"
        return ",".join(_sql_literal(v) for v in values[name])

    return GRAFANA_VARIABLE.sub(variable, sql)


def expand_promql(expr: str, values: Mapping[str, str]) -> str:
    """A panel's PromQL with Grafana's variables replaced (interval variables by 1m)."""

    def variable(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in INTERVAL_VARIABLES:
            return "1m"
        assert name in values, f"${name} has no value for the test"
        return values[name]

    return GRAFANA_VARIABLE.sub(variable, expr)
