"""The controller's log pipeline into Elasticsearch: index template, ILM policy, ingest pipeline,
Filebeat config, Kibana data view, and the setup script the compose jobs run.

Elasticsearch, Kibana and Filebeat cannot run on the build machines. What is checked: the
template maps every field the controller's JSON formatter really writes (records are formatted
here by the real formatter), the names that tie the files together agree, and the setup script
sends the right requests (to a local fake server), retries while a server starts, and fails on
a refused body.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import io
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest
import yaml
from opentelemetry import context as otel_context
from opentelemetry.trace import NonRecordingSpan, SpanContext, set_span_in_context
from tests.ports import free_port

from vigil._run_context import run_context
from vigil.instrumentation.access_log import AccessLog
from vigil.instrumentation.json_logging import VigilJsonFormatter
from vigil.instrumentation.red_metrics import RequestObservation

REPO = Path(__file__).resolve().parents[2]
ES_DIR = REPO / "elasticsearch"
TEMPLATE = ES_DIR / "index-template.json"
POLICY = ES_DIR / "ilm-policy.json"
PIPELINE = ES_DIR / "ingest-pipeline.json"
FILEBEAT = ES_DIR / "filebeat.yml"
SETUP = ES_DIR / "setup.py"
DATA_VIEW = REPO / "kibana" / "data-view.json"
SAVED_OBJECTS = REPO / "kibana" / "saved-objects.ndjson"
COMPOSE = REPO / "docker-compose.observability.yml"

NUMERIC_TYPES = {"byte", "short", "integer", "long", "float", "double", "half_float"}
STRING_TYPES = {"keyword", "text", "match_only_text", "wildcard", "date"}


def _json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _mapped() -> dict[str, Any]:
    properties = _json(TEMPLATE)["template"]["mappings"]["properties"]
    assert isinstance(properties, dict)
    return properties


def _setup_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vigil_compose_setup", SETUP)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _formatted_records() -> list[dict[str, Any]]:
    """What the controller writes to stdout: an ordinary record, an access record, an error
    with its traceback and a record with a stack, through the real formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(VigilJsonFormatter("vigil-controller"))
    logger = logging.getLogger("test_elasticsearch.formatter")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    access = logging.getLogger("test_elasticsearch.access")
    access.propagate = False
    access.setLevel(logging.INFO)
    access.addHandler(handler)
    try:
        logger.info("plain")
        # Inside a span and a run: the ids that join a line to its trace and run.
        ids = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, False)
        span = NonRecordingSpan(ids)
        token = otel_context.attach(set_span_in_context(span))
        try:
            with run_context(UUID("01234567-89ab-7def-8123-456789abcdef")):
                logger.info("in a span of a run")
        finally:
            otel_context.detach(token)
        AccessLog(access).emit(
            RequestObservation(
                method="GET",
                path="/runs/1",
                endpoint="/runs/{run_id}",
                status=200,
                duration_s=0.0123,
                project_id="demo",
                client="127.0.0.1:5000",
            )
        )
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
        logger.warning("with stack", stack_info=True)
    finally:
        logger.removeHandler(handler)
        access.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --- Index template, ILM policy, ingest pipeline -----------------------------------------------


def test_every_field_the_formatter_writes_is_mapped_with_a_fitting_type() -> None:
    records = _formatted_records()
    assert len(records) == 5
    fields = {key: value for record in records for key, value in record.items()}
    # The fields the formatter promises (json_logging.py, access_log.py): a smaller set here
    # would mean the records above no longer exercise them.
    assert set(fields) >= {
        "timestamp",
        "service",
        "level",
        "logger",
        "message",
        "request_id",
        "project_id",
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "client",
        "exception",
        "stack",
        "trace_id",
        "span_id",
        "run_id",
    }
    mapped = _mapped()
    for name in ("trace_id", "span_id", "run_id", "request_id", "project_id"):
        assert mapped[name]["type"] == "keyword", f"{name}: an id is matched whole, never analysed"
    for name in fields:
        assert name in mapped, f"{name} is written by the formatter but not mapped"
    for name, value in fields.items():
        kind = mapped[name]["type"]
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            assert kind in NUMERIC_TYPES, f"{name}: {value!r} mapped as {kind}"
        else:
            assert kind in STRING_TYPES, f"{name}: {value!r} mapped as {kind}"
    assert mapped["timestamp"]["type"] == "date"
    assert mapped["@timestamp"]["type"] == "date"


def test_status_type_holds_every_http_status() -> None:
    kind = _mapped()["status"]["type"]
    limits = {"byte": 127, "short": 32767, "integer": 2**31 - 1, "long": 2**63 - 1}
    assert limits[kind] >= 599


