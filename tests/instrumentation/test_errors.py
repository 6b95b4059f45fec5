"""Error responses are JSON with the request id, and never leak tracebacks or inputs."""

from __future__ import annotations

from tests.instrumentation.conftest import InstrumentedApp


def test_404_is_json_with_request_id(instrumented: InstrumentedApp) -> None:
    """Unknown paths give a JSON 404 carrying the request id."""
    response = instrumented.client.get("/nowhere", headers={"X-Request-Id": "r-404"})
    assert response.status_code == 404
    assert response.json() == {"status": 404, "detail": "Not Found", "request_id": "r-404"}


def test_405_keeps_the_allow_header(instrumented: InstrumentedApp) -> None:
    """A wrong method gives JSON 405 with the Allow header the framework set."""
    response = instrumented.client.delete("/items/1")
    assert response.status_code == 405
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert "GET" in response.headers["allow"]


def test_422_lists_errors_without_echoing_input(instrumented: InstrumentedApp) -> None:
    """Validation errors say where and what, without the rejected values."""
    response = instrumented.client.post("/items", json={"password": "hunter2-not-int"})
    assert response.status_code == 422
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["detail"][0]["loc"] == ["body", "password"]
    assert "hunter2" not in response.text


def test_malformed_json_is_422(instrumented: InstrumentedApp) -> None:
    """A body that is not JSON is a client error, not a crash."""
    response = instrumented.client.post(
        "/items", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_500_has_no_traceback(instrumented: InstrumentedApp) -> None:
    """An unhandled exception gives a generic JSON 500: no stack, no exception text."""
    response = instrumented.client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "status": 500,
        "detail": "Internal Server Error",
        "request_id": response.headers["x-request-id"],
    }
    assert "kaboom" not in response.text


def test_app_keeps_serving_after_errors(instrumented: InstrumentedApp) -> None:
    """Errors do not leave state behind: the next request is served normally."""
    for _ in range(5):
        instrumented.client.get("/boom")
    assert instrumented.client.get("/items/1").status_code == 200
