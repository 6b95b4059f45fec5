#!/usr/bin/env python3
"""What the instrumentation costs the controller, in instructions, counted by callgrind: the
figure that ``make load``'s CPU target (instrumentation adds < 3%) cannot get from this VM,
whose CPU readings move by more than the effect between rounds of the same code.

The controller (``python -m vigil serve``, on a fresh PostgreSQL database, its own logs stored
as by default) runs under valgrind's callgrind with counting off while it starts. After a
warm-up, each kind of request of ``load-tests/locustfile.py`` is sent ``--requests`` times,
one at a time on one keep-alive connection, with a pause before each dump so that what the
requests left to background threads (the stored access records) is counted with them. The
variants (``bare`` and ``instrumented``: ``VIGIL_INSTRUMENTATION_ENABLED`` false and true;
``logs-unstored``: instrumented with ``VIGIL_PERSIST_LOGS=off``, which tells what storing the
access records costs) get the same requests; the report gives instructions per request of
each kind, the difference, and the mix weighted as locust sends it (its users' and tasks'
weights). The SSE stream of the locustfile's
``StreamWatcher`` is left out: it holds a request open for seconds, which a count per request
does not describe.

Instructions weigh alike (no cache misses, no kernel time), so this complements ``make load``'s
CPU figures rather than replacing them: it says what the instrumentation adds, exactly, run
after run.

    .venv/bin/python benchmarks/controller_instructions.py [--requests 40] [--compare-with DIR]

``--compare-with DIR`` also counts the instrumented controller of another checkout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.controller_process import ControllerProcess  # noqa: E402 - after the path set-up
from tests.pg_server import PostgresServer  # noqa: E402
from tests.ports import free_port  # noqa: E402

from benchmarks import _callgrind as callgrind  # noqa: E402

DILATION = 10
"""Under callgrind the controller serves ~15 requests/s one at a time, about a tenth of
``make load``'s 150: its timers (the JSON lines' flush, the stored log records' batches) are
stretched as much, so that a tick and a stored batch cover as many requests as they would
there (a batch of 7 records instead of 75 would weigh each batch's transaction ten times)."""
LOG_FLUSH_S = 0.05 * DILATION
PERSIST_FLUSH_S = 0.5 * DILATION
SETTLE_S = PERSIST_FLUSH_S + 1.0
"""The pause before each dump: what the requests left to the log-record writer is written
within it. The first dump, of a pause alone, is what the timers cost idle: subtracted."""
STEP_BATCH = 10  # as the locustfile
STEP_TYPES = ("thought", "tool_call", "tool_result", "llm_generation")
VARIANTS = {
    "bare": {"VIGIL_INSTRUMENTATION_ENABLED": "false"},
    "instrumented": {"VIGIL_INSTRUMENTATION_ENABLED": "true"},
    # The same, its log records (the access records, mostly) not stored: what storing them
    # costs, apart from the rest of the instrumentation.
    "logs-unstored": {"VIGIL_INSTRUMENTATION_ENABLED": "true", "VIGIL_PERSIST_LOGS": "off"},
}
BEFORE = "instrumented-before"


@dataclass(frozen=True)
class Kind:
    """One kind of request of the locust mix and its share of the requests locust sends."""

    name: str
    weight: float
    expect: int


# Locust: AgentWriter (weight 3) and Dashboard (weight 6) users at the same request rate;
# a writer's tasks append 8 : finish-and-restart 1 (two requests), a dashboard's list 3 :
# get 3 : steps 2 : logs 2 : bad request 1 (half 404, half 422).
_WRITER, _DASHBOARD = 3 / 9, 6 / 9
KINDS = (
    Kind("POST /runs", _WRITER / 10, 201),
    Kind("POST /runs/{id}/steps", _WRITER * 8 / 10, 201),
    Kind("GET /runs", _DASHBOARD * 3 / 11, 200),
    Kind("GET /runs/{id}", _DASHBOARD * 3 / 11, 200),
    Kind("GET /runs/{id}/steps", _DASHBOARD * 2 / 11, 200),
    Kind("GET /logs?run_id", _DASHBOARD * 2 / 11, 200),
    Kind("GET /runs/{id} (404)", _DASHBOARD / 22, 404),
    Kind("POST /runs/{id}/steps (422)", _DASHBOARD / 22, 422),
    Kind("POST /runs/{id}/finish", _WRITER / 10, 200),
)


class Client:
    """Sequential requests on one keep-alive connection; every answer checked."""

    def __init__(self, port: int, token: str) -> None:
        self._port = port
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.runs: list[str] = []
        self._random = random.Random(7)  # noqa: S311  (the same bodies for both variants)

    def close(self) -> None:
        self._connection.close()

    def reconnect(self) -> None:
        """A new connection (made at the next request): the server closes one idle for 5 s
        (uvicorn's keep-alive timeout), as a pause before a dump is."""
        self._connection.close()
        self._connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=300)

    def send(self, method: str, path: str, body: object, expect: int) -> object:
        payload = None if body is None else json.dumps(body)
        self._connection.request(method, path, body=payload, headers=self._headers)
        response = self._connection.getresponse()
        data = response.read()
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: {response.status}, not {expect}: {data[:300]!r}")
        return json.loads(data) if data else None

    def steps(self) -> list[dict[str, object]]:
        r = self._random
        return [
            {
                "step_type": r.choice(STEP_TYPES),
                "name": f"step-{i}",
                "data": {"tokens": r.randint(10, 500), "text": "x" * r.randint(20, 200)},
            }
            for i in range(STEP_BATCH)
        ]

    def run_id(self, n: int) -> str:
        return self.runs[n % len(self.runs)]

    def one(self, kind: Kind, n: int) -> None:
        """The ``n``-th request of ``kind``, its answer checked against ``kind.expect``."""
        method, path, body = self._request(kind.name, n)
        answer = self.send(method, path, body, kind.expect)
        if kind.name == "POST /runs":
            if not isinstance(answer, dict):
                raise RuntimeError(f"POST /runs answered {answer!r}")
            self.runs.append(str(answer["id"]))

    def _request(self, kind: str, n: int) -> tuple[str, str, object]:
        match kind:
            case "POST /runs":
                return "POST", "/runs", {"name": "load", "agent": "locust", "project_id": "load"}
            case "POST /runs/{id}/steps":
                return "POST", f"/runs/{self.run_id(n)}/steps", {"steps": self.steps()}
            case "GET /runs":
                return "GET", "/runs?limit=20", None
            case "GET /runs/{id}":
                return "GET", f"/runs/{self.run_id(n)}", None
            case "GET /runs/{id}/steps":
                return "GET", f"/runs/{self.run_id(n)}/steps?limit=50", None
            case "GET /logs?run_id":
                return "GET", f"/logs?run_id={self.run_id(n)}&limit=50", None
            case "GET /runs/{id} (404)":
                return "GET", f"/runs/{uuid.UUID(int=self._random.getrandbits(128))}", None
            case "POST /runs/{id}/steps (422)":
                body = {"steps": [{"step_type": "telepathy", "name": "x"}]}
                return "POST", f"/runs/{self.run_id(n)}/steps", body
            case "POST /runs/{id}/finish":
                return "POST", f"/runs/{self.runs.pop(0)}/finish", {"status": "succeeded"}
        raise ValueError(f"no such kind of request: {kind}")


