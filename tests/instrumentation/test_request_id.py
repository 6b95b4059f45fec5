"""Request ids: kept when safe, replaced otherwise, on every response and in every log line."""

from __future__ import annotations

import os

import pytest

from tests.instrumentation.conftest import InstrumentedApp
from vigil.instrumentation.request_id import (
    is_valid_request_id,
    new_request_id,
    with_request_id,
)


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "a" * 128,
        "trace:span.1_x-y",
    ],
)
def test_safe_ids_are_valid(value: str) -> None:
    """UUIDs, ULIDs, 32-hex ids and dotted/colon ids up to 128 characters are accepted."""
    assert is_valid_request_id(value)


@pytest.mark.parametrize("value", ["", "a" * 129, "abc def", "abc\r\nX-Evil: 1", "<script>", "é"])
def test_unsafe_ids_are_invalid(value: str) -> None:
    """Empty, over-long and out-of-charset ids are refused."""
    assert not is_valid_request_id(value)


def test_new_ids_are_unique_and_valid() -> None:
    """Minted ids are 32 hex characters and do not repeat."""
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and is_valid_request_id(i) for i in ids)


def test_valid_incoming_id_is_echoed_and_logged(instrumented: InstrumentedApp) -> None:
    """A safe X-Request-Id comes back unchanged and appears on the access log record."""
    response = instrumented.client.get("/items/1", headers={"X-Request-Id": "req-123"})
    assert response.headers["x-request-id"] == "req-123"
    access = [r for r in instrumented.read_logs() if r["logger"] == "vigil.access"]
    assert [r["request_id"] for r in access] == ["req-123"]


@pytest.mark.parametrize("bad", ["x" * 129, "bad id with spaces", 'evil"quote'])
def test_invalid_incoming_id_is_replaced_and_never_logged(
    instrumented: InstrumentedApp, bad: str
) -> None:
    """An unsafe id is replaced by a minted one; the raw value reaches neither client nor logs."""
    response = instrumented.client.get("/items/1", headers={"X-Request-Id": bad})
    echoed = response.headers["x-request-id"]
    assert echoed != bad
    assert is_valid_request_id(echoed)
    logs = instrumented.read_logs()
    assert any(r["request_id"] == echoed for r in logs)
    assert bad not in str(logs)


def test_missing_id_is_minted(instrumented: InstrumentedApp) -> None:
    """Without a header every response still gets an id, different per request."""
    first = instrumented.client.get("/items/1").headers["x-request-id"]
    second = instrumented.client.get("/items/1").headers["x-request-id"]
    assert first != second
    assert is_valid_request_id(first)


def test_id_is_on_500_responses_and_their_logs(instrumented: InstrumentedApp) -> None:
    """An unhandled exception's JSON 500 carries the id, as do its error and access records."""
    response = instrumented.client.get("/boom", headers={"X-Request-Id": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"
    assert response.json()["request_id"] == "boom-1"
    records = [r for r in instrumented.read_logs() if r["request_id"] == "boom-1"]
    assert {r["logger"] for r in records} == {"vigil.errors", "vigil.access"}


def test_id_on_probe_and_metrics_responses(instrumented: InstrumentedApp) -> None:
    """Probes and /metrics are not measured but still answer with an id."""
    for path in ("/health/live", "/metrics"):
        assert instrumented.client.get(path).headers["x-request-id"]


def test_the_request_id_middleware_alone() -> None:
    """``RequestIdMiddleware`` serves an app without Vigil's telemetry layer the same way:
    a safe id kept, an unsafe one replaced, the id current inside the app."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from vigil.instrumentation.request_id import RequestIdMiddleware, current_request_id

    async def seen(request: Request) -> JSONResponse:
        return JSONResponse({"current": current_request_id(), "state": request.state.request_id})

    app = Starlette(routes=[Route("/", seen)])
    app.add_middleware(RequestIdMiddleware)
    with TestClient(app) as client:
        kept = client.get("/", headers={"X-Request-Id": "abc-1"})
        assert kept.headers["x-request-id"] == "abc-1"
        assert kept.json() == {"current": "abc-1", "state": "abc-1"}
        replaced = client.get("/", headers={"X-Request-Id": "bad id"})
        assert replaced.headers["x-request-id"] != "bad id"
        assert replaced.json()["current"] == replaced.headers["x-request-id"]


def test_an_applications_seed_does_not_repeat_ids() -> None:
    import random

    random.seed(1)
    first = new_request_id()
    random.seed(1)
    assert new_request_id() != first


def test_a_forked_child_mints_ids_of_its_own() -> None:
    """Ids are cut from a block made ahead: a forked child drops the parent's block and
    reseeds, so neither process hands out an id the other does."""
    new_request_id()  # the parent holds a block now
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, through the pipe
        try:
            os.write(write_end, ",".join(new_request_id() for _ in range(300)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_ids = set(pipe.read().split(","))
    os.waitpid(pid, 0)
    parent_ids = {new_request_id() for _ in range(300)}
    assert len(child_ids) == 300
    assert not child_ids & parent_ids


def test_the_id_header_replaces_the_apps_own_and_leaves_its_list_alone() -> None:
    """A response's own X-Request-Id (any case) gives way to the request's; the message
    gets a new list, so a response object sent twice does not collect headers."""
    own = [(b"content-type", b"text/plain"), (b"X-Request-Id", b"app's")]
    message = {"type": "http.response.start", "status": 200, "headers": own}
    with_request_id(message, (b"x-request-id", b"abc"))
    assert message["headers"] == [(b"content-type", b"text/plain"), (b"x-request-id", b"abc")]
    assert own == [(b"content-type", b"text/plain"), (b"X-Request-Id", b"app's")]
    plain = [(b"content-length", b"2")]
    message = {"type": "http.response.start", "status": 200, "headers": plain}
    with_request_id(message, (b"x-request-id", b"abc"))
    assert message["headers"] == [(b"content-length", b"2"), (b"x-request-id", b"abc")]
    assert plain == [(b"content-length", b"2")]
    streamed = {"type": "http.response.start", "status": 200,
                "headers": (h for h in [(b"content-type", b"text/plain")])}  # fmt: skip
    with_request_id(streamed, (b"x-request-id", b"abc"))  # ASGI: any iterable, read once
    assert streamed["headers"] == [(b"content-type", b"text/plain"), (b"x-request-id", b"abc")]
    bare = {"type": "http.response.start", "status": 204}
    with_request_id(bare, (b"x-request-id", b"abc"))
    assert bare["headers"] == [(b"x-request-id", b"abc")]
