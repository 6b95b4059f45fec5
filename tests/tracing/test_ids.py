"""Trace ids as text: W3C ``traceparent`` parsing, correlation ids, the current span's ids."""

from __future__ import annotations

import re

import pytest

from tests.tracing.conftest import CollectingExporter
from vigil.tracing import (
    TracingContext,
    current_trace_ids,
    format_traceparent,
    generate_correlation_id,
    parse_traceparent,
    setup_tracing,
)

HEX32 = re.compile(r"[0-9a-f]{32}")
VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_valid_traceparent_is_read() -> None:
    assert parse_traceparent(VALID) == (
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        1,
    )
    # A later version may append fields; surrounding blanks are allowed (W3C, 3.2.2).
    assert parse_traceparent(" 01-" + VALID[3:] + "-extra ") is not None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        VALID.upper(),  # hex must be lowercase
        VALID[:-1],  # flags cut short
        VALID + "-extra",  # version 00 has exactly four fields
        "ff" + VALID[2:],  # version ff is invalid
        "00-" + "0" * 32 + "-b7ad6b7169203331-01",  # all-zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-" + "0" * 16 + "-01",  # all-zero span id
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nx: y",
    ],
)
def test_a_malformed_traceparent_is_none(value: str) -> None:
    assert parse_traceparent(value) is None


def test_format_traceparent_round_trips() -> None:
    assert format_traceparent(*parse_traceparent(VALID)[:2], sampled=True) == VALID  # type: ignore[misc]


def test_correlation_id_is_random_outside_a_span() -> None:
    first, second = generate_correlation_id(), generate_correlation_id()
    assert HEX32.fullmatch(first)
    assert first != second
    assert current_trace_ids() is None


def test_correlation_id_is_the_trace_id_inside_a_span(collected: CollectingExporter) -> None:
    setup_tracing("ids", exporters=[collected], langfuse=False)
    with TracingContext("work") as ctx:
        assert generate_correlation_id() == ctx.trace_id
        assert current_trace_ids() == (ctx.trace_id, ctx.span_id)
    assert current_trace_ids() is None
