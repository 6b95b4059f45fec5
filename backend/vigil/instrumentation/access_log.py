"""One access log record per request, with the request id, route template and duration."""

from __future__ import annotations

import logging

from vigil.instrumentation.red_metrics import RequestObservation

ACCESS_LOGGER = "vigil.access"


class AccessLog:
    """Writes the access record of a finished request to the ``vigil.access`` logger.

    This runs once per request, so it builds the record itself: ``logger.info`` would walk the
    stack to find the caller (~4 us) for a file and line that say nothing here. The fields travel
    as a dict message, python-json-logger's documented form for structured records.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(ACCESS_LOGGER)

    def emit(self, observation: RequestObservation) -> None:
        """Log ``METHOD path status`` with the structured fields of the observation."""
        logger = self._logger
        if not logger.isEnabledFor(logging.INFO):
            return
        fields = {
            "message": f"{observation.method} {observation.path} {observation.status}",
            "method": observation.method,
            "path": observation.path,
            "route": observation.endpoint,
            "status": observation.status,
            "duration_ms": round(observation.duration_s * 1000, 3),
            "client": observation.client,
        }
        logger.handle(logger.makeRecord(logger.name, logging.INFO, "", 0, fields, (), None))
