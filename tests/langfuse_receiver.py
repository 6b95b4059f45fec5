"""A local stand-in for the Langfuse server's OTLP endpoint, at the protocol level: no Langfuse
server can run on the build machines, so this HTTP server receives the official SDK's real
OTLP/HTTP export and the tests decode it with the official ``opentelemetry-proto`` classes.

    with receiving_langfuse() as langfuse:      # or the ``langfuse_server`` fixture
        ... LANGFUSE_BASE_URL=langfuse.url ...
        spans = langfuse.spans()                 # every span of every export, decoded
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.ports import free_port

OTLP_PATH = "/api/public/otel/v1/traces"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ExportedSpan:
    scope: str
    span: Span
    attributes: dict[str, str]
    """String values of the span's attributes (what Langfuse's SDK sets)."""

    @property
    def trace_id(self) -> str:
        return self.span.trace_id.hex()

    @property
    def span_id(self) -> str:
        return self.span.span_id.hex()

    @property
    def parent_span_id(self) -> str | None:
        return self.span.parent_span_id.hex() or None


@dataclass
class FakeLangfuse:
    url: str
    requests: list[Received] = field(default_factory=list)

    def exports(self) -> list[Received]:
        return [r for r in self.requests if r.path == OTLP_PATH]

    def spans(self) -> list[ExportedSpan]:
        found = []
        for export in self.exports():
            request = ExportTraceServiceRequest()
            request.ParseFromString(export.body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = {a.key: a.value.string_value for a in span.attributes}
                        found.append(ExportedSpan(scope_spans.scope.name, span, attributes))
        return found


@contextmanager
def receiving_langfuse() -> Iterator[FakeLangfuse]:
    port = free_port()
    state = FakeLangfuse(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            state.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def do_GET(self) -> None:
            state.requests.append(Received(self.path, dict(self.headers), b""))
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