def _dump(pid: int) -> None:
    time.sleep(SETTLE_S)
    callgrind.dump(pid)


def count_variant(
    name: str, requests: int, server: PostgresServer, before: Path | None, scratch: Path
) -> dict[str, float]:
    """Instructions per request of each kind, for one variant."""
    out = scratch / f"{name}.callgrind"
    database = server.create_database(f"vigil_instructions_{name.replace('-', '_')}")
    data_dir = scratch / name
    data_dir.mkdir()
    controller = ControllerProcess(
        database,
        data_dir,
        free_port(),
        settings={
            "VIGIL_LOG_LEVEL": "INFO",  # as make load runs it: its own logs stored
            "VIGIL_PERSIST_LOGS": "all",
            "VIGIL_LOG_FLUSH_INTERVAL_S": str(LOG_FLUSH_S),
            "VIGIL_PERSIST_LOG_FLUSH_INTERVAL_S": str(PERSIST_FLUSH_S),
            **VARIANTS["instrumented" if name == BEFORE else name],
        },
        prefix=callgrind.counted(out),
        tree=before if name == BEFORE else None,
        keep_output=False,
        start_timeout_s=600,
    )  # fmt: skip
    controller.start()
    client = Client(controller.port, controller.token)
    try:
        for n in range(2 * requests):  # warm-up, and the runs the reads and finishes use
            for kind in KINDS[:-1]:
                client.one(kind, n)
        time.sleep(SETTLE_S)  # the warm-up's last log records are written uncounted
        callgrind.start_counting(controller.pid)
        _dump(controller.pid)  # what the pause alone costs: the idle baseline
        client.reconnect()
        serving = 0.0
        for kind in KINDS:
            began = time.perf_counter()
            for n in range(requests):
                client.one(kind, n)
            serving += time.perf_counter() - began
            _dump(controller.pid)
            client.reconnect()
        print(f"{name}: {requests * len(KINDS) / serving:.1f} requests/s under callgrind")
    finally:
        client.close()
        controller.stop()
    totals = callgrind.dump_totals(out)
    if len(totals) != len(KINDS) + 1:
        raise RuntimeError(f"{name}: {len(totals)} callgrind dumps, not {len(KINDS) + 1}")
    idle, *phases = totals
    return {kind.name: (total - idle) / requests for kind, total in zip(KINDS, phases, strict=True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="of each kind")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--compare-with", type=Path, help="another checkout's controller too")
    args = parser.parse_args()
    callgrind.require_valgrind()
    names = [name for name in args.variants.split(",") if name]
    if not {"bare", "instrumented"} <= set(names) <= set(VARIANTS):
        sys.exit(f"variants: bare, instrumented and any of {', '.join(VARIANTS)}")
    names += [BEFORE] if args.compare_with else []
    counts: dict[str, dict[str, float]] = {}
    server = PostgresServer.start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for name in names:
                counts[name] = count_variant(
                    name, args.requests, server, args.compare_with, Path(scratch)
                )
                print(f"{name}: counted", flush=True)
    finally:
        server.stop()
    header = " | ".join(names)
    print(f"\n| request | {header} | instrumented - bare | instrumented / bare |")
    print("| --- |" + " --- |" * (len(names) + 2))
    for kind in KINDS:
        row = " | ".join(f"{counts[name][kind.name]:,.0f}" for name in names)
        bare, instrumented = counts["bare"][kind.name], counts["instrumented"][kind.name]
        print(f"| {kind.name} | {row} | {instrumented - bare:+,.0f} | x{instrumented / bare:.3f} |")
    mix = {name: sum(k.weight * counts[name][k.name] for k in KINDS) for name in names}
    row = " | ".join(f"{mix[name]:,.0f}" for name in names)
    added = mix["instrumented"] / mix["bare"] - 1
    print(f"| the locust mix, weighted | {row} | {mix['instrumented'] - mix['bare']:+,.0f} |"
          f" x{mix['instrumented'] / mix['bare']:.3f} |")  # fmt: skip
    print(f"\ntarget (make load): instrumentation adds < 3% of the controller's CPU;"
          f" by instructions it adds {added:.1%}")  # fmt: skip
    if "logs-unstored" in mix:
        stored = mix["instrumented"] - mix["logs-unstored"]
        print(f"of which storing its log records: {stored:+,.0f} a request"
              f" ({stored / mix['bare']:.1%} of bare)")  # fmt: skip
    if BEFORE in mix:
        print(f"instrumented / {BEFORE}: x{mix['instrumented'] / mix[BEFORE]:.3f} (the mix)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
