"""``setup_tracing`` and ``shutdown_tracing``: the one TracerProvider of the process and the
places its spans go.

The TracerProvider rule (langfuse issue #6885 is users losing theirs to an SDK that set its
own): Vigil never replaces a TracerProvider the application set.

- No provider set yet: Vigil creates one (resource ``service.name``, ``service.version``,
  ``deployment.environment``; sampler ``ParentBased(TraceIdRatioBased(sample_ratio))``) and
  makes it the global one.
- The application set an SDK ``TracerProvider``: Vigil keeps it, with its resource, sampler
  and exporters, and adds its own destinations to it (``sample_ratio`` is then the
  application's business, and a warning says so when one was given).
- Another kind of provider, which cannot take span processors: Vigil uses it as it is and
  says that its exporters could not be attached.

Destinations: the event store (``store``: ``StoreSpanExporter`` behind a counting batch
processor), an ``AgentRecorder`` (``recorder``: spans travel as its events), any other
``SpanExporter`` (``exporters``, e.g. OTLP), and Langfuse when ``LANGFUSE_PUBLIC_KEY``,
``LANGFUSE_SECRET_KEY`` and ``LANGFUSE_BASE_URL`` are set (``_langfuse.py``). Calling
``setup_tracing`` again returns the same tracer and adds only destinations not added yet;
``shutdown_tracing`` flushes and removes them, each within a deadline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from vigil.tracing._otel import INSTALL_HINT, SDK_INSTALLED, otel_trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer, TracerProvider
    from prometheus_client import CollectorRegistry

    from vigil.sdk import AgentRecorder
    from vigil.storage import EventStore
    from vigil.tracing._processors import SpanRouter

logger = logging.getLogger("vigil.tracing")

DEFAULT_QUEUE_SIZE: Final = 8_192
"""Spans the store exporter's queue holds: ~1.5 s of a controller at full speed."""
DEFAULT_EXPORT_BATCH: Final = 1_000
DEFAULT_SCHEDULE_DELAY_MS: Final = 500
SHUTDOWN_TIMEOUT_S: Final = 10.0


@dataclass
class _Tracing:
    provider: TracerProvider
    service: str
    router: SpanRouter | None
    """None when the provider takes no span processors."""
    destinations: dict[int, SpanProcessor] = field(default_factory=dict)
    langfuse: Any = None
    """The Langfuse client; False once found not configured."""
    settings: dict[str, object] = field(default_factory=dict)
    """What the provider was made with (version, environment, sample ratio): empty for an
    application's own provider. A provider's resource and sampler are fixed once it is set."""


_lock = threading.RLock()
_state: _Tracing | None = None
_warned_sdk_missing = False


def setup_tracing(
    service: str,
    *,
    version: str | None = None,
    environment: str | None = None,
    sample_ratio: float | None = None,
    store: EventStore | None = None,
    recorder: AgentRecorder | None = None,
    exporters: Sequence[SpanExporter] = (),
    langfuse: bool | None = None,
    registry: CollectorRegistry | None = None,
    max_queue_size: int = DEFAULT_QUEUE_SIZE,
) -> Tracer:
    """Set tracing up for ``service`` (idempotent) and return its tracer.

    ``sample_ratio`` (default 1.0: every trace) applies to root spans of a provider Vigil
    creates; a span continues its parent's decision. ``langfuse``: None exports agent spans
    to Langfuse when the ``LANGFUSE_*`` variables are set, False never, True insists (a
    warning when the SDK or a key is missing). ``registry`` is where span drops are counted
    (default: prometheus_client's global registry). Without the OpenTelemetry SDK this logs
    once how to install it and returns a tracer whose spans do nothing.
    """
    global _state, _warned_sdk_missing
    if not SDK_INSTALLED:
        if not _warned_sdk_missing:
            _warned_sdk_missing = True
            logger.warning(
                "OpenTelemetry SDK not installed (%s): tracing calls are no-ops", INSTALL_HINT
            )
        from vigil.tracing._context import get_tracer  # (it loads vigil.models)

        return get_tracer(service)
    if sample_ratio is not None and not 0.0 <= sample_ratio <= 1.0:
        raise ValueError("sample_ratio must be between 0 and 1")
    with _lock:
        state = _state
        current = otel_trace.get_tracer_provider()
        if state is None or state.provider is not current:
            state = _state = _adopt(current, service, version, environment, sample_ratio)
        else:
            if state.service != service:
                logger.warning(
                    "tracing is already set up for service %r; %r joins its TracerProvider",
                    state.service,
                    service,
                )
            _warn_if_not_applied(state, version, environment, sample_ratio)
        if state.router is not None:
            _add_destinations(state, store, recorder, exporters, registry, max_queue_size)
        elif store is not None or recorder is not None or exporters:
            logger.warning(
                "the application's TracerProvider (%s) takes no span processors: Vigil's "
                "exporters are not attached, spans go where that provider sends them",
                type(state.provider).__name__,
            )
        if state.langfuse is None and langfuse is not False:
            from vigil.tracing._langfuse import connect_langfuse

            state.langfuse = connect_langfuse(state.provider, required=langfuse is True)
        return state.provider.get_tracer(service)


