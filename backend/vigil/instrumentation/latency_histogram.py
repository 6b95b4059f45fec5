"""The request-duration histogram: observations queued per series, put in buckets in batches.

prometheus_client's ``Histogram.observe`` takes two locks and walks the buckets in Python on
every call (~2 us a request here, ``benchmarks/instructions_per_request.py``). This histogram
appends the duration to its series' deque instead (one C call; ``deque.append`` is
thread-safe, the ``collections`` documentation says so) and sorts what waits into buckets,
under a lock, with ``bisect``: when a scrape reads the histogram, or when
:data:`FOLD_AT` observations wait in one series, so that memory stays bounded without
scrapes. A scrape therefore sees every observation made before it.

The exposition is the one a prometheus_client ``Histogram`` with these labels and buckets
gives, in the text format and in OpenMetrics: cumulative ``_bucket`` samples (``le`` as
prometheus_client writes it), ``_count``, ``_sum``, ``_created`` (unless
``PROMETHEUS_DISABLE_CREATED_SERIES`` turns created series off), and per bucket the exemplar
of the last observation that had one. ``tests/instrumentation/test_latency_histogram.py``
pins it against ``Histogram``.
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator, Sequence

from prometheus_client import metrics as _prometheus_metrics
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

FOLD_AT = 1024
"""Observations that may wait in one series before the observing call sorts them in."""

Observation = float | tuple[float, str, float]
"""A duration, or (duration, trace id, unix time) for one with an exemplar."""


class _Series:
    """One label set: what waits, and the bucket counts, sum and exemplars so far."""

    __slots__ = ("counts", "created", "exemplars", "sum", "waiting")

    def __init__(self, buckets: int) -> None:
        self.waiting: deque[Observation] = deque()
        self.counts = [0] * buckets
        self.exemplars: list[Exemplar | None] = [None] * buckets
        self.sum = 0.0
        self.created = time.time()


class LatencyHistogram(Collector):
    """A histogram over ``labelnames`` whose observations are appended to a deque per series
    (:meth:`waiting`) and sorted into ``buckets`` when read or when :data:`FOLD_AT` wait."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        exemplar_label: str = "trace_id",
    ) -> None:
        bounds = [float(bound) for bound in buckets]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("buckets must be in increasing order")
        if not bounds or bounds[-1] != math.inf:
            bounds.append(math.inf)
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._bounds = bounds
        self._le = [floatToGoString(bound) for bound in bounds]  # type: ignore[no-untyped-call]
        self._exemplar_label = exemplar_label
        self._series: dict[tuple[str, ...], _Series] = {}
        self._lock = threading.Lock()
        _in_forked_children.add(self)

    def waiting(self, labels: tuple[str, ...]) -> deque[Observation]:
        """The deque of the series ``labels`` (made on first use): append a duration, or
        (duration, trace id, time.time()) for an exemplar; then call :meth:`fold` when its
        length reaches :data:`FOLD_AT`."""
        series = self._series.get(labels)
        if series is None:
            if len(labels) != len(self.labelnames):
                raise ValueError(f"{self.name} takes {len(self.labelnames)} label values")
            with self._lock:
                series = self._series.setdefault(labels, _Series(len(self._bounds)))
        return series.waiting

    def fold(self) -> None:
        """Sort what waits, in every series, into buckets."""
        with self._lock:
            for series in list(self._series.values()):
                self._fold(series)

    def _fold(self, series: _Series) -> None:
        waiting, counts, bounds = series.waiting, series.counts, self._bounds
        take, total = waiting.popleft, 0.0
        latest: dict[int, tuple[float, str, float]] = {}
        for _ in range(len(waiting)):  # what came before now; later appends wait
            observed = take()
            if not isinstance(observed, tuple):  # (a C type check, as cheap as type() is)
                counts[bisect_left(bounds, observed)] += 1
                total += observed
            else:
                value = observed[0]
                bucket = bisect_left(bounds, value)
                counts[bucket] += 1
                total += value
                latest[bucket] = observed
        series.sum += total
        # A bucket keeps the exemplar of its last observation that had one: made once per
        # bucket and fold, not for every traced request (a dict and a NamedTuple each).
        for bucket, (value, trace_id, at) in latest.items():
            series.exemplars[bucket] = Exemplar({self._exemplar_label: trace_id}, value, at)

    def counts(self) -> Iterator[tuple[tuple[str, ...], float, float]]:
        """(label values, observations, created) of each series, after a fold."""
        self.fold()
        for labels, series in list(self._series.items()):
            yield labels, float(sum(series.counts)), series.created

    def describe(self) -> Iterator[Metric]:  # the names, for the registry's duplicate check
        yield Metric(self.name, self.documentation, "histogram")

    def collect(self) -> Iterator[Metric]:
        self.fold()
        metric = Metric(self.name, self.documentation, "histogram")
        created_series = _prometheus_metrics._use_created
        for labels, series in list(self._series.items()):
            named = dict(zip(self.labelnames, labels, strict=True))
            cumulative = 0.0
            for le, count, exemplar in zip(self._le, series.counts, series.exemplars, strict=True):
                cumulative += count
                metric.add_sample(
                    f"{self.name}_bucket", {**named, "le": le}, cumulative, exemplar=exemplar
                )
            metric.add_sample(f"{self.name}_count", named, cumulative)
            if self._bounds[0] >= 0:
                metric.add_sample(f"{self.name}_sum", named, series.sum)
            if created_series:
                metric.add_sample(f"{self.name}_created", named, series.created)
        yield metric


_in_forked_children: weakref.WeakSet[LatencyHistogram] = weakref.WeakSet()


def _new_locks_in_child() -> None:
    """A lock held by another thread at the fork would never be released in the child."""
    for histogram in list(_in_forked_children):
        histogram._lock = threading.Lock()


os.register_at_fork(after_in_child=_new_locks_in_child)
