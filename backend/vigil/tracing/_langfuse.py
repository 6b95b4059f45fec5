"""Agent spans to Langfuse, through the official ``langfuse`` SDK (OpenTelemetry-based).

When ``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY`` and ``LANGFUSE_BASE_URL`` (or the older
``LANGFUSE_HOST``) are set, ``setup_tracing`` creates the SDK's client on Vigil's
TracerProvider (``tracer_provider=``: the SDK then never installs a provider of its own) with
``langfuse_span_filter`` as its ``should_export_span``. The SDK exports OTLP/HTTP protobuf
batches to ``{base}/api/public/otel/v1/traces`` with Basic credentials ``public:secret``.

The filter: only agent spans go to Langfuse. That is spans of ``AgentRecorder.span``
(instrumentation scope ``vigil.agent``) and what the SDK exports by default (its own
``@observe`` spans, spans with ``gen_ai.*`` attributes, known LLM instrumentations). HTTP
server spans (``vigil.http``), database and other infrastructure spans stay out: users
report them filling Langfuse, and its bill.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Final

from vigil.tracing._context import AGENT_SCOPE

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import TracerProvider

logger = logging.getLogger("vigil.tracing")

PUBLIC_KEY: Final = "LANGFUSE_PUBLIC_KEY"
SECRET_KEY: Final = "LANGFUSE_SECRET_KEY"  # noqa: S105 - the variable's name
BASE_URL: Final = "LANGFUSE_BASE_URL"
HOST: Final = "LANGFUSE_HOST"
"""The older name of ``LANGFUSE_BASE_URL``, which the SDK still reads."""


def langfuse_configured() -> bool:
    """Whether the three variables the Langfuse export needs are set."""
    return bool(
        os.environ.get(PUBLIC_KEY)
        and os.environ.get(SECRET_KEY)
        and (os.environ.get(BASE_URL) or os.environ.get(HOST))
    )


def langfuse_span_filter(span: ReadableSpan) -> bool:
    """Whether ``span`` goes to Langfuse: agent spans and the SDK's defaults, nothing else."""
    scope = span.instrumentation_scope
    if scope is not None and scope.name == AGENT_SCOPE:
        return True
    from langfuse.span_filter import is_default_export_span

    return bool(is_default_export_span(span))


class LangfuseGate:
    """The Langfuse client's ``should_export_span``: ``langfuse_span_filter`` while open.

    The SDK adds its span processor to the TracerProvider, and a provider never loses a
    processor; ``shutdown_tracing`` closes the gate, so that spans ended after it stay out
    of Langfuse like those of every other destination Vigil removed. One per process: the SDK
    keeps one set of resources (and processor) per public key, made with the first client's
    filter, which a later client gets back; a later ``setup_tracing`` opens it again."""

    __slots__ = ("open",)

    def __init__(self) -> None:
        self.open = True

    def __call__(self, span: ReadableSpan) -> bool:
        return self.open and langfuse_span_filter(span)


LANGFUSE_GATE: Final = LangfuseGate()


def connect_langfuse(provider: TracerProvider, *, required: bool = False) -> Any:
    """The Langfuse client exporting agent spans from ``provider`` (through
    ``LANGFUSE_GATE``, opened), or False when the variables or the SDK are missing
    (``required``: say so as a warning)."""
    if not langfuse_configured():
        if required:
            logger.warning(
                "Langfuse export asked for, but %s, %s and %s are not all set",
                PUBLIC_KEY,
                SECRET_KEY,
                BASE_URL,
            )
        return False
    try:
        from langfuse import Langfuse
    except ImportError:
        logger.warning(
            "the %s variables are set but the langfuse SDK is not installed "
            "(pip install 'vigil[langfuse]'): agent spans do not go to Langfuse",
            "LANGFUSE_*",
        )
        return False
    base_url = os.environ.get(BASE_URL) or os.environ[HOST]
    public_key = os.environ[PUBLIC_KEY]
    existing = _resources_of(public_key)
    if existing is not None and existing is not _own_resources.get(public_key):
        # The SDK keeps one client's resources per public key and hands them to every later
        # client: Vigil's would be the application's, without Vigil's filter, and
        # shutdown_tracing would shut the application's client down.
        logger.warning(
            "the application made a Langfuse client for this public key already: Vigil "
            "makes none of its own and leaves that one alone (which spans go to Langfuse is "
            "that client's should_export_span)"
        )
        return False
    LANGFUSE_GATE.open = True
    client = Langfuse(
        public_key=os.environ[PUBLIC_KEY],
        secret_key=os.environ[SECRET_KEY],
        base_url=base_url,
        tracer_provider=provider,
        should_export_span=LANGFUSE_GATE,
    )
    _own_resources[public_key] = _resources_of(public_key)
    logger.info(
        "agent spans are exported to Langfuse at %s", base_url, extra={"langfuse_url": base_url}
    )
    return client


_own_resources: dict[str, object] = {}
"""The SDK's resources that Vigil's own client made, by public key."""


def _resources_of(public_key: str) -> object | None:
    """The SDK's resources for ``public_key`` if a client made them (langfuse 4.18's
    ``LangfuseResourceManager._instances``, pinned by tests/tracing/test_langfuse.py; None
    when the SDK keeps them elsewhere)."""
    try:
        from langfuse._client.resource_manager import LangfuseResourceManager
    except ImportError:
        return None
    instances = getattr(LangfuseResourceManager, "_instances", None)
    return instances.get(public_key) if isinstance(instances, dict) else None