def _adopt(
    current: TracerProvider,
    service: str,
    version: str | None,
    environment: str | None,
    sample_ratio: float | None,
) -> _Tracing:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from vigil.tracing._processors import SpanRouter

    previous = _state
    if isinstance(current, otel_trace.ProxyTracerProvider):
        ratio = 1.0 if sample_ratio is None else sample_ratio
        resource = Resource.create(
            {
                "service.name": service,
                "service.version": version or _vigil_version(),
                "deployment.environment": environment or "development",
            }
        )
        provider = SdkTracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(ratio))
        )
        otel_trace.set_tracer_provider(provider)
        if otel_trace.get_tracer_provider() is provider:
            router = SpanRouter()
            provider.add_span_processor(router)
            logger.info(
                "tracing set up: service %s, sample ratio %s", service, ratio,
                extra={"tracing_service": service, "sample_ratio": ratio},
            )  # fmt: skip
            settings: dict[str, object] = {
                "version": resource.attributes["service.version"],
                "environment": resource.attributes["deployment.environment"],
                "sample_ratio": ratio,
            }
            return _Tracing(provider, service, router, settings=settings)
        current = otel_trace.get_tracer_provider()  # another thread set one meanwhile
    if previous is not None and previous.provider is current:
        return previous
    add = getattr(current, "add_span_processor", None)
    attached = SpanRouter() if callable(add) else None
    if add is not None and attached is not None:
        add(attached)
    logger.info(
        "tracing: the application's TracerProvider (%s) is kept, with its resource, sampler "
        "and exporters; Vigil adds its own exporters to it",
        type(current).__name__,
        extra={"tracing_service": service, "tracer_provider": type(current).__name__},
    )
    if sample_ratio is not None:
        logger.warning(
            "sample_ratio %s is not applied: the application's TracerProvider samples",
            sample_ratio,
        )
    return _Tracing(current, service, attached)


def _warn_if_not_applied(
    state: _Tracing, version: str | None, environment: str | None, sample_ratio: float | None
) -> None:
    """A later call's resource or sampling settings that differ from the provider's: said,
    not silently ignored (the provider stays: OpenTelemetry's global one is set once)."""
    if not state.settings:  # an application's provider: its own settings, said at adoption
        return
    asked = {"version": version, "environment": environment, "sample_ratio": sample_ratio}
    ignored = {
        name: value
        for name, value in asked.items()
        if value is not None and state.settings.get(name) != value
    }
    if ignored:
        logger.warning(
            "tracing is already set up with %s; %s not applied (the TracerProvider's resource "
            "and sampler are fixed once it is set: call setup_tracing with them first)",
            ", ".join(f"{name}={state.settings.get(name)!r}" for name in ignored),
            ", ".join(f"{name}={value!r}" for name, value in ignored.items()),
        )


