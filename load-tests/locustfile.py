"""A realistic traffic mix for the Vigil controller.

Who sends what (weights are relative; the mix of requests follows from them):

| user class        | weight | what it does                                                  |
| ----------------- | ------ | ------------------------------------------------------------- |
| ``AgentWriter``   | 3      | starts a run, appends steps in batches of 10, finishes it     |
| ``Dashboard``     | 6      | lists runs, reads a run, its steps and its logs               |
| ``StreamWatcher`` | 1      | follows a run's live step stream (SSE) for a few seconds      |

Within ``AgentWriter``: append 8, finish-and-restart 1. Within ``Dashboard``: list runs 3, get
run 3, list steps 2, logs by run 2, and a bad request 1 (unknown run -> 404 or invalid step type
-> 422, about 3% of all requests), which are counted as successes when the status is the
expected 4xx.

Pacing: every user starts its tasks at exponentially distributed intervals (``poisson_throughput``)
so the offered rate is fixed, ``users x VIGIL_LOAD_USER_RPS`` requests per second (default 1 per
user), and the users' requests add up to a Poisson stream, like independent clients. Locust's
``constant_throughput`` keeps each user on a fixed period instead; users delayed by the same slow
moment stay in step, and within a minute most requests arrived in bursts (measured: a median of 0
and a maximum of 67 arrivals per 50 ms at 7 on average), so the median latency measured the burst,
not the server.

Run: ``VIGIL_API_KEY=<key> locust -f load-tests/locustfile.py --host http://127.0.0.1:8000``
(see README.md); every request sends the key as a bearer token.

With ``VIGIL_LOAD_RAW=<path>`` every request's response time (ms, unrounded) is written to that
file as CSV when locust stops: locust's own percentiles are rounded to 10 ms above 100 ms, too
coarse to check a 5 ms difference between two runs (``run_load.py`` reads this file).
"""

from __future__ import annotations

import csv
import os
import random
import time
import uuid

import requests
from locust import FastHttpUser, User, events, task
from pacing import poisson_throughput  # load-tests/pacing.py; locust puts this dir on sys.path
from requests.exceptions import RequestException

USER_RPS = float(os.environ.get("VIGIL_LOAD_USER_RPS", "1"))
# Every request carries the API key (ingest and read scopes) from VIGIL_API_KEY.
AUTH_HEADERS = (
    {"Authorization": f"Bearer {os.environ['VIGIL_API_KEY']}"}
    if os.environ.get("VIGIL_API_KEY")
    else {}
)
STEP_BATCH = 10
RAW_PATH = os.environ.get("VIGIL_LOAD_RAW")


# Runs created by writers, shared with readers so reads hit real data.
known_runs: list[str] = []


def steps(n: int) -> list[dict[str, object]]:
    kinds = ("thought", "tool_call", "tool_result", "llm_generation")
    return [
        {
            "step_type": random.choice(kinds),
            "name": f"step-{i}",
            "data": {"tokens": random.randint(10, 500), "text": "x" * random.randint(20, 200)},
        }
        for i in range(n)
    ]


class AgentWriter(FastHttpUser):
    """An agent recording its run step by step."""

    weight = 3
    wait_time = poisson_throughput(USER_RPS)
    default_headers = AUTH_HEADERS

    def on_start(self) -> None:
        self.start_run()

    def start_run(self) -> None:
        with self.client.post(
            "/runs",
            json={"name": "load", "agent": "locust", "project_id": "load"},
            name="POST /runs",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"create run: {response.status_code}")
                self.run_id = None
                return
            self.run_id = response.json()["id"]
            known_runs.append(self.run_id)
            del known_runs[:-500]

    @task(8)
    def append_steps(self) -> None:
        if self.run_id is None:
            self.start_run()
            return
        self.client.post(
            f"/runs/{self.run_id}/steps",
            json={"steps": steps(STEP_BATCH)},
            name="POST /runs/{id}/steps",
        )

    @task(1)
    def finish_and_restart(self) -> None:
        if self.run_id is not None:
            self.client.post(
                f"/runs/{self.run_id}/finish",
                json={"status": "succeeded"},
                name="POST /runs/{id}/finish",
            )
        self.start_run()


