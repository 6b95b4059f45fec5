"""Nothing accepted is lost (issue 10): the SDK with a spool against real faults.

Each test breaks something real: the suite's PostgreSQL stopped with ``pg_ctl``, the
controller (``python -m vigil serve``) killed with SIGKILL, its answers lost by a TCP proxy,
the agent's own process killed with SIGKILL. Afterwards every step is stored exactly once,
in recording order: a run's step numbers are 1..N without gaps or repeats, and step ``seq``
holds the ``i`` recorded ``seq - 1``-th. Each test prints its figures (``pytest -s``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from uuid import UUID

import pytest
from prometheus_client import CollectorRegistry

from tests.controller_process import ROOT, ControllerProcess
from tests.pg_server import PostgresServer
from tests.ports import free_port
from tests.sdk.conftest import RecorderFactory, dropped, sample, wait_until
from tests.sdk.lossy_proxy import LossyProxy
from vigil.models import (
    BatchEvent,
    BatchWriteResult,
    Run,
    RunCreate,
    RunFinish,
    Step,
    StepType,
)
from vigil.sdk import DropReason, EventSink, HttpSink, StoreSink
from vigil.storage import open_store, upgrade

EVENTS = 20_000
OUTAGE_S = 30.0


def stored_steps(url: str, run_id: UUID) -> list[Step]:
    """Every stored step row of the run, in ``seq`` order."""
    steps: list[Step] = []
    with open_store(url) as store:
        while page := store.list_steps(
            run_id, after_seq=steps[-1].seq if steps else 0, limit=1_000
        ):
            steps += page
    return steps


def assert_exactly_once(steps: Sequence[Step], count: int) -> None:
    """``count`` rows, numbered 1..count, and step n is the one recorded n-th."""
    assert len(steps) == count, f"{len(steps)} rows for {count} recorded steps"
    assert [s.seq for s in steps] == list(range(1, count + 1))
    assert [s.data["i"] for s in steps] == list(range(count))


def total_dropped(registry: CollectorRegistry) -> float:
    return sum(dropped(registry, reason.value) for reason in DropReason)


def new_run(url: str) -> Run:
    upgrade(url)
    with open_store(url) as store:
        return store.create_run(RunCreate(name="faults", agent="agent", project_id="p1"))


@pytest.fixture
def controller(store_url: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    """The controller as a process on a fixed port, on each backend; not started yet."""
    process = ControllerProcess(store_url, tmp_path / "controller", free_port())
    try:
        yield process
    finally:
        process.stop()


def produce(
    log_step: Callable[..., bool], run_id: UUID, count: int, seconds: float
) -> threading.Thread:
    """A thread recording ``count`` steps at a steady pace over ``seconds`` (0: at once)."""

    def run() -> None:
        started = time.monotonic()
        for i in range(count):
            log_step(run_id, StepType.TOOL_CALL, "search", {"i": i})
            if seconds and i % 50 == 49:
                ahead = started + seconds * (i + 1) / count - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# PostgreSQL stopped -------------------------------------------------------------------------


def pg_ctl_stop(server: PostgresServer) -> None:
    # tests/pg_server.py has no stop that keeps the data directory; its runner does the rest.
    server._run("pg_ctl", "-D", str(server.data_dir), "-m", "fast", "-w", "stop")


@pytest.mark.postgres
def test_postgres_stopped_30_s_loses_nothing(
    postgres_server: PostgresServer,
    tmp_path: Path,
    make_recorder: RecorderFactory,
    registry: CollectorRegistry,
) -> None:
    """20,000 steps recorded at a steady pace through StoreSink while PostgreSQL is stopped
    for 30 s (``pg_ctl stop -m fast``, then started again): the writer spools what the
    store refuses, replays it once the server is back, and all 20,000 are stored once, in
    order, with nothing dropped. Without the spool, 10 s of outage cost 5,042 of them."""
    url = postgres_server.create_database("sdk_postgres_outage")
    try:
        run = new_run(url)
        with open_store(url) as store:
            recorder = make_recorder(StoreSink(store), spool=tmp_path / "agent.spool")
            producer = produce(recorder.log_step, run.id, EVENTS, seconds=OUTAGE_S + 4)
            time.sleep(2.0)
            stopped_at = time.monotonic()
            pg_ctl_stop(postgres_server)
            try:
                time.sleep(OUTAGE_S - (time.monotonic() - stopped_at))
                peak = recorder.spool_depth
            finally:
                postgres_server._pg_ctl_start()
            restarted_at = time.monotonic()
            outage = restarted_at - stopped_at
            producer.join(60)
            wait_until(lambda: recorder.spool_depth == 0, timeout=60)
            drained = time.monotonic() - restarted_at
            assert recorder.flush(timeout=30)
            assert recorder.close(timeout=30)
        steps = stored_steps(url, run.id)
        spooled = sample(registry, "sdk_events_spooled_total")
        print(
            f"\nPostgreSQL down {outage:.1f} s: {spooled:,.0f} events spooled (at most "
            f"{peak:,} at once), spool empty {drained:.1f} s after the restart; "
            f"{len(steps):,} of {EVENTS:,} stored, {total_dropped(registry):.0f} dropped"
        )
        assert peak > 10_000  # the outage was real: most of the run went through the spool
        assert sample(registry, "sdk_events_replayed_total") == spooled
        assert total_dropped(registry) == 0
        assert_exactly_once(steps, EVENTS)
    finally:
        postgres_server.drop_database("sdk_postgres_outage")


# The controller killed ------------------------------------------------------------------------


def test_controller_killed_during_ingestion_stores_everything_once(
    controller: ControllerProcess,
    store_url: str,
    tmp_path: Path,
    make_recorder: RecorderFactory,
    registry: CollectorRegistry,
) -> None:
    """``kill -9`` of the controller while batches are in flight over HTTP, restarted on the
    same port a second later: the batch whose answer died with the process is sent again
    under its Idempotency-Key, what came meanwhile waits in the spool, and all 20,000 steps
    are stored once."""
    run = new_run(store_url)
    controller.start()
    recorder = make_recorder(
        HttpSink(controller.url, token=controller.token, timeout=5.0),
        spool=tmp_path / "agent.spool",
        batch_size=500,
    )
    producer = produce(recorder.log_step, run.id, EVENTS, seconds=6.0)
    wait_until(lambda: sample(registry, "sdk_events_written_total", kind="step") >= 4_000, 30)
    controller.kill()
    killed = time.monotonic()
    time.sleep(1.0)
    restart = controller.start()
    producer.join(60)
    wait_until(lambda: recorder.spool_depth == 0, timeout=60)
    assert recorder.flush(timeout=30)
    settled = time.monotonic() - killed
    assert recorder.close(timeout=30)
    steps = stored_steps(store_url, run.id)
    print(
        f"\ncontroller killed, back after {1.0 + restart:.1f} s (start {restart:.1f} s); "
        f"{sample(registry, 'sdk_events_spooled_total'):,.0f} events spooled, all delivered "
        f"{settled:.1f} s after the kill; {len(steps):,} of {EVENTS:,} rows"
    )
    assert sample(registry, "sdk_events_spooled_total") > 0
    assert total_dropped(registry) == 0
    assert_exactly_once(steps, EVENTS)


# A lost answer ----------------------------------------------------------------------------------


class WithoutBatchIds(EventSink):
    """An SDK that sends no Idempotency-Key: what the key is there to prevent."""

    def __init__(self, inner: EventSink) -> None:
        self.inner = inner

    def write(
        self, events: Sequence[BatchEvent], *, batch_id: UUID | None = None
    ) -> BatchWriteResult:
        return self.inner.write(events)

    def create_run(self, run: RunCreate) -> Run:
        return self.inner.create_run(run)

    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        return self.inner.finish_run(run_id, finish)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("with_key", [True, False], ids=["idempotency-key", "no-key"])
def test_a_lost_answer_is_stored_once_with_the_idempotency_key(
    with_key: bool,
    controller: ControllerProcess,
    store_url: str,
    make_recorder: RecorderFactory,
) -> None:
    """The controller stores a batch and answers 202, but the answer never reaches the
    agent (a proxy closes the connection instead): the writer sends the batch again. With
    the key it is stored once; without, twice, which is the duplicate the key prevents."""
    run = new_run(store_url)
    controller.start()
    with LossyProxy(controller.port, drop_answers=1) as proxy:
        sink: EventSink = HttpSink(proxy.url, token=controller.token, timeout=5.0)
        if not with_key:
            sink = WithoutBatchIds(sink)
        recorder = make_recorder(sink, flush_interval=10.0, retry_backoff=0.01)
        for i in range(100):
            recorder.log_step(run.id, StepType.TOOL_CALL, "search", {"i": i})
        assert recorder.flush(timeout=30)
        assert recorder.close(timeout=10)
    steps = stored_steps(store_url, run.id)
    print(
        f"\n{'with' if with_key else 'without'} Idempotency-Key: {proxy.batch_requests} batch "
        f"requests, {proxy.dropped} answer lost, {len(steps)} rows for 100 steps"
    )
    assert (proxy.batch_requests, proxy.dropped) == (2, 1)
    if with_key:
        assert_exactly_once(steps, 100)
    else:
        assert len(steps) == 200
        assert [s.data["i"] for s in steps] == list(range(100)) * 2


# The agent killed -------------------------------------------------------------------------------


def agent(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sdk.spool_agent", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_an_agent_killed_with_a_full_spool_is_delivered_by_the_next(
    tmp_path: Path,
) -> None:
    """The controller is down; an agent process spools 5,000 steps and is killed with
    SIGKILL (no close, no atexit). The controller starts; a new agent process on the same
    spool file delivers all of them, once and in order."""
    url = f"sqlite:///{tmp_path}/vigil.db"
    run = new_run(url)
    controller = ControllerProcess(url, tmp_path / "controller", free_port())
    spool = str(tmp_path / "agent.spool")
    count = 5_000
    first = agent("record", controller.url, controller.token, spool, str(run.id), str(count))
    try:
        assert first.stdout is not None
        line = first.stdout.readline()
        assert line == f"spooled {count}\n", first.stderr.read() if first.stderr else ""
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)  # closes its pipes
    try:
        controller.start()
        started = time.monotonic()
        second = agent("deliver", controller.url, controller.token, spool)
        out, err = second.communicate(timeout=60)
        delivered_in = time.monotonic() - started
    finally:
        controller.stop()
    assert second.returncode == 0, err
    assert out == f"delivered {count}\n"
    steps = stored_steps(url, run.id)
    print(
        f"\nagent killed with {count:,} events spooled; the next agent process delivered "
        f"them in {delivered_in:.1f} s (its start included): {len(steps):,} rows"
    )
    assert_exactly_once(steps, count)
    assert os.path.getsize(spool) < 64 * 1024  # emptied and vacuumed


# The spool full ---------------------------------------------------------------------------------


def test_a_full_spool_drops_only_what_does_not_fit(
    tmp_path: Path, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """The controller is down (nothing listens on its port) and the spool holds ~200 KB:
    of 3,000 steps, what fits is kept and the rest dropped as spool_full, counted. Once the
    controller is up, every kept step is stored; kept + dropped = recorded."""
    url = f"sqlite:///{tmp_path}/vigil.db"
    run = new_run(url)
    controller = ControllerProcess(url, tmp_path / "controller", free_port())
    recorded = 3_000
    recorder = make_recorder(
        HttpSink(controller.url, token=controller.token, timeout=5.0),
        spool=tmp_path / "agent.spool",
        spool_max_bytes=200_000,
        batch_size=100,
        max_attempts=2,
        retry_backoff=0.05,
    )
    for i in range(recorded):
        recorder.log_step(run.id, StepType.TOOL_CALL, "search", {"i": i})
    assert recorder.flush(timeout=30)
    kept = recorder.spool_depth
    full = dropped(registry, "spool_full")
    try:
        controller.start()
        wait_until(lambda: recorder.spool_depth == 0, timeout=60)
        assert recorder.close(timeout=30)
    finally:
        controller.stop()
    steps = stored_steps(url, run.id)
    print(
        f"\nspool of 200,000 bytes: {kept:,} of {recorded:,} steps kept, {full:,.0f} dropped "
        f"as spool_full; {len(steps):,} stored"
    )
    assert 0 < kept < recorded
    assert kept + full == recorded
    assert total_dropped(registry) == full
    assert len(steps) == kept
    assert [s.seq for s in steps] == list(range(1, kept + 1))
    recorded_i = [s.data["i"] for s in steps]
    assert recorded_i == sorted(set(recorded_i))  # in order, no repeats
    assert sample(registry, "sdk_events_replayed_total") == kept
