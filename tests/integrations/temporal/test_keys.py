"""The ids an execution is recorded under: stable, distinct, time-ordered like UUIDv7, and a
correlation id Vigil accepts for any workflow id."""

import re
import uuid

from vigil.integrations.temporal import correlation_id, derived_id
from vigil.integrations.temporal._keys import phase
from vigil.models._types import IDENTIFIER_PATTERN

RUN = "01a23139-3585-77b3-b5c2-5ee0be3e2be8"  # a run id the 1.32 dev server made (UUIDv7)


def test_derived_ids_are_stable_distinct_and_carry_the_run_ids_time() -> None:
    first = derived_id("default", "order-7", RUN, "attempt", "2", 1)
    assert first == derived_id("default", "order-7", RUN, "attempt", "2", 1)
    others = {
        derived_id("default", "order-7", RUN, "attempt", "2", 2),
        derived_id("default", "order-7", RUN, "attempt", "3", 1),
        derived_id("other", "order-7", RUN, "attempt", "2", 1),
        derived_id("default", "order-8", RUN, "attempt", "2", 1),
    }
    assert first not in others
    assert len(others) == 4
    assert first.version == 7
    assert first.variant == uuid.RFC_4122
    assert first.int >> 80 == uuid.UUID(RUN).int >> 80  # the same 48-bit millisecond time


def test_a_run_id_of_another_kind_still_gives_a_stable_id() -> None:
    run = str(uuid.uuid4())
    assert derived_id("default", "w", run, "run") == derived_id("default", "w", run, "run")
    assert derived_id("default", "w", "not-a-uuid", "run").version == 7


def test_correlation_ids_fit_vigils_identifier_rule() -> None:
    assert correlation_id("order-7", RUN) == f"order-7:{RUN}"
    odd = correlation_id("order 7/é", RUN)
    assert odd.startswith("sha256-")
    assert odd.endswith(f":{RUN}")
    assert odd == correlation_id("order 7/é", RUN)
    long = correlation_id("x" * 200, RUN)
    for value in (odd, long):
        assert re.fullmatch(IDENTIFIER_PATTERN, value), value


def test_phases_fit_the_phase_rule() -> None:
    assert phase("activity", "CallModel") == "activity.callmodel"
    assert phase("activity", "lookup order!") == "activity.lookup_order"
    assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", phase("activity", "X" * 100))
