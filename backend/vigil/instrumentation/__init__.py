"""Vigil's instrumentation library: apply it to any FastAPI/Starlette service."""

from vigil.instrumentation._instrument import Instrumentation, instrument
from vigil.instrumentation.json_logging import configure_logging
from vigil.instrumentation.probes import HealthProbes
from vigil.instrumentation.project_label import current_project_id
from vigil.instrumentation.request_id import current_request_id

__all__ = [
    "HealthProbes",
    "Instrumentation",
    "configure_logging",
    "current_project_id",
    "current_request_id",
    "instrument",
]
