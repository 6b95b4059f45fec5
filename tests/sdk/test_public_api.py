"""The public surface of ``vigil.sdk`` is a decision: this test pins it."""

import subprocess
import sys

import vigil.sdk


def test_exported_names() -> None:
    assert sorted(vigil.sdk.__all__) == [
        "AgentRecorder",
        "ArtifactUpload",
        "ArtifactUploadError",
        "ArtifactUploader",
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


def test_the_sdk_loads_no_server_library() -> None:
    """An agent importing vigil.sdk (artifact uploads included) loads neither boto3 nor the
    artifact stores: those are the controller's."""
    code = (
        "import sys, vigil.sdk; "
        "print(sorted(m for m in ('boto3', 'botocore', 'vigil.artifacts') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
