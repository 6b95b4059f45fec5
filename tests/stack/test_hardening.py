"""What an attacker on the machine (any local user, or a web page in a developer's browser)
could do to the native stack before it was hardened, tried against the real processes.

Each test is one finding of issue 9, closed:

- PostgreSQL trusted every local login (initdb --auth=trust), and the controller's role was
  the bootstrap superuser: anyone could run ``COPY ... FROM PROGRAM 'id'``;
- Prometheus ran with --web.enable-lifecycle: a form POST to ``/-/quit`` stopped it;
- Alertmanager's API had no auth (and answers ``Access-Control-Allow-Origin: *``): any web
  page could POST ``/api/v2/alerts`` and inject a critical alert;
- ``.stack/logs/*.log`` were world-readable (0644).

SeaweedFS (issue 13) checks SigV4 credentials generated into the secrets directory: a wrong
secret, an anonymous request and a tampered presigned URL are refused.

One stack for the module: every test only reads, or tries what must be refused.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg import errors

from tests.e2e.native_stack import admin_headers, running_stack
from tests.e2e.polling import wait_for
from vigil.stack import Stack
from vigil.stack._process import group_members

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as started:
        yield started


def _connect(stack: Stack, user: str, password: str | None, **kwargs: Any) -> psycopg.Connection:
    params: dict[str, Any] = {"host": "127.0.0.1", "port": stack.postgres.port, "user": user}
    if password is not None:
        params["password"] = password
    return psycopg.connect(dbname="vigil", connect_timeout=5, autocommit=True, **params, **kwargs)


def _secret(stack: Stack, name: str) -> str:
    return stack.layout.secret(name).read_text(encoding="utf-8").strip()


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["postgres", "vigil", "vigil_readonly"])
def test_postgres_refuses_logins_without_the_right_password(stack: Stack, role: str) -> None:
    """No role gets in without its password (the trust cluster let every local user in as any
    role, the superuser included); the cluster has no `trust` line at all."""
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        _connect(stack, role, None, passfile="/dev/null")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(stack, role, "not-the-password")
    hba = (stack.postgres.data_dir / "pg_hba.conf").read_text(encoding="utf-8")
    rules = [line.split() for line in hba.splitlines() if line.strip() and line[0] != "#"]
    assert rules, "pg_hba.conf has rules"
    assert {rule[-1] for rule in rules} == {"scram-sha-256"}


def test_controller_role_is_no_superuser_and_cannot_run_programs(
    stack: Stack, tmp_path: Path
) -> None:
    """The controller's own login (the URL it is given) cannot run a shell command through
    COPY ... FROM PROGRAM, is no superuser, cannot create roles, databases or schemas, and
    does not own the database: it owns its two schemas and the tables in them."""
    marker = tmp_path / "pwned"
    url = stack.postgres.database_url.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege, match="COPY"):
            conn.execute(f"COPY observability.runs FROM PROGRAM 'touch {marker}'")
        role = conn.execute(
            "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolreplication,"
            " rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert role == ("vigil", False, False, False, False, False)
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'vigil'"
        ).fetchone()
        assert owner == ("postgres",)
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE pg_get_userbyid(nspowner) = 'vigil' ORDER BY 1"
        ).fetchall()
        assert schemas == [("langgraph",), ("observability",)]
        for statement in ("CREATE SCHEMA intruder", "CREATE ROLE intruder", "CREATE DATABASE x"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
    assert not marker.exists()


def test_readonly_role_reads_every_table_but_cannot_write(stack: Stack) -> None:
    """vigil_readonly (dashboards) sees a run the controller stored, in a table its migrations
    created after the role's grants, and cannot write, even in a read-write transaction."""
    name = f"hardening-{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        f"{stack.controller.url}/runs",
        json={"name": name, "agent": "attacker", "project_id": "p"},
        headers=admin_headers(stack),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    url = stack.postgres.readonly_url.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT name FROM observability.runs WHERE name = %s", [name])
        assert found.fetchall() == [(name,)]
        assert conn.execute("SELECT version_num FROM observability.alembic_version").fetchone()
        with pytest.raises(errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM observability.runs")
        # The role's default is read-only; a session may turn that off: privileges still hold.
        conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(errors.InsufficientPrivilege, match="runs"):
            conn.execute("DELETE FROM observability.runs")
        with pytest.raises(errors.InsufficientPrivilege, match="runs"):
            conn.execute("INSERT INTO observability.runs SELECT * FROM observability.runs")
        with pytest.raises(errors.InsufficientPrivilege, match="observability"):
            conn.execute("CREATE TABLE observability.intruder (x int)")


# --- Prometheus ------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["/-/quit", "/-/reload"])
def test_prometheus_lifecycle_post_does_not_stop_it(stack: Stack, endpoint: str) -> None:
    """A form POST (what any web page can send) to /-/quit or /-/reload: 401 without the
    password; with it, the lifecycle API is off (403). Prometheus is still alive and ready,
    with the same pid, a few seconds later."""
    prometheus = stack.prometheus
    pid = prometheus.running_pid()
    anonymous = httpx.post(f"{prometheus.url}{endpoint}", headers=FORM, timeout=5)
    assert anonymous.status_code == 401
    authenticated = httpx.post(
        f"{prometheus.url}{endpoint}", headers=FORM, auth=prometheus.credentials.pair(), timeout=5
    )
    assert authenticated.status_code == 403, authenticated.text
    assert "Lifecycle API is not enabled" in authenticated.text
    time.sleep(2)
    assert prometheus.running_pid() == pid is not None
    ready = httpx.get(f"{prometheus.url}/-/ready", auth=prometheus.credentials.pair(), timeout=5)
    assert ready.status_code == 200


def _reload_metrics(stack: Stack) -> dict[str, float]:
    response = httpx.get(
        f"{stack.prometheus.url}/metrics", auth=stack.prometheus.credentials.pair(), timeout=5
    )
    response.raise_for_status()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name.startswith("prometheus_config_last_reload")
    }


