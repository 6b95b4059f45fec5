"""Grafana provisioning (grafana/provisioning) and the controller dashboard (grafana/dashboards).

Grafana itself cannot run on the build machines, so the dashboard is checked through what can:
every PromQL expression of a panel or variable is written into a rule file and checked by the
real promtool; every metric name it queries is either exposed by the controller (read from
/metrics of the app started in-process) or recorded by prometheus/rules; every datasource uid
exists in provisioning; the Elasticsearch logs panel queries fields the index template maps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from tests.config.promtool import check_recording_rules
from tests.grafana_dashboards import DASHBOARDS, dashboard, panels, targets, variables

from vigil.controller import create_app
from vigil.settings import Settings

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "grafana"
DATASOURCES = GRAFANA / "provisioning" / "datasources"
PROVIDERS = GRAFANA / "provisioning" / "dashboards"
RULES = sorted((REPO / "prometheus" / "rules").glob("*.yml"))
PROMETHEUS_CONFIG = REPO / "prometheus" / "prometheus.yml"
COMPOSE = REPO / "docker-compose.observability.yml"
INDEX_TEMPLATE = REPO / "elasticsearch" / "index-template.json"

BUILTIN_DATASOURCE_UIDS = {"-- Grafana --", "grafana"}
# Grafana's interval variables: any duration makes the expression valid PromQL.
INTERVAL_VARIABLES = {"__rate_interval", "__interval", "__range", "__auto"}
GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]")
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")
PROMQL_KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "inf",
    "nan",
}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _datasources() -> list[dict[str, Any]]:
    return [ds for path in sorted(DATASOURCES.glob("*.yml")) for ds in _yaml(path)["datasources"]]


def _datasource(uid: str) -> dict[str, Any]:
    [found] = [ds for ds in _datasources() if ds["uid"] == uid]
    return found


def _prometheus_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every label_values() variable query."""
    queries = [
        (f"{name} panel {panel['id']} {target['refId']}", target["expr"])
        for name, panel, target in targets("prometheus")
    ]
    for path in DASHBOARDS:
        for variable in variables(dashboard(path)).values():
            if variable.get("datasource", {}).get("type") != "prometheus":
                continue
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            match = LABEL_VALUES.match(text.strip())
            assert match, f"{path.name} ${variable['name']}: only label_values() is checked"
            if match.group("selector"):
                queries.append((f"{path.name} ${variable['name']}", match.group("selector")))
    return queries


def _substitute(expr: str, variables: dict[str, dict[str, Any]]) -> str:
    """``expr`` with Grafana's variables replaced by values that keep it valid PromQL."""

    def sub(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in INTERVAL_VARIABLES:
            return "5m"
        assert name in variables, f"${name} is not a variable of the dashboard"
        return "x"

    return GRAFANA_VARIABLE.sub(sub, expr)


def _all_variables() -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for path in DASHBOARDS:
        merged.update(variables(dashboard(path)))
    return merged


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels excluded)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        if match.group(2) is None and match.group(1) not in PROMQL_KEYWORDS:
            names.add(match.group(1))
    return names


