"""What of OpenTelemetry this process has: the API (FastAPI requires it) and the SDK (the
``tracing`` extra). Every module of ``vigil.tracing`` asks here, so that ``import vigil.sdk``
and the tracing calls keep working, as no-ops, without either (docs/tracing.md)."""

from __future__ import annotations

import importlib.util
from typing import Final

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace as otel_trace
except ImportError:  # an agent installed without FastAPI or the extra: every call is a no-op
    API_INSTALLED: bool = False
    # Importable names all the same; every use is behind API_INSTALLED.
    otel_context = otel_trace = None  # type: ignore[assignment]
else:
    API_INSTALLED = True


def _sdk_installed() -> bool:
    # find_spec instead of an import: loading the SDK costs tens of milliseconds that an
    # agent which never sets tracing up should not pay.
    if not API_INSTALLED:
        return False
    try:
        return importlib.util.find_spec("opentelemetry.sdk") is not None
    except (ImportError, ValueError):
        return False


SDK_INSTALLED: Final = _sdk_installed()

INSTALL_HINT: Final = "pip install 'vigil[tracing]'"

__all__ = ["API_INSTALLED", "INSTALL_HINT", "SDK_INSTALLED", "otel_context", "otel_trace"]
