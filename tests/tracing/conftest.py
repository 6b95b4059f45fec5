"""Fixtures of the tracing tests: a process with no TracerProvider (before and after each
test), spans collected in memory, and reading what the SDK exported."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class CollectingExporter(SpanExporter):
    """Keeps every exported span."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def names(self) -> list[str]:
        return [span.name for span in self.spans]


@pytest.fixture(autouse=True)
def _no_tracer_provider(fresh_tracing: None) -> None:
    """Every tracing test starts and ends without a TracerProvider (``fresh_tracing``)."""


@pytest.fixture
def collected() -> CollectingExporter:
    return CollectingExporter()
