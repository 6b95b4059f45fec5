"""The public surface of the ``vigil`` package is a decision: this test pins it."""

import vigil


def test_exported_names() -> None:
    """Changing what ``import vigil`` offers must be deliberate."""
    assert sorted(vigil.__all__) == [
        "HealthProbes",
        "Instrumentation",
        "configure_logging",
        "current_project_id",
        "current_request_id",
        "flush_logs",
        "instrument",
    ]
    for name in vigil.__all__:
        assert getattr(vigil, name) is not None
