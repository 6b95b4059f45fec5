"""Zero-click setup of the compose stack's log store: run by its one-shot setup jobs.

    python setup.py elasticsearch   # ILM policy, ingest pipeline, index template
    python setup.py kibana          # the "Vigil logs" data view (Kibana's default), and the
                                    # saved search and dashboard of kibana/saved-objects.ndjson

Elasticsearch is set up through the official client (``elasticsearch``, pinned to the
server's version: its major must match the server's, python-facts.md), Kibana, which has no
official Python client, through httpx. Every call replaces the whole object (PUT, a POST with
``override``, an import with ``overwrite``), so running it again changes nothing. Connection
failures and 5xx answers (a node or Kibana still starting) are retried until ``--timeout``;
a 4xx answer means a body is wrong and fails at once with the server's reason. The jobs run
on the controller image, which has both clients.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

HERE = Path(__file__).resolve().parent
KIBANA_DIR = HERE.parent / "kibana"

POLICY = "vigil-logs"
PIPELINE = "vigil-logs"
TEMPLATE = "vigil-logs"
SAVED_OBJECTS = "saved-objects.ndjson"


class SetupError(Exception):
    """A request the server refused, or that did not succeed before the deadline."""


class UnavailableError(Exception):
    """The server did not answer, or answered 5xx: try again."""


@dataclass(frozen=True)
class Call:
    """One idempotent step of the setup."""

    what: str
    send: Callable[[], str]
    """Performs the request; returns a line for the log; raises ``UnavailableError`` to retry,
    ``SetupError`` to fail."""


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SetupError(f"{path}: expected a JSON object")
    return data


def _es(what: str, request: Callable[[], Any]) -> Callable[[], str]:
    def send() -> str:
        try:
            response = request()
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise UnavailableError(type(exc).__name__) from None
        except ApiError as exc:
            if exc.meta.status >= 500:
                raise UnavailableError(f"HTTP {exc.meta.status}") from None
            raise SetupError(f"{what}: HTTP {exc.meta.status}: {str(exc.body)[:2000]}") from None
        return f"{what}: {response.meta.status}"

    return send


def elasticsearch_calls(client: Elasticsearch, directory: Path = HERE) -> list[Call]:
    """The ILM policy and ingest pipeline first: the index template names both."""
    policy = _load(directory / "ilm-policy.json")
    pipeline = _load(directory / "ingest-pipeline.json")
    template = _load(directory / "index-template.json")
    return [
        Call(
            "ILM policy",
            _es("ILM policy", lambda: client.ilm.put_lifecycle(name=POLICY, body=policy)),
        ),
        Call(
            "ingest pipeline",
            _es("ingest pipeline", lambda: client.ingest.put_pipeline(id=PIPELINE, body=pipeline)),
        ),
        Call(
            "index template",
            _es(
                "index template",
                lambda: client.indices.put_index_template(name=TEMPLATE, body=template),
            ),
        ),
    ]


def _kibana(what: str, request: Callable[[], httpx.Response]) -> Callable[[], str]:
    def send() -> str:
        try:
            response = request()
        except httpx.TransportError as exc:
            raise UnavailableError(type(exc).__name__) from None
        if response.status_code >= 500:
            raise UnavailableError(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SetupError(f"{what}: HTTP {response.status_code}: {response.text[:2000]}")
        if what == "saved objects" and not response.json().get("success", False):
            raise SetupError(f"{what}: the import failed: {response.text[:2000]}")
        return f"{what}: {response.status_code}"

    return send


def kibana_calls(client: httpx.Client, directory: Path = KIBANA_DIR) -> list[Call]:
    """The data view (overwritten if it exists), the default data view pointing at it, then
    the saved search and dashboard that use it (fixed ids: overwritten on import)."""
    data_view = _load(directory / "data-view.json")
    view_id = data_view["data_view"]["id"]
    objects = (directory / SAVED_OBJECTS).read_bytes()
    return [
        Call(
            "data view",
            _kibana("data view", lambda: client.post("/api/data_views/data_view", json=data_view)),
        ),
        Call(
            "default data view",
            _kibana(
                "default data view",
                lambda: client.post(
                    "/api/data_views/default", json={"data_view_id": view_id, "force": True}
                ),
            ),
        ),
        Call(
            "saved objects",
            _kibana(
                "saved objects",
                lambda: client.post(
                    "/api/saved_objects/_import",
                    params={"overwrite": "true"},
                    files={"file": (SAVED_OBJECTS, objects, "application/ndjson")},
                ),
            ),
        ),
    ]


def run(
    calls: list[Call],
    *,
    deadline_s: float = 300.0,
    retry_every_s: float = 3.0,
    log: Callable[[str], None] = print,
) -> None:
    """Perform every call in order, retrying each until it succeeds or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    for call in calls:
        while True:
            try:
                log(call.send())
                break
            except UnavailableError as exc:
                if time.monotonic() >= deadline:
                    raise SetupError(f"{call.what}: {exc} until the deadline") from None
                log(f"{call.what}: {exc}; retrying in {retry_every_s:g}s")
                time.sleep(retry_every_s)


def elasticsearch_client(url: str) -> Elasticsearch:
    # The job does its own retrying (with a pause, until its deadline).
    return Elasticsearch(url, request_timeout=10, max_retries=0, retry_on_timeout=False)


def kibana_client(url: str) -> httpx.Client:
    # Kibana refuses state-changing API calls without this header (CSRF protection).
    return httpx.Client(base_url=url, headers={"kbn-xsrf": "true"}, timeout=10.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["elasticsearch", "kibana"])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to keep retrying")
    args = parser.parse_args(argv)
    try:
        if args.target == "elasticsearch":
            url = os.environ.get("ELASTICSEARCH_URL", "http://elasticsearch:9200")
            with elasticsearch_client(url) as client:
                run(elasticsearch_calls(client), deadline_s=args.timeout)
        else:
            url = os.environ.get("KIBANA_URL", "http://kibana:5601")
            with kibana_client(url) as client:
                run(kibana_calls(client), deadline_s=args.timeout)
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
