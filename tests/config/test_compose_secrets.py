"""The compose stack's secrets job and what its files are for, run here with real programs.

Docker cannot run here, so the job's module (what the secrets-init container runs) writes the
volume into a directory, and the real Prometheus 2.42 and Alertmanager 0.25 (Debian; the
compose images are 3.x and 0.34, same web config format, exporter-toolkit) start with the web
configs it wrote. Then the compose healthchecks, as the shell gets them (paths moved to that
directory), must pass with the job's password files and fail with a wrong one. wget here is GNU
wget, which sends the URL's credentials after the server's 401; the images' busybox wget sends
them at once: the same request succeeds either way.

File permissions are checked as the containers' users would meet them: `setpriv` runs `cat` as
each service's uid and gid (needs root, to change user; the job runs as root in compose too).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.ports import free_port

from vigil.stack.compose_secrets import CONTROLLER, NOBODY, POSTGRES, ROOT_GROUP

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.observability.yml"
# service -> (uid, gid, the files it reads): what test_compose.py derives from the compose file
# (test_each_service_reads_its_secrets_and_no_others), written out here to be tried for real.
READERS = {
    "prometheus": (
        NOBODY,
        NOBODY,
        {"prometheus_web.yml", "prometheus_password", "alertmanager_password", "metrics_key"},
    ),
    "alertmanager": (
        NOBODY,
        NOBODY,
        {"alertmanager_web.yml", "alertmanager_password", "webhook_token"},
    ),
    "controller": (
        CONTROLLER,
        CONTROLLER,
        {
            "webhook_token",
            "postgres_vigil_password",
            "admin_key",
            "metrics_key",
            "alertmanager_password",
            "ops_token",
        },
    ),
    "grafana": (472, ROOT_GROUP, {"prometheus_password", "postgres_readonly_password"}),
    "postgres": (
        POSTGRES,
        POSTGRES,
        {"postgres_password", "postgres_vigil_password", "postgres_readonly_password"},
    ),
}


def _binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the Debian package {package!r}", pytrace=False)
    return path


@pytest.fixture(scope="module")
def volume() -> Iterator[Path]:
    """The secrets volume as the job leaves it, in a directory every uid may enter."""
    directory = Path(tempfile.mkdtemp(prefix="vigil-compose-secrets-"))
    directory.chmod(0o755)
    chown = [] if os.geteuid() == 0 else ["--no-chown"]
    try:
        subprocess.run(
            [sys.executable, "-m", "vigil.stack.compose_secrets", str(directory / "v"), *chown],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield directory / "v"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _healthcheck(service: str, mount: str, secrets: Path, port: int) -> str:
    """The compose healthcheck of ``service`` as the shell gets it, aimed at this machine."""
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    test = compose["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    default_port = {"prometheus": 9090, "alertmanager": 9093}[service]
    script = str(test[1]).replace("$$", "$").replace(mount, str(secrets))
    return script.replace(f"127.0.0.1:{default_port}", f"127.0.0.1:{port}")


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)


def _wait_ready(url: str, auth: tuple[str, str], proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url, auth=auth, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"not ready: {url}\n{log.read_text()}")


def _server(name: str, volume: Path, tmp_path: Path, port: int) -> list[str]:
    if name == "prometheus":
        config = tmp_path / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 15s\n")
        return [
            _binary("prometheus", "prometheus"),
            f"--config.file={config}",
            f"--web.config.file={volume / 'prometheus_web.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        yaml.safe_dump({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]})
    )
    return [
        _binary("prometheus-alertmanager", "prometheus-alertmanager"),
        f"--config.file={config}",
        f"--web.config.file={volume / 'alertmanager_web.yml'}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]


@pytest.mark.parametrize(
    ("service", "mount"),
    [("prometheus", "/etc/prometheus/secrets"), ("alertmanager", "/etc/alertmanager/secrets")],
)
def test_web_config_and_healthcheck_work_together(
    volume: Path, tmp_path: Path, service: str, mount: str
) -> None:
    """The server started with the job's web config refuses a request without the password;
    the compose healthcheck passes with the job's password file, as the container's user
    (nobody) when the tests can switch users, and fails with a wrong password."""
    port = free_port()
    log = tmp_path / f"{service}.log"
    password = (volume / f"{service}_password").read_text().strip()
    proc = _start(_server(service, volume, tmp_path, port), log)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/-/ready", ("vigil", password), proc, log)
        assert httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=5).status_code == 401

        def healthcheck(secrets: Path) -> subprocess.CompletedProcess[str]:
            argv = ["sh", "-c", _healthcheck(service, mount, secrets, port)]
            if os.geteuid() == 0:
                argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
                argv += ["sh", "-c", _healthcheck(service, mount, secrets, port)]
            return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)

        passed = healthcheck(volume)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        wrong = tmp_path / "wrong"
        wrong.mkdir(mode=0o755)
        (wrong / f"{service}_password").write_text("not-the-password\n")
        (wrong / f"{service}_password").chmod(0o644)
        assert healthcheck(wrong).returncode != 0
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _cat_as(uid: int, gid: int, path: Path) -> bool:
    argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "cat", str(path)]
    return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to the containers' uids needs root")
@pytest.mark.parametrize("service", sorted(READERS))
def test_each_container_user_reads_its_files_only(volume: Path, service: str) -> None:
    """As the service's uid and gid (no supplementary groups, as in its container): every file
    it needs can be read; of the others, only those of another service with the same user."""
    uid, gid, needs = READERS[service]
    same_user = set().union(*(files for u, g, files in READERS.values() if (u, g) == (uid, gid)))
    files: dict[str, Any] = {path.name: path for path in volume.iterdir()}
    assert needs <= set(files)
    for name, path in files.items():
        readable = _cat_as(uid, gid, path)
        if name in needs:
            assert readable, f"{service} cannot read {name}"
        elif name not in same_user:
            assert not readable, f"{service} can read {name}"
