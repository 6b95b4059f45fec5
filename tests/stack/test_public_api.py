"""What ``vigil.stack`` exports is a decision: this test pins it."""

import vigil.stack


def test_exported_names() -> None:
    assert sorted(vigil.stack.__all__) == [
        "ComponentStatus",
        "RenderError",
        "Stack",
        "StackError",
        "StackSettings",
        "add_stack_commands",
        "render_alertmanager",
        "render_prometheus",
        "run_stack_command",
    ]
    for name in vigil.stack.__all__:
        assert getattr(vigil.stack, name) is not None
