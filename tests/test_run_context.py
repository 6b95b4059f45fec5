"""vigil._run_context (public as vigil.sdk.run_context): the ContextVars behind execution-log
attribution."""

from __future__ import annotations

import pytest

from vigil.models import new_id
from vigil.sdk import current_run_id, current_step_id, run_context


def test_nested_contexts_restore_the_outer_one() -> None:
    outer, inner, step = new_id(), new_id(), new_id()
    with run_context(outer):
        with run_context(str(inner), step_id=str(step)):
            assert (current_run_id(), current_step_id()) == (inner, step)
        assert (current_run_id(), current_step_id()) == (outer, None)
    assert current_run_id() is None


def test_the_context_is_reset_when_the_block_raises() -> None:
    with pytest.raises(KeyError), run_context(new_id()):
        raise KeyError("x")
    assert current_run_id() is None


def test_an_instance_cannot_be_entered_twice_at_once() -> None:
    context = run_context(new_id())
    with context, pytest.raises(RuntimeError, match="already entered"), context:
        pass


def test_a_malformed_id_is_refused() -> None:
    with pytest.raises(ValueError, match="badly formed"):
        run_context("run-1")
