"""The request-duration histogram: the exposition a prometheus_client Histogram gives."""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

from vigil.instrumentation.latency_histogram import FOLD_AT, LatencyHistogram
from vigil.instrumentation.red_metrics import DURATION_BUCKETS

LABELS = ("service", "endpoint")


def pair() -> tuple[CollectorRegistry, LatencyHistogram, CollectorRegistry, Histogram]:
    ours_registry, reference_registry = CollectorRegistry(), CollectorRegistry()
    ours = LatencyHistogram("latency_seconds", "How long.", LABELS, DURATION_BUCKETS)
    ours_registry.register(ours)
    reference = Histogram(
        "latency_seconds", "How long.", LABELS, buckets=DURATION_BUCKETS,
        registry=reference_registry,
    )  # fmt: skip
    return ours_registry, ours, reference_registry, reference


def without_created(exposition: bytes) -> list[str]:
    """The lines, the creation times left out (two objects are not made at one instant)."""
    return [line for line in exposition.decode().splitlines() if "_created" not in line]


observations = st.lists(
    st.tuples(
        st.sampled_from([("svc", "/a"), ("svc", "/b/{id}"), ("other", "/a")]),
        st.one_of(
            st.sampled_from([0.0, *DURATION_BUCKETS, 10.5]),  # on the edges, and past the last
            st.floats(min_value=0, max_value=30, allow_nan=False),
        ),
        st.one_of(st.none(), st.text("0123456789abcdef", min_size=32, max_size=32)),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(observations)
def test_exposition_is_the_prometheus_histograms(
    observed: list[tuple[tuple[str, str], float, str | None]],
) -> None:
    """Any observations, with and without exemplars, on bucket edges or not: the same text
    and OpenMetrics exposition as prometheus_client's Histogram (exemplars included, which
    only OpenMetrics shows), the creation times apart."""
    ours_registry, ours, reference_registry, reference = pair()
    for labels, seconds, trace_id in observed:
        waiting = ours.waiting(labels)
        if trace_id is None:
            waiting.append(seconds)
            reference.labels(*labels).observe(seconds)
        else:
            waiting.append((seconds, trace_id, 1_700_000_000.5))
            child = reference.labels(*labels)
            child.observe(seconds, {"trace_id": trace_id})
    for render in (generate_latest, openmetrics_latest):
        mine = without_created(render(ours_registry))
        theirs = without_created(render(reference_registry))
        if render is openmetrics_latest:  # the reference's exemplars carry their own clock
            theirs = [line.rsplit(" ", 1)[0] if " # {" in line else line for line in theirs]
            mine = [line.rsplit(" ", 1)[0] if " # {" in line else line for line in mine]
        assert mine == theirs


def test_created_series_are_exposed() -> None:
    """Each series has its _created sample, as the Histogram's children do."""
    ours_registry, ours, _, _ = pair()
    ours.waiting(("svc", "/a")).append(0.2)
    created = ours_registry.get_sample_value(
        "latency_seconds_created", {"service": "svc", "endpoint": "/a"}
    )
    assert created is not None
    assert created > 1_600_000_000


def test_observations_fold_without_a_scrape() -> None:
    """Memory is bounded without scrapes: a series never keeps more than FOLD_AT waiting
    once the observer folds at that length (as RedMetrics.observe does)."""
    _, ours, _, _ = pair()
    waiting = ours.waiting(("svc", "/a"))
    for _ in range(3 * FOLD_AT):
        waiting.append(0.003)
        if len(waiting) >= FOLD_AT:
            ours.fold()
        assert len(waiting) < FOLD_AT
    [(labels, count, _)] = ours.counts()
    assert (labels, count) == (("svc", "/a"), 3.0 * FOLD_AT)


def test_threads_lose_no_observation() -> None:
    """Eight threads observing and folding at once, with scrapes between: every
    observation is counted once."""
    ours_registry, ours, _, _ = pair()
    per_thread = 5 * FOLD_AT

    def observe() -> None:
        waiting = ours.waiting(("svc", "/a"))
        for _ in range(per_thread):
            waiting.append(0.004)
            if len(waiting) >= FOLD_AT:
                ours.fold()

    threads = [threading.Thread(target=observe) for _ in range(8)]
    for thread in threads:
        thread.start()
    for _ in range(20):
        generate_latest(ours_registry)
    for thread in threads:
        thread.join()
    at = {"service": "svc", "endpoint": "/a"}
    assert ours_registry.get_sample_value("latency_seconds_count", at) == 8 * per_thread
    assert ours_registry.get_sample_value("latency_seconds_sum", at) == pytest.approx(
        8 * per_thread * 0.004
    )


def test_wrong_label_count_and_bad_buckets_are_refused() -> None:
    _, ours, _, _ = pair()
    with pytest.raises(ValueError, match="2 label values"):
        ours.waiting(("svc",))
    with pytest.raises(ValueError, match="increasing"):
        LatencyHistogram("x", "x", LABELS, (0.5, 0.1))


def test_a_second_registration_of_the_name_is_refused() -> None:
    ours_registry, _, _, _ = pair()
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Histogram("latency_seconds", "again", registry=ours_registry)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_a_forked_child_gets_a_free_lock() -> None:
    """A fold under way in another thread at the fork leaves the child's lock held: the
    child gets a new one and can fold and scrape."""
    ours_registry, ours, _, _ = pair()
    ours.waiting(("svc", "/a")).append(0.1)
    with ours._lock:
        pid = os.fork()
        if pid == 0:  # the child: exit code 0 if a scrape works
            ok = False
            try:
                ok = b"latency_seconds_count" in generate_latest(ours_registry)
            finally:
                os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