def test_prometheus_reloads_its_config_on_sighup(stack: Stack) -> None:
    """What the runbook says instead of POST /-/reload: SIGHUP reloads the config, with no
    lifecycle API (and the log pump, in the same process group, ignores it)."""
    pid = stack.prometheus.running_pid()
    assert pid is not None
    before = _reload_metrics(stack)["prometheus_config_last_reload_success_timestamp_seconds"]
    time.sleep(1.1)  # the timestamp has whole seconds
    os.kill(pid, signal.SIGHUP)

    def reloaded() -> dict[str, float] | None:
        metrics = _reload_metrics(stack)
        later = metrics["prometheus_config_last_reload_success_timestamp_seconds"] > before
        return metrics if later else None

    metrics = wait_for("a config reload after SIGHUP", reloaded, timeout_s=20)
    assert metrics["prometheus_config_last_reload_successful"] == 1
    assert stack.prometheus.running_pid() == pid
    assert len(group_members(pid)) == 2, "Prometheus and its log pump, both still there"


def test_prometheus_api_needs_the_password(stack: Stack) -> None:
    """Reads need it too (the API shows every series and target); with it the query API
    works, and Prometheus scrapes itself, Alertmanager, Temporal and the controller and sends its
    alerts to Alertmanager, all with the passwords of its scrape and alerting configs."""
    prometheus = stack.prometheus
    query = f"{prometheus.url}/api/v1/query"
    assert httpx.get(query, params={"query": "up"}, timeout=5).status_code == 401
    wrong = ("vigil", "not-the-password")
    assert httpx.get(query, params={"query": "up"}, auth=wrong, timeout=5).status_code == 401

    def all_up() -> dict[str, float] | None:
        response = httpx.get(
            query, params={"query": "up"}, auth=prometheus.credentials.pair(), timeout=5
        )
        up = {s["metric"]["job"]: float(s["value"][1]) for s in response.json()["data"]["result"]}
        # temporal-sdk is an agent's worker, outside the stack: down until one runs.
        return (
            up
            if len(up) == 5 and up.pop("temporal-sdk") == 0.0 and {*up.values()} == {1.0}
            else None
        )

    assert set(wait_for("every target of the stack up", all_up, timeout_s=60)) == {
        "prometheus",
        "alertmanager",
        "vigil-controller",
        "temporal-server",
    }

    def alertmanagers() -> list[str] | None:
        # Prometheus discovers its Alertmanagers on its own schedule, after the first scrapes.
        response = httpx.get(
            f"{prometheus.url}/api/v1/alertmanagers", auth=prometheus.credentials.pair(), timeout=5
        )
        active = [a["url"] for a in response.json()["data"]["activeAlertmanagers"]]
        return active or None

    assert wait_for("an active Alertmanager", alertmanagers, timeout_s=30) == [
        f"{stack.alertmanager.url}/api/v2/alerts"
    ]


