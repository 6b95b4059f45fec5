"""The overhead benchmark's variants: the peers' pins, their environment, and a ``bare``
that is really bare (benchmarks/instrumentation_overhead.py, peer_apps.py, overhead_apps.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from benchmarks.instrumentation_overhead import (
    DIAGNOSTICS,
    PEERS,
    PEERS_REQUIREMENTS,
    PEERS_VENV,
    VARIANTS,
    tree_of,
    variant_names,
)

from tests.python_runs import run_python

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[a-z,]+\])?==(\S+)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _peer_pins() -> dict[str, str]:
    pins = {}
    for line in PEERS_REQUIREMENTS.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            match = PIN.match(line)
            assert match is not None, f"not an exact pin: {line!r}"
            pins[_canonical(match[1])] = match[2]
    return pins


def test_the_peers_run_on_the_stack_vigil_runs_on() -> None:
    """Every package of the peers' environment that Vigil's has too is at the version Vigil's
    pins (pyproject.toml) and its install resolved: otherwise the table compares FastAPIs."""
    pins = _peer_pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    deps = [*project["dependencies"], *(dep for extra in extras for dep in extra)]
    pyproject = {}
    for dep in deps:
        match = PIN.match(dep.split(";")[0].strip())
        if match is not None and "*" not in match[2]:  # pydantic==2.*: the install's, below
            pyproject[_canonical(match[1])] = match[2]
    shared = [name for name in pins if name in pyproject]
    assert {"fastapi", "starlette", "uvicorn"} <= set(shared)
    assert {name: pins[name] for name in shared} == {name: pyproject[name] for name in shared}
    installed = {}
    for name in pins:
        try:
            installed[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a peer: not in Vigil's environment
    assert len(installed) >= 12
    assert {name: pins[name] for name in installed} == installed


def test_peers_come_last_and_are_served_from_their_environment() -> None:
    names = variant_names("bare-quiet,instrumented", None, peers=True)
    assert names == ["bare-quiet", "instrumented", *PEERS]
    for name in PEERS:
        assert PEERS[name].command()[0] == str(PEERS_VENV / "bin" / "python")
    assert all(variant.command()[0] == sys.executable for variant in VARIANTS.values())


def test_another_checkout_is_measured_beside_each_compared_variant(tmp_path: Path) -> None:
    names = variant_names("bare-quiet,instrumented,tracing", tmp_path)
    assert names == [
        "bare-quiet", "instrumented", "instrumented-before", "tracing", "tracing-before",
    ]  # fmt: skip
    assert [tree_of(name, tmp_path) for name in names] == [ROOT, ROOT, tmp_path, ROOT, tmp_path]
    assert variant_names("bare-quiet", tmp_path) == ["bare-quiet", "instrumented-before"]


def test_bare_keeps_uvicorns_access_log() -> None:
    """Finding: building the instrumented app at import configured logging for the process
    (uvicorn's access log off), so ``bare`` was quiet too; and ``--log-level warning`` hid
    its access lines anyway. ``bare`` now logs as uvicorn's defaults do."""
    assert VARIANTS["bare"].log_level == "info"
    assert "--no-access-log" not in VARIANTS["bare"].extra
    probe = (
        "import logging, benchmarks.overhead_apps as apps; apps.bare; "
        "print(len(logging.getLogger().handlers), logging.getLogger('uvicorn.access').disabled)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["0", "False"]


def probe_result(probe: str) -> tuple[list[str], str]:
    """The fields of the ``RESULT`` line a probe program printed (its other lines are its
    logs), and all it printed."""
    out = run_python(probe)
    (result,) = (line for line in out.splitlines() if line.startswith("RESULT "))
    return result.split()[1:], out


def test_the_null_export_diagnostic_runs_by_name_and_keeps_the_sdk_out_of_bare() -> None:
    """``tracing-null`` is measured only when asked for, and serves requests with spans made;
    the module the bare app comes from does not load the OpenTelemetry SDK for it (a bigger
    heap would make ``bare`` slower)."""
    assert "tracing-null" in DIAGNOSTICS
    assert "tracing-null" not in VARIANTS
    assert variant_names("bare-quiet,tracing-null", None) == ["bare-quiet", "tracing-null"]
    probe = (
        "import sys, benchmarks.overhead_apps as apps; apps.bare; "
        "bare_loaded = 'opentelemetry.sdk.trace' in sys.modules; "
        "from fastapi.testclient import TestClient; "
        "response = TestClient(apps.traced_null).get('/items/abc123'); "
        "from opentelemetry import trace; "
        "provider = type(trace.get_tracer_provider()).__module__; "
        "print('RESULT', bare_loaded, response.status_code, provider)"
    )
    result, _ = probe_result(probe)
    assert result == ["False", "200", "opentelemetry.sdk.trace"]


def test_the_breakdown_diagnostics_serve_by_name() -> None:
    """``passthrough`` adds a layer that does nothing, ``instrumented-quiet`` turns the
    access record off and keeps the rest: both are measured only when asked for, and
    ``instructions_per_request.py`` serves them too."""
    assert {"passthrough", "instrumented-quiet"} <= DIAGNOSTICS.keys()
    assert not {"passthrough", "instrumented-quiet"} & VARIANTS.keys()
    probe = (
        "import benchmarks.overhead_apps as apps; "
        "from fastapi.testclient import TestClient; "
        "from vigil.instrumentation.json_logging import flush_logs; "
        "layers = [m.cls.__name__ for m in apps.passthrough.user_middleware]; "
        "quiet = TestClient(apps.instrumented_quiet).get('/items/abc123'); "
        "flush_logs(); "
        "print('RESULT', ','.join(layers), quiet.status_code, 'x-request-id' in quiet.headers)"
    )
    result, out = probe_result(probe)
    assert result == ["PassThrough", "200", "True"]
    assert '"vigil.access"' not in out  # the quiet app wrote no access line
