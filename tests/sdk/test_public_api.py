"""The public surface of ``vigil.sdk`` is a decision: this test pins it."""

import vigil.sdk


def test_exported_names() -> None:
    assert sorted(vigil.sdk.__all__) == [
        "AgentRecorder",
        "DropReason",
        "EventSink",
        "ExecutionLogHandler",
        "HttpSink",
        "SdkMetrics",
        "SinkError",
        "SinkRejected",
        "SinkUnavailable",
        "SpoolInUse",
        "StoreSink",
        "current_project",
        "current_run_id",
        "current_step_id",
        "run_context",
    ]
    for name in vigil.sdk.__all__:
        assert getattr(vigil.sdk, name) is not None


def test_sink_errors_share_a_base() -> None:
    assert issubclass(vigil.sdk.SinkUnavailable, vigil.sdk.SinkError)
    assert issubclass(vigil.sdk.SinkRejected, vigil.sdk.SinkError)