# --- Alertmanager ----------------------------------------------------------------------------


def _alert(name: str) -> list[dict[str, Any]]:
    return [{"labels": {"alertname": name, "severity": "critical", "service": "vigil-controller"}}]


def _alert_names(stack: Stack) -> set[str]:
    alertmanager = stack.alertmanager
    response = httpx.get(
        f"{alertmanager.url}/api/v2/alerts", auth=alertmanager.credentials.pair(), timeout=5
    )
    response.raise_for_status()
    return {alert["labels"]["alertname"] for alert in response.json()}


def test_alertmanager_refuses_a_forged_alert(stack: Stack) -> None:
    """What a web page can send (a cross-origin POST, as JSON or as a form-encoded body, or
    with a wrong password) is refused with 401, and the forged alert never shows up."""
    url = f"{stack.alertmanager.url}/api/v2/alerts"
    forged = f"Forged{uuid.uuid4().hex[:8]}"
    body = json.dumps(_alert(forged))
    origin = {"Origin": "http://evil.example"}
    attempts = [
        httpx.post(url, content=body, headers={**origin, "Content-Type": "application/json"}),
        httpx.post(url, content=body, headers={**origin, "Content-Type": "text/plain"}),
        httpx.post(url, content=body, headers=origin, auth=("vigil", "not-the-password")),
    ]
    assert [response.status_code for response in attempts] == [401, 401, 401]
    assert httpx.get(url, timeout=5).status_code == 401, "reading alerts needs it too"
    time.sleep(1)
    assert forged not in _alert_names(stack)


def test_alertmanager_gives_a_web_page_no_way_around_the_password(stack: Stack) -> None:
    """Alertmanager still answers Access-Control-Allow-Origin: *, so a page's two ways in are
    closed otherwise: the preflight a browser sends before a cross-origin JSON POST gets 401
    (it carries no credentials), and the bodies a page may post without a preflight (forms,
    text/plain), even with credentials the browser may have cached, get 415: the API takes
    JSON only."""
    url = f"{stack.alertmanager.url}/api/v2/alerts"
    preflight = httpx.options(
        url,
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )
    assert preflight.status_code == 401
    forged = f"Cached{uuid.uuid4().hex[:8]}"
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = httpx.post(
            url,
            content=json.dumps(_alert(forged)),
            headers={"Origin": "http://evil.example", "Content-Type": content_type},
            auth=stack.alertmanager.credentials.pair(),
            timeout=5,
        )
        assert response.status_code == 415, content_type
    assert forged not in _alert_names(stack)


def test_alertmanager_api_works_with_the_password(stack: Stack) -> None:
    alertmanager = stack.alertmanager
    name = f"Genuine{uuid.uuid4().hex[:8]}"
    posted = httpx.post(
        f"{alertmanager.url}/api/v2/alerts",
        json=_alert(name),
        auth=alertmanager.credentials.pair(),
        timeout=5,
    )
    assert posted.status_code == 200, posted.text
    assert wait_for(f"{name} in Alertmanager", lambda: name in _alert_names(stack), timeout_s=10)


# --- SeaweedFS (S3) ---------------------------------------------------------------------------


def test_s3_refuses_anonymous_and_wrongly_signed_requests(stack: Stack) -> None:
    """The stack's S3 answers nothing without the generated credentials: an anonymous GET of
    the bucket and a request signed with a wrong secret get 403; the controller, with the
    right pair, keeps its artifacts there (an s3:// URI) and hands out presigned URLs that
    work, and refuses a changed one."""
    from vigil.artifacts import AccessDenied, S3ArtifactStore

    url = stack.seaweedfs.url
    bucket = stack.settings.s3_bucket
    assert httpx.get(f"{url}/{bucket}", timeout=5).status_code == 403
    access_key, _ = stack.seaweedfs.credentials()
    with (
        S3ArtifactStore(
            bucket, endpoint_url=url, access_key_id=access_key, secret_access_key="wrong"
        ) as wrong,
        pytest.raises(AccessDenied),
    ):
        wrong.check()

    headers = admin_headers(stack)
    base = stack.controller.url
    run = httpx.post(f"{base}/runs", json={"name": "s3", "agent": "a", "project_id": "p"},
                     headers=headers, timeout=10).json()  # fmt: skip
    record = httpx.post(
        f"{base}/runs/{run['id']}/artifacts",
        files={"file": ("frame.png", b"\x89PNG...", "image/png")},
        data={"kind": "image"},
        headers=headers,
        timeout=30,
    ).json()
    assert record["uri"].startswith(f"s3://{bucket}/runs/{run['id']}/")
    location = httpx.get(f"{base}{record['content_url']}", headers=headers, timeout=10).headers[
        "location"
    ]
    assert httpx.get(location, timeout=10).content == b"\x89PNG..."
    assert httpx.get(location.replace("frame.png", "other.png"), timeout=10).status_code == 403
    ready = httpx.get(f"{base}/health/ready", timeout=10).json()
    assert ready["checks"]["artifacts"]["status"] == "ok"


