"""``setup_tracing``: one TracerProvider per process, never replacing the application's,
idempotent, its resource and sampler; ``shutdown_tracing`` flushes and detaches."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.tracing.conftest import CollectingExporter
from vigil.tracing import TracingContext, setup_tracing, shutdown_tracing
from vigil.tracing._setup import tracing_state


def test_a_provider_is_created_with_the_services_resource(collected: CollectingExporter) -> None:
    setup_tracing("etl", version="2.1", environment="staging", exporters=[collected])
    with TracingContext("job"):
        pass
    shutdown_tracing()
    (span,) = collected.spans
    resource = dict(span.resource.attributes)
    assert resource["service.name"] == "etl"
    assert resource["service.version"] == "2.1"
    assert resource["deployment.environment"] == "staging"
    assert isinstance(trace.get_tracer_provider(), TracerProvider)


def test_setup_is_idempotent(collected: CollectingExporter) -> None:
    """Twice with the same exporter: one provider, one router, each span exported once."""
    first = setup_tracing("etl", exporters=[collected])
    provider = trace.get_tracer_provider()
    second = setup_tracing("etl", exporters=[collected])
    assert trace.get_tracer_provider() is provider
    assert type(first) is type(second)
    state = tracing_state()
    assert state is not None
    assert len(state.destinations) == 1
    with TracingContext("once"):
        pass
    shutdown_tracing()
    assert collected.names() == ["once"]


def test_sample_ratio_zero_records_no_root_span(collected: CollectingExporter) -> None:
    setup_tracing("etl", sample_ratio=0.0, exporters=[collected])
    with TracingContext("dropped") as ctx:
        assert ctx.span is not None
        assert not ctx.span.is_recording()
    shutdown_tracing()
    assert collected.spans == []


def test_a_bad_sample_ratio_is_refused() -> None:
    with pytest.raises(ValueError, match="sample_ratio"):
        setup_tracing("etl", sample_ratio=1.5)


def test_the_applications_own_tracer_provider_is_kept(
    collected: CollectingExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """langfuse #6885: an SDK that installs its own provider takes the application's spans
    away from its exporters. Vigil keeps the application's provider (its resource, its
    sampler, its exporters) and adds its own destination beside them; a sample ratio it was
    given is not applied, and the log says so."""
    own = CollectingExporter()
    app_provider = TracerProvider()
    app_provider.add_span_processor(SimpleSpanProcessor(own))
    trace.set_tracer_provider(app_provider)

    with caplog.at_level(logging.INFO, logger="vigil.tracing"):
        setup_tracing("checkout", sample_ratio=0.5, exporters=[collected])
    assert trace.get_tracer_provider() is app_provider
    assert "application's TracerProvider (TracerProvider) is kept" in caplog.text
    assert "sample_ratio 0.5 is not applied" in caplog.text

    with TracingContext("pay"):
        pass
    shutdown_tracing()
    assert own.names() == ["pay"]  # the application's exporter still gets its spans
    assert collected.names() == ["pay"]  # and so does Vigil's destination
    # The application's resource stays (no service.name of Vigil's making).
    assert collected.spans[0].resource.attributes.get("service.name") != "checkout"


def test_a_provider_that_takes_no_processors_is_used_as_it_is(
    collected: CollectingExporter, caplog: pytest.LogCaptureFixture
) -> None:
    trace.set_tracer_provider(trace.NoOpTracerProvider())
    with caplog.at_level(logging.WARNING, logger="vigil.tracing"):
        setup_tracing("odd", exporters=[collected])
    assert isinstance(trace.get_tracer_provider(), trace.NoOpTracerProvider)
    assert "takes no span processors" in caplog.text


def test_shutdown_flushes_and_detaches(collected: CollectingExporter) -> None:
    """What is queued is exported at shutdown; spans ending later go nowhere of Vigil's."""
    setup_tracing("etl", exporters=[collected])
    with TracingContext("before"):
        pass
    assert shutdown_tracing() is True
    assert collected.names() == ["before"]
    with TracingContext("after"):
        pass
    assert shutdown_tracing() is True
    assert collected.names() == ["before"]


def test_settings_a_later_setup_cannot_apply_are_warned_about(
    collected: CollectingExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """The provider stays for the process: a second call's other environment or sample ratio
    is not applied, and says so (it was ignored silently); the same values are no news."""
    setup_tracing("etl", environment="dev", exporters=[collected])
    shutdown_tracing()
    caplog.clear()  # the first call's INFO line, when an earlier test left the root at INFO
    with caplog.at_level(logging.WARNING, logger="vigil.tracing"):
        setup_tracing("etl", environment="dev", sample_ratio=1.0, exporters=[collected])
        assert caplog.records == []
        setup_tracing("etl", environment="prod", sample_ratio=0.0, exporters=[collected])
    (warning,) = caplog.records
    assert "environment='prod', sample_ratio=0.0 not applied" in warning.getMessage()
    assert "environment='dev', sample_ratio=1.0" in warning.getMessage()
    with TracingContext("still sampled"):
        pass
    shutdown_tracing()
    (span,) = collected.spans
    assert span.resource.attributes["deployment.environment"] == "dev"


def test_the_defaults_a_provider_got_are_no_news(
    collected: CollectingExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """Asking again for what the first call left to the defaults (environment development,
    sample ratio 1.0) is what the provider has: no warning."""
    setup_tracing("etl", exporters=[collected])
    caplog.clear()  # the first call's INFO line, when an earlier test left the root at INFO
    with caplog.at_level(logging.WARNING, logger="vigil.tracing"):
        setup_tracing("etl", environment="development", sample_ratio=1.0, exporters=[collected])
    shutdown_tracing()
    assert caplog.records == []


def test_setup_after_shutdown_reuses_the_provider(collected: CollectingExporter) -> None:
    setup_tracing("etl", exporters=[collected])
    provider = trace.get_tracer_provider()
    shutdown_tracing()
    again = CollectingExporter()
    setup_tracing("etl", exporters=[again])
    assert trace.get_tracer_provider() is provider
    with TracingContext("second"):
        pass
    shutdown_tracing()
    assert (collected.names(), again.names()) == ([], ["second"])
