"""Contract-test plumbing."""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """schemathesis 4.32.5's lazy loader (``schemathesis.pytest.from_fixture``) reads and
    renames ``request.node._nodeid``, an attribute pytest 9 removed (its node ids live in
    ``_id`` now; pytest-benchmark hit the same: ionelmc/pytest-benchmark#321). Give the
    item the attribute it reads; the renaming then only loses the per-operation suffix in
    reports, and each operation still runs as a subtest of the backend's test."""
    if not hasattr(item, "_nodeid"):
        item._nodeid = item.nodeid  # type: ignore[attr-defined]