def test_backups_answer_the_ops_token_only(stack: Stack) -> None:
    """POST /ops/backup and GET /ops/backups on the live controller: nothing without the ops
    token (not even with the admin API key, nor with another secret of the stack); the token
    of secrets/ops_token lists the backups, which are in the bucket vigil-backups."""
    base = stack.controller.url
    for headers in (
        {},
        admin_headers(stack),
        {"Authorization": f"Bearer {_secret(stack, 'webhook_token')}"},
    ):
        assert httpx.post(f"{base}/ops/backup", headers=headers, timeout=10).status_code == 401
        assert httpx.get(f"{base}/ops/backups", headers=headers, timeout=10).status_code == 401
    ops = {"Authorization": f"Bearer {_secret(stack, 'ops_token')}"}
    listed = httpx.get(f"{base}/ops/backups", headers=ops, timeout=30)
    assert listed.status_code == 200, listed.text
    assert all(b["location"].startswith("s3://vigil-backups/") for b in listed.json())


# --- Files -----------------------------------------------------------------------------------


def test_logs_secrets_and_data_are_private(stack: Stack) -> None:
    """Log files and secrets are mode 600 in 700 directories; so are the parts' data and
    config directories (the state directory itself stays searchable, for PostgreSQL's
    account when run as root)."""
    root = stack.layout.root
    logs = sorted((root / "logs").iterdir())
    assert {p.name for p in logs} >= {f"{n}.log" for n in stack.urls()}
    secrets = sorted((root / "secrets").iterdir())
    assert {p.name for p in secrets} == {
        "webhook_token",
        "prometheus_password",
        "alertmanager_password",
        "postgres_password",
        "postgres_vigil_password",
        "postgres_readonly_password",
        "admin_key",
        "metrics_key",
        "s3_access_key_id",
        "s3_secret_access_key",
        "ops_token",
    }
    web_configs = [root / "prometheus" / "web.yml", root / "alertmanager" / "web.yml"]
    identities = root / "seaweedfs" / "identities.json"
    for path in [*logs, *secrets, *web_configs, identities]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    private_dirs = ["logs", "secrets", "postgres", "prometheus", "prometheus/data"]
    private_dirs += ["alertmanager", "alertmanager/data", "controller"]
    private_dirs += ["seaweedfs", "seaweedfs/data", "temporal"]
    for name in private_dirs:
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o700, name


def test_temporal_listens_on_the_loopback_only(stack: Stack) -> None:
    """The dev server has no authentication: each of its ports (frontend, HTTP API, metrics
    and its internal services' random ones) is bound to 127.0.0.1, none to all interfaces."""
    pid = stack.temporal.running_pid()
    assert pid is not None
    listening = [
        c.laddr
        for c in psutil.Process(pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert {address.port for address in listening} >= {
        stack.settings.temporal_port,
        stack.settings.temporal_http_port,
        stack.settings.temporal_metrics_port,
    }
    assert {address.ip for address in listening} == {"127.0.0.1"}


def test_status_shows_no_password(stack: Stack) -> None:
    """`vigil stack status` (table and JSON) names every part's URL, and no secret."""
    secrets = [path.read_text().strip() for path in stack.layout.secrets.iterdir()]
    status = [sys.executable, "-m", "vigil", "stack", "status", "--state-dir", stack.layout.root]
    for extra in ([], ["--json"]):
        result = subprocess.run(
            [*status, *extra],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert stack.postgres.url in result.stdout
        assert stack.seaweedfs.url in result.stdout
        for secret in secrets:
            assert secret not in result.stdout + result.stderr