def test_ingest_pipeline_takes_timestamp_from_the_record() -> None:
    """The date processor reads the formatter's RFC 3339 `timestamp` into @timestamp."""
    [processor] = _json(PIPELINE)["processors"]
    date = processor["date"]
    assert date["field"] == "timestamp"
    assert date["target_field"] == "@timestamp"
    assert "ISO8601" in date["formats"]
    for record in _formatted_records():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])


def test_template_is_a_data_stream_with_the_policy_and_pipeline_setup_creates() -> None:
    setup = _setup_module()
    template = _json(TEMPLATE)
    settings = template["template"]["settings"]
    assert "data_stream" in template
    assert settings["index.lifecycle.name"] == setup.POLICY
    assert settings["index.default_pipeline"] == setup.PIPELINE
    # One node: a replica could never be assigned and the cluster would stay yellow.
    assert settings["index.number_of_replicas"] == 0
    with setup.elasticsearch_client("http://127.0.0.1:1") as client:
        order = [call.what for call in setup.elasticsearch_calls(client)]
    assert order == ["ILM policy", "ingest pipeline", "index template"], (
        "the policy and the pipeline must exist before the template names them"
    )


def test_ilm_policy_rolls_over_and_deletes() -> None:
    phases = _json(POLICY)["policy"]["phases"]
    assert phases["hot"]["actions"]["rollover"]
    assert "delete" in phases["delete"]["actions"]
    assert re.fullmatch(r"[1-9]\d*d", phases["delete"]["min_age"])


# --- Filebeat and Kibana ------------------------------------------------------------------------


def test_filebeat_writes_where_the_template_applies() -> None:
    """Filebeat's index is a data stream name the template's patterns match (and not the
    built-in logs-*-* templates'); Filebeat's own template and ILM setup are off."""
    config = yaml.safe_load(FILEBEAT.read_text(encoding="utf-8"))
    index = config["output.elasticsearch"]["index"]
    patterns = _json(TEMPLATE)["index_patterns"]
    assert any(fnmatch.fnmatch(index, pattern) for pattern in patterns)
    assert not fnmatch.fnmatch(index, "logs-*-*")
    assert config["setup.template.enabled"] is False
    assert config["setup.ilm.enabled"] is False
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    for host in config["output.elasticsearch"]["hosts"]:
        assert host == "http://elasticsearch:9200"
        assert "elasticsearch" in services


