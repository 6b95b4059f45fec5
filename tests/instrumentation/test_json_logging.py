"""JSON logs: one object per line with the fixed fields, extras, stacks, and no secrets."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime

import pytest

from tests.instrumentation.conftest import InstrumentedApp
from vigil.instrumentation._records import duration_ms
from vigil.instrumentation.json_logging import (
    REDACTED,
    _Rfc3339Clock,
    configure_logging,
    flush_logs,
    redact,
    redact_text,
)

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
FIXED_FIELDS = {"timestamp", "service", "level", "logger", "message", "request_id", "project_id"}


@pytest.fixture
def log_stream() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("svc", "DEBUG", stream=stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    flush_logs()  # INFO lines wait up to the flush interval
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_is_json_with_fixed_fields(log_stream: io.StringIO) -> None:
    """A plain record carries every fixed field; the timestamp is RFC 3339 UTC."""
    logging.getLogger("some.module").warning("hello %s", "world")
    (record,) = lines(log_stream)
    assert record.keys() >= FIXED_FIELDS
    assert record["message"] == "hello world"
    assert record["level"] == "WARNING"
    assert record["logger"] == "some.module"
    assert record["service"] == "svc"
    assert RFC3339_UTC.fullmatch(str(record["timestamp"]))


def test_extra_fields_land_in_the_json(log_stream: io.StringIO) -> None:
    """Whatever the caller passes in extra= is a field of its own."""
    logging.getLogger("x").info("event", extra={"run_id": "r1", "attempt": 2})
    (record,) = lines(log_stream)
    assert record["run_id"] == "r1"
    assert record["attempt"] == 2


def test_exceptions_carry_their_stack(log_stream: io.StringIO) -> None:
    """logger.exception puts the traceback in the exception field, not in the message."""
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("x").exception("failed")
    (record,) = lines(log_stream)
    assert record["message"] == "failed"
    assert "Traceback" in str(record["exception"])
    assert "ValueError: bad value" in str(record["exception"])


def test_sensitive_keys_are_redacted_at_any_depth(log_stream: io.StringIO) -> None:
    """Values under authorization/password/token/secret keys never reach the output."""
    logging.getLogger("x").info(
        "login",
        extra={
            "password": "hunter2",
            "headers": {"Authorization": "Bearer abc123", "ok": "fine"},
            "items": [{"api_key": "k-999"}],
            "client_secret": "s3",
        },
    )
    flush_logs()
    out = log_stream.getvalue()
    for secret in ("hunter2", "abc123", "k-999", 's3"'):
        assert secret not in out
    (record,) = lines(log_stream)
    assert record["password"] == REDACTED
    assert record["headers"] == {"Authorization": REDACTED, "ok": "fine"}


def test_secrets_in_free_text_are_masked(log_stream: io.StringIO) -> None:
    """key=value secrets and URL credentials inside messages are masked."""
    logging.getLogger("x").info(
        "connecting with password=hunter2 to postgresql://vigil:pa55@db:5432/x token: t0k"
    )
    flush_logs()
    out = log_stream.getvalue()
    assert "hunter2" not in out
    assert "pa55" not in out
    assert "t0k" not in out
    assert "postgresql://vigil:[REDACTED]@db:5432/x" in out


def test_redaction_helpers_leave_plain_values_alone() -> None:
    """Redaction changes only what looks like a secret."""
    assert redact_text("GET /items/1 200") == "GET /items/1 200"
    assert redact({"a": 1, "b": [1, "x"]}) == {"a": 1, "b": [1, "x"]}


def test_uvicorn_logs_use_the_same_formatter(log_stream: io.StringIO) -> None:
    """uvicorn's loggers propagate to the JSON handler; its access logger is silenced."""
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("uvicorn.access").info("127.0.0.1 - GET / 200")
    records = lines(log_stream)
    assert [r["logger"] for r in records] == ["uvicorn.error"]


def test_configure_twice_keeps_one_handler(log_stream: io.StringIO) -> None:
    """Re-configuring replaces Vigil's handler instead of duplicating every line."""
    configure_logging("svc", stream=log_stream)
    logging.getLogger("x").info("once")
    assert len(lines(log_stream)) == 1


def test_access_record_per_request(instrumented: InstrumentedApp) -> None:
    """Each request gives exactly one access record with method, path, route, status, duration."""
    instrumented.client.get("/items/42?token=abc", headers={"X-Project-Id": "alpha"})
    access = [r for r in instrumented.read_logs() if r["logger"] == "vigil.access"]
    assert len(access) == 1
    record = access[0]
    assert record["method"] == "GET"
    assert record["path"] == "/items/42"
    assert record["route"] == "/items/{item_id}"
    assert record["status"] == 200
    assert isinstance(record["duration_ms"], float)
    assert record["duration_ms"] >= 0
    assert record["client"]
    assert record["project_id"] == "alpha"
    assert "abc" not in json.dumps(record)  # the query string is never logged


def test_unhandled_exception_is_logged_with_stack(instrumented: InstrumentedApp) -> None:
    """A 500 leaves an ERROR record with the stack and the secret in its text masked."""
    instrumented.client.get("/boom")
    errors = [r for r in instrumented.read_logs() if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert "RuntimeError" in str(errors[0]["exception"])
    assert "hunter2" not in json.dumps(errors[0])


@pytest.mark.parametrize(
    "created",
    [0.0, 0.999, 1.0, 1_764_000_000.0, 1_764_000_000.9995, 1_764_000_059.999, 1_780_000_000.5,
     1_700_000_199.998],  # (the last: int(created * 1000) would round it up to .998)
)  # fmt: skip
def test_record_times_are_rfc3339_to_the_millisecond_of_msecs(created: float) -> None:
    """The clock's text is the record time in UTC, with the millisecond ``LogRecord.msecs``
    gives it, whether its cached second or millisecond is reused or not."""
    clock = _Rfc3339Clock()
    second = datetime.fromtimestamp(int(created), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    msecs = int((created - int(created)) * 1000)  # logging.LogRecord.__init__, Python 3.11
    for _ in range(2):  # made, then from the cache
        assert clock.format(created) == f"{second}.{msecs:03d}Z"
    assert clock.format(1_700_000_199.998) == "2023-11-14T22:16:39.997Z"


@pytest.mark.parametrize(
    "created_ns",
    [0, 999_999, 1_000_000, 1_764_000_000_999_999_999, 1_764_000_059_999_000_000,
     1_780_000_000_500_000_000],
)  # fmt: skip
def test_access_times_in_nanoseconds_are_truncated_to_the_millisecond(created_ns: int) -> None:
    """The access line's clock (``time.time_ns()``): the same text as a record's, the
    millisecond truncated, made or from the cache; the float clock's text for the same
    millisecond."""
    clock = _Rfc3339Clock()
    second, nanoseconds = divmod(created_ns, 1_000_000_000)
    text = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    for _ in range(2):
        assert clock.format_ns(created_ns) == f"{text}.{nanoseconds // 1_000_000:03d}Z"
    mid_millisecond = created_ns - created_ns % 1_000_000 + 500_000
    assert clock.format(mid_millisecond / 1e9) == clock.format_ns(mid_millisecond)


def test_duration_ms_is_to_the_microsecond() -> None:
    """The access record's milliseconds: three decimals, rounded half up."""
    assert duration_ms(0.0) == 0.0
    assert duration_ms(0.0123) == 12.3
    assert duration_ms(0.0000006) == 0.001
    assert duration_ms(0.0000004) == 0.0
    assert duration_ms(1.0000004) == 1000.0
    assert duration_ms(2.5) == 2500.0
