"""Zero-click setup of the compose stack's log store: run by its one-shot setup jobs.

    python setup.py elasticsearch   # ILM policy, ingest pipeline, index template
    python setup.py kibana          # the "Vigil logs" data view, made Kibana's default

Every call replaces the whole object (PUT, or a POST with ``override``), so running it again
changes nothing. Connection failures and 5xx answers (a node or Kibana still starting) are
retried until ``--timeout``; a 4xx answer means a body is wrong and fails at once with the
server's reason. Only the Python standard library is used: the job runs on a bare Python image.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KIBANA_DIR = HERE.parent / "kibana"

POLICY = "vigil-logs"
PIPELINE = "vigil-logs"
TEMPLATE = "vigil-logs"


class SetupError(Exception):
    """A request the server refused, or that did not succeed before the deadline."""


@dataclass(frozen=True)
class Call:
    """One idempotent request of the setup."""

    method: str
    path: str
    body: dict[str, Any]
    what: str


def elasticsearch_calls(directory: Path = HERE) -> list[Call]:
    """The ILM policy and ingest pipeline first: the index template names both."""
    return [
        Call("PUT", f"/_ilm/policy/{POLICY}", _load(directory / "ilm-policy.json"), "ILM policy"),
        Call(
            "PUT",
            f"/_ingest/pipeline/{PIPELINE}",
            _load(directory / "ingest-pipeline.json"),
            "ingest pipeline",
        ),
        Call(
            "PUT",
            f"/_index_template/{TEMPLATE}",
            _load(directory / "index-template.json"),
            "index template",
        ),
    ]


def kibana_calls(directory: Path = KIBANA_DIR) -> list[Call]:
    """The data view (overwritten if it exists), then the default data view pointing at it."""
    data_view = _load(directory / "data-view.json")
    view_id = data_view["data_view"]["id"]
    return [
        Call("POST", "/api/data_views/data_view", data_view, "data view"),
        Call(
            "POST",
            "/api/data_views/default",
            {"data_view_id": view_id, "force": True},
            "default data view",
        ),
    ]


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SetupError(f"{path}: expected a JSON object")
    return data


def send(base_url: str, call: Call, headers: dict[str, str], timeout: float) -> int:
    """Send one call; the HTTP status on success, :class:`urllib.error.HTTPError` otherwise."""
    request = urllib.request.Request(  # noqa: S310 - the URL comes from the job's own settings
        base_url.rstrip("/") + call.path,
        data=json.dumps(call.body).encode(),
        method=call.method,
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return int(response.status)


def run(
    base_url: str,
    calls: list[Call],
    *,
    headers: dict[str, str] | None = None,
    deadline_s: float = 300.0,
    retry_every_s: float = 3.0,
    log: Callable[[str], None] = print,
) -> None:
    """Send every call in order, retrying each until it succeeds or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    for call in calls:
        while True:
            try:
                status = send(base_url, call, headers or {}, timeout=10.0)
            except urllib.error.HTTPError as exc:
                reason = exc.read().decode(errors="replace")[:2000]
                if exc.code < 500:
                    message = f"{call.what}: {call.method} {call.path} -> {exc.code}: {reason}"
                    raise SetupError(message) from None
                problem = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                problem = str(getattr(exc, "reason", exc))
            else:
                log(f"{call.what}: {call.method} {call.path} -> {status}")
                break
            if time.monotonic() >= deadline:
                message = f"{call.what}: {call.method} {call.path}: {problem} until the deadline"
                raise SetupError(message)
            log(f"{call.what}: {problem}; retrying in {retry_every_s:g}s")
            time.sleep(retry_every_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["elasticsearch", "kibana"])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to keep retrying")
    args = parser.parse_args(argv)
    try:
        if args.target == "elasticsearch":
            url = os.environ.get("ELASTICSEARCH_URL", "http://elasticsearch:9200")
            run(url, elasticsearch_calls(), deadline_s=args.timeout)
        else:
            url = os.environ.get("KIBANA_URL", "http://kibana:5601")
            # Kibana refuses state-changing API calls without this header (CSRF protection).
            run(url, kibana_calls(), headers={"kbn-xsrf": "true"}, deadline_s=args.timeout)
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
