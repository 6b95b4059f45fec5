"""Span trees: built from any set of stored spans, never losing one, never too deep to
serialize."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from vigil.models import MAX_TRACE_DEPTH, RunTrace, Span, SpanNode, TraceTree, span_forest

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TRACE = "a" * 32


def span(n: int, parent: int | None, trace: str = TRACE) -> Span:
    return Span(
        trace_id=trace,
        span_id=f"{n:016x}",
        parent_span_id=None if parent is None else f"{parent:016x}",
        name=f"s{n}",
        kind="internal",
        service="svc",
        start_time=NOW,
        end_time=NOW,
        status="unset",
        status_message=None,
        attributes={},
        run_id=None,
        project_id=None,
    )


def shape(nodes: list[SpanNode]) -> list[object]:
    return [(node.name, shape(node.children)) for node in nodes]


def test_children_nest_under_their_parents_in_order() -> None:
    roots = span_forest([span(1, None), span(2, 1), span(3, 2), span(4, 1)])
    assert shape(roots) == [("s1", [("s2", [("s3", [])]), ("s4", [])])]


def test_a_span_whose_parent_is_elsewhere_is_a_root() -> None:
    """A parent in another service, unsampled or not arrived yet: the child is a root and
    still names its parent."""
    (root,) = span_forest([span(7, 99)])
    assert (root.name, root.parent_span_id) == ("s7", f"{99:016x}")


def test_a_forged_cycle_hides_no_span() -> None:
    roots = span_forest([span(1, None), span(5, 6), span(6, 5), span(8, 8)])
    assert sorted(node.name for node in roots) == ["s1", "s5", "s6", "s8"]


def test_a_deep_chain_is_cut_into_roots_that_serialize() -> None:
    chain = [span(1, None)] + [span(n, n - 1) for n in range(2, 1001)]
    tree = TraceTree.of(TRACE, chain)
    assert tree.span_count == 1000
    assert len(tree.roots) == 1000 // MAX_TRACE_DEPTH
    assert len(tree.model_dump_json()) > 0  # nesting stays under the serializer's cap

    def count(nodes: list[SpanNode]) -> int:
        return sum(1 + count(node.children) for node in nodes)

    assert count(tree.roots) == 1000


def test_a_runs_spans_group_by_trace() -> None:
    run_id = uuid4()
    other = "b" * 32
    result = RunTrace.of(run_id, [span(1, None), span(2, None, other), span(3, 1)])
    assert (result.run_id, result.span_count, result.truncated) == (run_id, 3, False)
    assert [(t.trace_id, shape(t.roots)) for t in result.traces] == [
        (TRACE, [("s1", [("s3", [])])]),
        (other, [("s2", [])]),
    ]