def _add_destinations(
    state: _Tracing,
    store: EventStore | None,
    recorder: AgentRecorder | None,
    exporters: Sequence[SpanExporter],
    registry: CollectorRegistry | None,
    max_queue_size: int,
) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from vigil.sdk._drops import DropAccount
    from vigil.sdk._metrics import SdkMetrics
    from vigil.tracing._exporters import RecorderSpanExporter, StoreSpanExporter
    from vigil.tracing._processors import CountingBatchSpanProcessor

    router = state.router
    assert router is not None  # noqa: S101 - checked by the caller
    drops: list[DropAccount] = []

    def account() -> DropAccount:
        if not drops:
            drops.append(DropAccount(SdkMetrics.for_registry(registry), state.service))
        return drops[0]

    def batched(exporter: SpanExporter) -> SpanProcessor:
        return CountingBatchSpanProcessor(
            exporter,
            drops=account(),
            max_queue_size=max_queue_size,
            max_export_batch_size=min(DEFAULT_EXPORT_BATCH, max_queue_size),
            schedule_delay_millis=DEFAULT_SCHEDULE_DELAY_MS,
        )

    wanted: list[tuple[object, Callable[[], SpanProcessor]]] = []
    if store is not None:
        wanted.append(
            (
                store,
                lambda: batched(StoreSpanExporter(store, service=state.service, drops=account())),
            )
        )
    if recorder is not None:
        wanted.append((recorder, lambda: SimpleSpanProcessor(RecorderSpanExporter(recorder))))
    for exporter in exporters:
        wanted.append((exporter, lambda exporter=exporter: batched(exporter)))  # type: ignore[misc]
    for target, build in wanted:
        if id(target) not in state.destinations:
            processor = build()
            state.destinations[id(target)] = processor
            router.add(processor)


def shutdown_tracing(timeout_s: float = SHUTDOWN_TIMEOUT_S) -> bool:
    """Flush what Vigil's destinations hold and detach them, each within ``timeout_s``.

    The TracerProvider stays (a global provider cannot be replaced); spans that end later go
    to the application's own processors only. Returns False if a flush did not finish in
    time (Langfuse's ``flush``/``shutdown`` take no timeout and have hung: they run on a
    thread that is left behind).
    """
    with _lock:
        state = _state
        if state is None:
            return True
        processors = list(state.destinations.values())
        state.destinations.clear()
        client, state.langfuse = state.langfuse, None
        if client is not None and client is not False:
            from vigil.tracing._langfuse import LANGFUSE_GATE

            LANGFUSE_GATE.open = False  # nothing more for it; what it holds is flushed below
        router = state.router
    finished = True
    for processor in processors:
        if router is not None:
            router.remove(processor)
        finished = _bounded(processor.shutdown, timeout_s, type(processor).__name__) and finished
    if client is not None and client is not False:
        finished = _bounded(client.shutdown, timeout_s, "Langfuse") and finished
    return finished


def flush_tracing(timeout_s: float = SHUTDOWN_TIMEOUT_S) -> bool:
    """Export what Vigil's destinations hold now, within ``timeout_s``; they stay attached.

    The instrumentation calls it at the end of the app's lifespan: uvicorn re-raises the
    SIGTERM it handled once the server has stopped (``uvicorn/server.py``, "trigger the
    expected behaviour"), which ends the process without ``atexit`` hooks, so the
    TracerProvider's own flush at exit never runs there and the last spans were lost.
    """
    with _lock:
        state = _state
        processors = [] if state is None else list(state.destinations.values())
        client = None if state is None else state.langfuse
    if client is not None and client is not False:
        # Langfuse's processor is the provider's, not the router's: the client's flush
        # flushes the whole provider (Vigil's destinations with it), then its own queues.
        return _bounded(client.flush, timeout_s, "Langfuse")
    finished = True
    for processor in processors:
        flush = processor.force_flush
        finished = _bounded(flush, timeout_s, type(processor).__name__) and finished
    return finished


def _bounded(call: Callable[[], object], timeout_s: float, what: str) -> bool:
    done = threading.Event()

    def run() -> None:
        try:
            call()
        except Exception:
            logger.exception("shutting down %s failed", what)
        finally:
            done.set()

    threading.Thread(target=run, name=f"vigil-tracing-shutdown[{what}]", daemon=True).start()
    if done.wait(timeout_s):
        return True
    logger.warning("%s did not flush within %.1f s; what it still held is lost", what, timeout_s)
    return False


def tracing_state() -> _Tracing | None:
    """The current setup (for the request tracer and tests), or None."""
    return _state


def _vigil_version() -> str:
    import vigil

    return vigil.__version__


__all__ = ["flush_tracing", "setup_tracing", "shutdown_tracing", "tracing_state"]
