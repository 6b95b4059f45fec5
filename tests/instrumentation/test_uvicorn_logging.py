"""uvicorn's loggers in the JSON lines, and ``restore_logging`` after ``uvicorn.run`` applied
uvicorn's own logging config (vigil/instrumentation/uvicorn_logging.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from tests.instrumentation.test_log_buffering import messages
from tests.python_runs import run_python
from vigil.instrumentation.json_logging import (
    HANDLER_NAME,
    JsonLineHandler,
    configure_logging,
    flush_logs,
)
from vigil.instrumentation.uvicorn_logging import restore_logging

UVICORN_RUN = """
import logging, socket, threading, time
import httpx, uvicorn
from fastapi import FastAPI
import vigil
from vigil.instrumentation.json_logging import HANDLER_NAME

app = FastAPI()

@app.get("/items")
def items() -> list[int]:
    return []

vigil.instrument(app, service="svc")
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port))  # as uvicorn.run
thread = threading.Thread(target=server.run)
thread.start()
while not server.started:
    time.sleep(0.02)
httpx.get(f"http://127.0.0.1:{port}/items?api_key=sk-live-123")
(handler,) = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
print("HANDLER", handler.closed, handler.flush_level, flush=True)
server.should_exit = True
thread.join()
"""


def test_uvicorn_run_gets_json_lines_and_no_plain_access_log() -> None:
    """``uvicorn.run(app)`` applies uvicorn's logging config after ``instrument()``: it closed
    Vigil's handler and brought back uvicorn's plain access log, query string and secret
    included. From the app's start-up on, the lines are Vigil's again, buffered."""
    out = run_python(UVICORN_RUN)
    assert "sk-live-123" not in out
    assert '"GET /items?' not in out  # uvicorn's access line
    (handler,) = [line for line in out.splitlines() if line.startswith("HANDLER ")]
    assert handler.split()[1:] == ["False", str(logging.WARNING)]  # open, buffering
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (access,) = [line for line in lines if line["logger"] == "vigil.access"]
    assert (access["path"], access["status"]) == ("/items", 200)
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # its shutdown lines


def test_an_applications_own_logging_config_is_left_as_it_is(stream: io.StringIO) -> None:
    """Only uvicorn's default config is undone: uvicorn loggers the application gave its own
    handlers keep them (a closed Vigil handler is still replaced by an open one)."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"mine": {"class": "logging.NullHandler"}},
            "loggers": {"uvicorn.access": {"handlers": ["mine"], "propagate": False}},
        }
    )
    assert restore_logging()  # the closed handler
    access = logging.getLogger("uvicorn.access")
    assert [type(h).__name__ for h in access.handlers] == ["NullHandler"]
    assert not access.propagate
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert isinstance(handler, JsonLineHandler)
    assert not handler.closed
    assert handler.stream is stream
    logging.getLogger("after").info("written by the new handler")
    flush_logs()
    assert messages(stream)[-1] == "written by the new handler"
    assert not restore_logging()  # nothing left to undo


def _builds_access_lines(config: uvicorn.Config) -> list[bool]:
    """What uvicorn's two HTTP protocols decide, per connection, about its access line."""

    async def decide() -> list[bool]:
        return [
            protocol(config=config, server_state=ServerState(), app_state={}).access_log
            for protocol in (H11Protocol, HttpToolsProtocol)
        ]

    return asyncio.run(decide())


def test_uvicorns_access_line_is_not_even_built(stream: io.StringIO) -> None:
    """uvicorn asks once per connection whether ``uvicorn.access`` reaches a handler; if it
    does, each request's client address and quoted path are worked out for an ``info`` call
    that the disabled logger then drops (~14,000 instructions a request). With Vigil's
    set-up neither protocol builds them: under uvicorn's command line (its config made
    before the app is imported) and under ``uvicorn.run`` (its config made after)."""
    config = uvicorn.Config(FastAPI())  # uvicorn's default logging config
    config.load()
    assert _builds_access_lines(config) == [True, True]
    configure_logging("svc", stream=stream)  # the command line: the app is imported now
    assert _builds_access_lines(config) == [False, False]
    uvicorn.Config(FastAPI())  # uvicorn.run: its config again, after instrument()
    assert restore_logging()
    assert _builds_access_lines(config) == [False, False]


def test_an_access_log_the_application_turned_back_on_reaches_the_json_lines(
    stream: io.StringIO,
) -> None:
    """Vigil leaves ``uvicorn.access`` disabled and not propagating; a config of the
    application's that names it again (``dictConfig`` enables every logger it names) but
    gives it no handler gets its lines in the JSON lines once the app starts, as it did when
    Vigil only disabled it."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "loggers": {"uvicorn.access": {"level": "INFO"}},
        }
    )
    access = logging.getLogger("uvicorn.access")
    assert not access.disabled
    assert not access.hasHandlers()  # as it stood, its lines would reach nothing
    assert restore_logging()
    access.info('127.0.0.1:5000 - "GET /items HTTP/1.1" 200')
    flush_logs()
    assert messages(stream)[-1] == '127.0.0.1:5000 - "GET /items HTTP/1.1" 200'
    assert not restore_logging()  # nothing left to undo