def test_filebeat_ships_the_controller_stdout_as_json() -> None:
    """The autodiscover condition matches the controller's compose label; the input unwraps
    Docker's json-file lines and decodes the controller's JSON at the event root."""
    config = yaml.safe_load(FILEBEAT.read_text(encoding="utf-8"))
    [provider] = config["filebeat.autodiscover"]["providers"]
    assert provider["type"] == "docker"
    [template] = provider["templates"]
    [(label, value)] = template["condition"]["equals"].items()
    prefix = "docker.container.labels."
    assert label.startswith(prefix)
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    labelled = [n for n, s in services.items() if s.get("labels", {}).get(label[len(prefix) :])]
    assert labelled == ["controller"]
    assert services["controller"]["labels"][label[len(prefix) :]] == value
    [input_config] = template["config"]
    assert input_config["type"] == "filestream"
    assert "${data.container.id}" in input_config["id"]
    [path] = input_config["paths"]
    assert path.startswith("/var/lib/docker/containers/")
    assert path.endswith("-json.log")
    container, ndjson = input_config["parsers"]
    assert container["container"] == {"stream": "stdout", "format": "docker"}
    assert ndjson["ndjson"]["target"] == ""
    assert ndjson["ndjson"]["overwrite_keys"] is True
    # The compose healthcheck asks the stats endpoint this config opens.
    assert config["http"]["host"] == "127.0.0.1"
    check = " ".join(services["filebeat"]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{config['http']['port']}/" in check


def test_kibana_data_view_covers_the_data_stream() -> None:
    view = _json(DATA_VIEW)
    assert view["override"] is True
    data_view = view["data_view"]
    assert data_view["title"] in _json(TEMPLATE)["index_patterns"]
    assert data_view["timeFieldName"] in _mapped()
    assert re.fullmatch(r"[a-z0-9-]+", data_view["id"]), "a fixed id keeps imports idempotent"


# --- The setup script -------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Answers each request with the next scripted status (200 when none is left), as
    Elasticsearch does (its product header, which the official client checks); keeps each
    request with its headers (names in lower case) and its body (JSON, or raw bytes)."""

    statuses: list[int]
    requests: list[tuple[str, str, dict[str, str], Any]]

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        body: Any = raw
        if "json" in headers.get("content-type", ""):
            body = json.loads(raw) if raw else None
        self.requests.append((self.command, self.path, headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        answer: dict[str, Any] = {"acknowledged": status < 300, "success": status < 300}
        if status >= 300:
            answer["error"] = {"type": "illegal_argument_exception", "reason": "bad body"}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"statuses": [], "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_setup_puts_policy_pipeline_and_template_and_retries_a_starting_node(
    fake_server: tuple[str, type[_Recorder]],
) -> None:
    """Through the official client: the three PUTs with the committed bodies, each answer
    5xx retried."""
    url, handler = fake_server
    handler.statuses = [503, 503]  # the node is still starting
    setup = _setup_module()
    lines: list[str] = []
    with setup.elasticsearch_client(url) as client:
        setup.run(setup.elasticsearch_calls(client), deadline_s=10, retry_every_s=0.01,
                  log=lines.append)  # fmt: skip
    sent = [(method, path.split("?")[0], body) for method, path, _, body in handler.requests]
    assert len(sent) == 5
    assert sent[2:] == [
        ("PUT", "/_ilm/policy/vigil-logs", _json(POLICY)),
        ("PUT", "/_ingest/pipeline/vigil-logs", _json(PIPELINE)),
        ("PUT", "/_index_template/vigil-logs", _json(TEMPLATE)),
    ]
    assert sum("HTTP 503" in line for line in lines) == 2
    assert "elasticsearch-py" in handler.requests[0][2].get("user-agent", "")


def test_setup_creates_the_kibana_objects_with_the_xsrf_header(
    fake_server: tuple[str, type[_Recorder]],
) -> None:
    url, handler = fake_server
    setup = _setup_module()
    with setup.kibana_client(url) as client:
        setup.run(setup.kibana_calls(client), log=lambda _: None)
    [(m1, p1, h1, b1), (m2, p2, h2, b2), (m3, p3, h3, b3)] = handler.requests
    assert (m1, p1, b1) == ("POST", "/api/data_views/data_view", _json(DATA_VIEW))
    assert (m2, p2) == ("POST", "/api/data_views/default")
    assert b2 == {"data_view_id": _json(DATA_VIEW)["data_view"]["id"], "force": True}
    assert (m3, p3) == ("POST", "/api/saved_objects/_import?overwrite=true")
    assert h3["content-type"].startswith("multipart/form-data")
    assert SAVED_OBJECTS.read_bytes() in b3
    for headers in (h1, h2, h3):
        assert headers.get("kbn-xsrf") == "true"


def test_setup_fails_at_once_on_a_refused_body(
    fake_server: tuple[str, type[_Recorder]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 4xx is a wrong body, not a slow server: exit 1 with the server's reason, no retry."""
    url, handler = fake_server
    handler.statuses = [400]
    monkeypatch.setenv("ELASTICSEARCH_URL", url)
    assert _setup_module().main(["elasticsearch", "--timeout", "30"]) == 1
    assert len(handler.requests) == 1
    err = capsys.readouterr().err
    assert "ILM policy" in err
    assert "400" in err


def test_setup_gives_up_when_nothing_answers() -> None:
    setup = _setup_module()
    url = f"http://127.0.0.1:{free_port()}"
    with (
        setup.elasticsearch_client(url) as client,
        pytest.raises(setup.SetupError, match="until the deadline"),
    ):
        setup.run(setup.elasticsearch_calls(client), deadline_s=0.2, retry_every_s=0.05,
                  log=print)  # fmt: skip


def _saved_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAVED_OBJECTS.read_text().splitlines() if line]


def test_kibana_saved_objects_use_the_data_view_and_mapped_fields() -> None:
    """The saved searches read the data view by its fixed id and show fields the template
    maps (the ids a user follows: request, run, trace); the dashboard embeds both searches."""
    objects = {o["id"]: o for o in _saved_objects()}
    view_id = _json(DATA_VIEW)["data_view"]["id"]
    searches = [o for o in objects.values() if o["type"] == "search"]
    assert len(searches) >= 2
    for search in searches:
        assert [r["id"] for r in search["references"]] == [view_id]
        columns = search["attributes"]["columns"]
        assert {"request_id", "run_id", "trace_id", "level"} <= set(columns)
        assert set(columns) <= set(_mapped())
        json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    [board] = [o for o in objects.values() if o["type"] == "dashboard"]
    panel_refs = {r["name"]: r["id"] for r in board["references"]}
    panels = json.loads(board["attributes"]["panelsJSON"])
    assert {panel_refs[p["panelRefName"]] for p in panels} == {s["id"] for s in searches}
