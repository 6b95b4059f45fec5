"""uvicorn's loggers in Vigil's JSON lines, and after ``uvicorn.run`` undid that.

``configure_logging`` routes uvicorn's loggers to the root logger's JSON handler and turns
uvicorn's access log off, with no handler to reach (Vigil writes a richer record per
request, without the query string). ``uvicorn.run(app)`` applies uvicorn's own logging
config once the app is built (its ``log_config``, through ``logging.config.dictConfig``):
that closes every handler (Vigil's would then write each line at once), gives uvicorn's
loggers plain-text handlers of their own and turns its access log back on, whose lines
carry the query string, secrets and all. ``restore_logging``, which the instrumentation
runs when the app's lifespan starts, puts Vigil's set-up back.
"""

from __future__ import annotations

import logging
from typing import Final

UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")
UVICORN_FORMATTERS_MODULE: Final = "uvicorn.logging"
"""Where the formatters of uvicorn's default logging config live."""


def route_uvicorn_loggers() -> None:
    """uvicorn's loggers to the root logger's handlers; its access log off (no handler)."""
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # Vigil writes its own access record per request (with request id, route and duration);
    # uvicorn's would be a second, poorer line for the same request, with the query string.
    # Off, and reaching no handler: uvicorn asks ``hasHandlers()`` once per connection and,
    # when True, works out each request's client address and quoted path for an ``info``
    # call that ``disabled`` then drops (~14,000 instructions a request, callgrind).
    access = logging.getLogger("uvicorn.access")
    access.disabled = True
    access.propagate = False


def restore_logging() -> bool:
    """Undo what ``uvicorn.run(app)`` did to ``configure_logging``'s set-up; True if there was
    anything to undo.

    Only while Vigil's handler is still on the root logger: a closed one is replaced by an
    open one with the same stream, settings, formatter and filters (the new one is attached
    before the old one goes: no record meanwhile falls to ``logging.lastResort``), and when
    uvicorn's loggers have handlers with uvicorn's own formatters (its default config's),
    they are routed to the JSON lines again. A config of the application's own, with other
    formatters, or one that replaced the root logger's handlers, is left as it is; one that
    turned uvicorn's access logger back on without a handler gets its lines in the JSON
    lines (its ``propagate``, which Vigil turned off, on again)."""
    from vigil.instrumentation.json_logging import HANDLER_NAME, JsonLineHandler

    root = logging.getLogger()
    ours = [h for h in root.handlers if h.get_name() == HANDLER_NAME]
    if not ours:
        return False
    restored = False
    handler = ours[0]
    if isinstance(handler, JsonLineHandler) and handler.closed:
        fresh = JsonLineHandler(
            handler.stream,
            flush_interval=handler.flush_interval,
            flush_loggers=handler.flush_loggers,
        )
        fresh.setFormatter(handler.formatter)
        fresh.setLevel(handler.level)
        for kept in handler.filters:
            fresh.addFilter(kept)
        fresh.set_name(HANDLER_NAME)
        root.addHandler(fresh)
        root.removeHandler(handler)
        restored = True
    uvicorns = [logging.getLogger(name) for name in UVICORN_LOGGERS]
    access = logging.getLogger("uvicorn.access")
    if any(
        type(h.formatter).__module__ == UVICORN_FORMATTERS_MODULE
        for uvicorn_logger in uvicorns
        for h in uvicorn_logger.handlers
    ):
        route_uvicorn_loggers()
        restored = True
    elif not access.disabled and not access.handlers and not access.propagate:
        # A config of the application's named uvicorn's access logger (``dictConfig``
        # enables every logger it names) but gave it no handler and kept the
        # ``propagate = False`` set above: its lines go to the JSON lines, as asked.
        access.propagate = True
        restored = True
    return restored
