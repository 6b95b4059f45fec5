"""The webhook token Alertmanager and the controller share."""

from __future__ import annotations

import stat
from pathlib import Path

from vigil.stack import Stack, StackSettings


def test_token_is_private_and_kept_across_runs(tmp_path: Path) -> None:
    """Generated once with mode 600 in a 700 directory; a second `up` reuses it."""
    stack = Stack(StackSettings(state_dir=tmp_path / "state"))
    stack.layout.create()
    token_file = stack.layout.webhook_token
    first = stack.controller.launch_spec().env["VIGIL_ALERT_WEBHOOK_TOKEN"]
    assert len(first) >= 32
    assert token_file.read_text(encoding="utf-8").strip() == first
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    again = stack.controller.launch_spec().env["VIGIL_ALERT_WEBHOOK_TOKEN"]
    assert again == first


def test_controller_env_points_at_the_stack(tmp_path: Path) -> None:
    """The controller gets the stack's database and the extra variables asked for."""
    settings = StackSettings(
        state_dir=tmp_path, postgres_port=15433, controller_env={"VIGIL_CHAOS": "1"}
    )
    stack = Stack(settings)
    stack.layout.create()
    env = stack.controller.launch_spec().env
    assert env["VIGIL_CHAOS"] == "1"
    expected = (
        stack.controller.sqlite_url
        if stack.postgres.missing()
        else "postgresql+psycopg://vigil@127.0.0.1:15433/vigil"
    )
    assert env["VIGIL_DATABASE_URL"] == expected