@pytest.fixture(scope="module")
def exposed_metrics(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every series name the controller's /metrics can show, read from the running app.

    Families with no sample yet (an exception counter before any exception) are listed by
    type, so the names come from the registry as Prometheus will see them.
    """
    directory = tmp_path_factory.mktemp("controller")
    app = create_app(Settings(database_url=f"sqlite:///{directory}/vigil.db", data_dir=directory))
    with TestClient(app, raise_server_exceptions=False) as client:
        token = (directory / "admin.key").read_text().strip()
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.get("/runs").status_code == 200
        assert client.get("/no-such-path").status_code == 404
        response = client.get("/metrics")
    assert response.status_code == 200
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "gauge": ("",),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def _recorded() -> set[str]:
    return {
        rule["record"]
        for path in RULES
        for group in _yaml(path)["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


# --- Provisioning -----------------------------------------------------------------------------


def test_datasources_have_fixed_unique_uids_and_reach_compose_services() -> None:
    datasources = _datasources()
    uids = [ds["uid"] for ds in datasources]
    assert len(uids) == len(set(uids))
    assert {(ds["uid"], ds["type"]) for ds in datasources} >= {
        ("vigil-prometheus", "prometheus"),
        ("vigil-elasticsearch", "elasticsearch"),
        ("vigil-postgres", "grafana-postgresql-datasource"),
    }
    services = _yaml(COMPOSE)["services"]
    for ds in datasources:
        # SQL datasources take host:port, the others a URL.
        url = ds["url"] if "://" in ds["url"] else f"//{ds['url']}"
        host = urlsplit(url).hostname
        assert host in services, f"{ds['name']}: no compose service {host}"
    assert sum(bool(ds.get("isDefault")) for ds in datasources) == 1


def test_prometheus_datasource_knows_the_scrape_interval() -> None:
    """$__rate_interval is derived from timeInterval: it must be the real scrape interval."""
    scrape_interval = _yaml(PROMETHEUS_CONFIG)["global"]["scrape_interval"]
    assert _datasource("vigil-prometheus")["jsonData"]["timeInterval"] == scrape_interval


def test_elasticsearch_datasource_matches_the_index_template() -> None:
    """The datasource's index pattern, time field and log fields exist in the template."""
    template = json.loads(INDEX_TEMPLATE.read_text(encoding="utf-8"))
    mapped = template["template"]["mappings"]["properties"]
    json_data = _datasource("vigil-elasticsearch")["jsonData"]
    assert json_data["index"] in template["index_patterns"]
    assert mapped[json_data["timeField"]]["type"] == "date"
    assert json_data["logMessageField"] in mapped
    assert json_data["logLevelField"] in mapped
    for link in json_data.get("dataLinks", []):
        assert link["field"] in mapped, link


# Grafana's expanders in provisioning values: $__file{PATH} (the file's content, trimmed),
# $__env{NAME}; then $NAME / ${NAME} from the environment. $$ is a literal $.
# (grafana/grafana pkg/services/provisioning/values/values.go, pkg/setting/expanders.go)
GRAFANA_EXPANSION = re.compile(r"\$\$|\$__(\w+)\{([^}]+)\}|\$\{(\w+)\}|\$(\w+)")


def _grafana_expand(text: str, env: dict[str, str]) -> str:
    """What Grafana makes of a provisioning value: $$ -> $, $NAME / ${NAME} -> environment."""
    return re.sub(
        r"\$\$|\$\{(\w+)\}|\$(\w+)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1) or m.group(2), ""),
        text,
    )


def _provisioning_values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _provisioning_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _provisioning_values(item)


def test_provisioning_escapes_literal_dollars() -> None:
    """Every `$` in a provisioning value is `$$` or an environment variable Grafana is given;
    the request-id data link keeps Grafana's own ${__value.raw} after expansion."""
    grafana_env = set(_yaml(COMPOSE)["services"]["grafana"].get("environment", {}))
    files = sorted((GRAFANA / "provisioning").rglob("*.yml"))
    assert files
    for path in files:
        for value in _provisioning_values(_yaml(path)):
            for match in GRAFANA_EXPANSION.finditer(value):
                if match.group(0) == "$$":
                    continue
                if match.group(1):
                    assert match.group(1) == "file", f"{path.name}: {match.group(0)} in {value!r}"
                    continue
                name = match.group(3) or match.group(4)
                assert name in grafana_env, f"{path.name}: unescaped ${name} in {value!r}"
    links = _datasource("vigil-elasticsearch")["jsonData"]["dataLinks"]
    [link] = [link for link in links if link["field"] == "request_id"]
    expanded = _grafana_expand(link["url"], {})
    assert expanded.endswith("request_id=${__value.raw}")
    assert urlsplit(expanded).path == "/logs"


def _langfuse_trace_url() -> str:
    """Where Langfuse shows a trace: its published URL (NEXTAUTH_URL), the project its
    headless init creates, the trace id (the same 32 hex digits OpenTelemetry uses)."""
    web = _yaml(COMPOSE)["services"]["langfuse-web"]["environment"]
    compose_text = COMPOSE.read_text(encoding="utf-8")
    public_url = re.search(r"NEXTAUTH_URL: (\S+)", compose_text)
    assert public_url is not None
    return f"{public_url.group(1)}/project/{web['LANGFUSE_INIT_PROJECT_ID']}/traces/"


def test_a_latency_exemplar_links_to_its_trace() -> None:
    """The trace_id exemplar of request_duration_seconds opens the trace in the controller
    (GET /traces/{trace_id}) and in Langfuse; the p99 panel asks for the exemplars."""
    destinations = _datasource("vigil-prometheus")["jsonData"]["exemplarTraceIdDestinations"]
    urls = [_grafana_expand(d["url"], {}) for d in destinations if d["name"] == "trace_id"]
    assert urls == [
        "http://localhost:8000/traces/${__value.raw}",
        _langfuse_trace_url() + "${__value.raw}",
    ]
    targets = [
        target
        for panel in panels(dashboard(GRAFANA / "dashboards" / "vigil-controller.json"))
        for target in panel.get("targets", [])
        if target.get("exemplar")
    ]
    assert targets, "a panel shows exemplars"
    assert all("request_duration_seconds_bucket" in t["expr"] for t in targets)


def test_a_log_line_links_to_its_trace_and_run() -> None:
    links = _datasource("vigil-elasticsearch")["jsonData"]["dataLinks"]
    by_field: dict[str, list[str]] = {}
    for link in links:
        by_field.setdefault(link["field"], []).append(_grafana_expand(link["url"], {}))
    assert by_field["trace_id"] == [
        "http://localhost:8000/traces/${__value.raw}",
        _langfuse_trace_url() + "${__value.raw}",
    ]
    assert by_field["run_id"] == ["http://localhost:8000/runs/${__value.raw}/trace"]


def test_prometheus_datasource_logs_in_with_the_secrets_volume_password() -> None:
    """Prometheus wants basic auth: the datasource sends user vigil (the user of
    prometheus.yml's own scrape job) and the password of the file secrets-init writes, read
    with Grafana's $__file{} from where compose mounts the volume into Grafana."""
    datasource = _datasource("vigil-prometheus")
    assert datasource["basicAuth"] is True
    scrape_jobs = {job["job_name"]: job for job in _yaml(PROMETHEUS_CONFIG)["scrape_configs"]}
    own = scrape_jobs["prometheus"]["basic_auth"]
    assert datasource["basicAuthUser"] == own["username"]
    password = datasource["secureJsonData"]["basicAuthPassword"]
    match = re.fullmatch(r"\$__file\{(/[^}]+)\}", password)
    assert match, password
    grafana = _yaml(COMPOSE)["services"]["grafana"]
    assert "vigil-secrets:/run/vigil-secrets:ro" in grafana["volumes"]
    path = PurePosixPath(match.group(1))
    assert path.parent == PurePosixPath("/run/vigil-secrets")
    # The same file Prometheus' own scrape job reads (mounted at /etc/prometheus/secrets).
    assert path.name == PurePosixPath(own["password_file"]).name == "prometheus_password"
    assert "password" not in datasource.get("jsonData", {})


def test_dashboard_provider_reads_the_mounted_dashboards() -> None:
    """The provider's path is where compose mounts grafana/dashboards; Grafana's home
    dashboard setting names a file that is there."""
    [provider] = [p for path in PROVIDERS.glob("*.yml") for p in _yaml(path)["providers"]]
    grafana = _yaml(COMPOSE)["services"]["grafana"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"]}
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    relative = Path(home).relative_to(provider["options"]["path"])
    assert (GRAFANA / "dashboards" / relative).is_file()


# --- Dashboards -------------------------------------------------------------------------------


def test_dashboards_are_valid_json_with_unique_uids() -> None:
    assert DASHBOARDS
    uids = [dashboard(path)["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids))
    for path in DASHBOARDS:
        # $$ escaping belongs to provisioning files, never to dashboard JSON.
        assert "$$" not in path.read_text(encoding="utf-8"), path.name


def test_every_datasource_uid_in_dashboards_is_provisioned() -> None:
    provisioned = {ds["uid"] for ds in _datasources()}

    def uids(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            if isinstance(value.get("datasource"), dict):
                yield value["datasource"]["uid"]
            for item in value.values():
                yield from uids(item)
        elif isinstance(value, list):
            for item in value:
                yield from uids(item)

    for path in DASHBOARDS:
        used = set(uids(dashboard(path)))
        assert used, path.name
        assert used - BUILTIN_DATASOURCE_UIDS <= provisioned, path.name
        for panel in panels(dashboard(path)):
            if panel["type"] != "row":
                assert panel.get("datasource", {}).get("uid") in provisioned, panel["title"]


def test_panels_do_not_overlap() -> None:
    for path in DASHBOARDS:
        cells: dict[tuple[int, int], str] = {}
        for panel in panels(dashboard(path)):
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, panel["title"]
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                    cells[(x, y)] = panel["title"]


def test_metric_name_extraction() -> None:
    """The helper the next tests rely on, on the shapes the dashboard uses."""
    quantile = 'histogram_quantile(0.95, sum by (endpoint, le) (a:b:rate5m{x="y"}))'
    assert metric_names(quantile) == {"a:b:rate5m"}
    assert metric_names('sum(rate(foo_total{a=~"$x"}[5m])) by (le) / on(job) bar') == {
        "foo_total",
        "bar",
    }
    assert metric_names("14.4 * slo:budget:ratio offset 5m") == {"slo:budget:ratio"}
    assert metric_names('count(up{job="a or b"}) or vector(0)') == {"up"}


def test_dashboard_promql_passes_promtool(tmp_path: Path) -> None:
    """Each expression, Grafana variables substituted, is a valid rule for `promtool check`."""
    variables = _all_variables()
    queries = _prometheus_queries()
    assert queries
    rules = [
        {"record": f"dashboard:query_{i}:check", "expr": _substitute(expr, variables)}
        for i, (_, expr) in enumerate(queries)
    ]
    result = check_recording_rules(tmp_path, "dashboard", rules)
    where = "\n".join(f"query_{i}: {w}" for i, (w, _) in enumerate(queries))
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{where}"


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The check above would catch a broken panel: promtool fails on one."""
    rule = {"record": "dashboard:broken:check", "expr": "sum by (endpoint (request_count_total)"}
    result = check_recording_rules(tmp_path, "broken", [rule])
    assert result.returncode != 0


def test_dashboard_metrics_are_exposed_or_recorded(exposed_metrics: set[str]) -> None:
    """Every metric a query selects is on the controller's /metrics or a recording rule."""
    recorded = _recorded()
    assert "request_count_total" in exposed_metrics
    assert "sdk_events_dropped_total" in exposed_metrics
    for where, expr in _prometheus_queries():
        unknown = metric_names(expr) - exposed_metrics - recorded
        assert not unknown, f"{where}: {sorted(unknown)} neither exposed nor recorded"


def test_dashboard_covers_red_saturation_and_sdk_drops() -> None:
    """Rate, errors and duration come from the recording rules (p50, p95, p99 by endpoint);
    in-progress requests and SDK drops from the raw metrics."""
    used = set().union(*(metric_names(expr) for _, expr in _prometheus_queries()))
    assert {
        "service_endpoint_project:request_count:rate5m",
        "service_endpoint:request_error_ratio:rate5m",
        "service_endpoint_project_le:request_duration_seconds_bucket:rate5m",
        "service_endpoint:request_duration_seconds:p99_rate5m",
        "requests_in_progress",
        "sdk_events_dropped_total",
    } <= used
    quantiles = {
        q for _, expr in _prometheus_queries() for q in re.findall(r"quantile\((0\.\d+)", expr)
    }
    assert {"0.50", "0.95"} <= quantiles
    by_endpoint = [e for _, e in _prometheus_queries() if "endpoint" in e and "duration" in e]
    assert len(by_endpoint) >= 3


def test_logs_panel_queries_mapped_fields() -> None:
    """The Elasticsearch logs panel: a logs query whose fields the index template maps."""
    mapped = json.loads(INDEX_TEMPLATE.read_text(encoding="utf-8"))["template"]["mappings"]
    logs = [(p, t) for _, p, t in targets("elasticsearch") if p["type"] == "logs"]
    assert logs, "no logs panel on Elasticsearch"
    for panel, target in logs:
        assert [m["type"] for m in target["metrics"]] == ["logs"], panel["title"]
        assert target["timeField"] in mapped["properties"]
        fields = set(re.findall(r"(\w+):", target["query"]))
        assert fields, panel["title"]
        assert fields <= set(mapped["properties"]), panel["title"]
        for name in re.findall(r"\$(\w+)", target["query"]):
            assert name in _all_variables(), name