class Dashboard(FastHttpUser):
    """A person (or a UI) reading what agents did."""

    weight = 6
    wait_time = poisson_throughput(USER_RPS)
    default_headers = AUTH_HEADERS

    def some_run(self) -> str | None:
        return random.choice(known_runs) if known_runs else None

    @task(3)
    def list_runs(self) -> None:
        self.client.get("/runs?limit=20", name="GET /runs")

    @task(3)
    def get_run(self) -> None:
        if run_id := self.some_run():
            self.client.get(f"/runs/{run_id}", name="GET /runs/{id}")

    @task(2)
    def list_steps(self) -> None:
        if run_id := self.some_run():
            self.client.get(f"/runs/{run_id}/steps?limit=50", name="GET /runs/{id}/steps")

    @task(2)
    def logs_of_run(self) -> None:
        if run_id := self.some_run():
            self.client.get(f"/logs?run_id={run_id}&limit=50", name="GET /logs?run_id")

    @task(1)
    def bad_request(self) -> None:
        if random.random() < 0.5:
            with self.client.get(
                f"/runs/{uuid.uuid4()}", name="GET /runs/{id} (404)", catch_response=True
            ) as response:
                if response.status_code == 404:
                    response.success()
        elif run_id := self.some_run():
            with self.client.post(
                f"/runs/{run_id}/steps",
                json={"steps": [{"step_type": "telepathy", "name": "x"}]},
                name="POST /runs/{id}/steps (422)",
                catch_response=True,
            ) as response:
                if response.status_code == 422:
                    response.success()


class StreamWatcher(User):
    """Someone watching a run live: holds an SSE stream open for a few seconds.

    Reported as ``SSE first step event``: the time from opening the stream to its first step.
    """

    weight = 1
    wait_time = poisson_throughput(USER_RPS / 5)

    @task
    def follow(self) -> None:
        run_id = random.choice(known_runs) if known_runs else None
        if run_id is None:
            return
        started = time.perf_counter()
        first_event_ms = None
        # A plain requests call, not self.client: the stream is open for seconds by design and
        # must not count in the latency percentiles; what matters is the first event's delay.
        try:
            with requests.get(
                f"{self.host}/runs/{run_id}/stream",
                headers=AUTH_HEADERS,
                stream=True,
                timeout=3,
            ) as response:
                for line in response.iter_lines():
                    if line.startswith(b"data:"):
                        first_event_ms = (time.perf_counter() - started) * 1000
                        break
        except (requests.Timeout, requests.ConnectionError) as exc:
            if not _is_read_timeout(exc):
                _report_first_event(0, exc)
            return  # a run with no steps yet sends nothing within the timeout: not a failure
        except RequestException as exc:
            _report_first_event(0, exc)
            return
        if first_event_ms is not None:
            _report_first_event(first_event_ms, None)


def _report_first_event(response_time_ms: float, exc: Exception | None) -> None:
    events.request.fire(
        request_type="SSE",
        name="first step event",
        response_time=response_time_ms,
        response_length=0,
        exception=exc,
        context={},
    )


def _is_read_timeout(exc: RequestException) -> bool:
    # requests raises ConnectionError wrapping urllib3's ReadTimeoutError mid-stream.
    return isinstance(exc, requests.ReadTimeout) or "Read timed out" in str(exc)


# Raw response times (see the module docstring) --------------------------------------------------

raw_samples: list[tuple[float, str, float, bool]] = []


@events.request.add_listener
def _record_sample(
    request_type: str,
    name: str,
    response_time: float,
    exception: Exception | None,
    **_: object,
) -> None:
    if RAW_PATH and request_type != "SSE":  # the SSE first-event delay is not a request latency
        raw_samples.append((time.time(), name, response_time, exception is None))


@events.quitting.add_listener
def _write_samples(**_: object) -> None:
    if RAW_PATH:
        with open(RAW_PATH, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["timestamp", "name", "response_time_ms", "ok"])
            writer.writerows(raw_samples)
