"""The stack's secrets: generated once, private (file 600 in a 700 directory), kept."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import urlsplit

from vigil.stack import Stack, StackSettings
from vigil.stack._secrets import ensure_secret, write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_token_is_private_and_kept_across_runs(tmp_path: Path) -> None:
    """Generated once with mode 600 in a 700 directory; a second `up` reuses it."""
    stack = Stack(StackSettings(state_dir=tmp_path / "state"))
    stack.layout.create()
    token_file = stack.layout.webhook_token
    first = stack.controller.launch_spec().env["VIGIL_ALERT_WEBHOOK_TOKEN"]
    assert len(first) >= 32
    assert token_file.read_text(encoding="utf-8").strip() == first
    assert _mode(token_file) == 0o600
    assert _mode(token_file.parent) == 0o700
    again = stack.controller.launch_spec().env["VIGIL_ALERT_WEBHOOK_TOKEN"]
    assert again == first


def test_a_loose_secrets_directory_and_file_are_tightened(tmp_path: Path) -> None:
    """A state directory from an older version (or a careless copy) gets 700 and 600."""
    stack = Stack(StackSettings(state_dir=tmp_path / "state"))
    stack.layout.secrets.mkdir(parents=True, mode=0o755)
    secret = stack.layout.secret("postgres_password")
    secret.write_text("kept-value\n")
    secret.chmod(0o644)
    stack.layout.create()
    assert _mode(stack.layout.secrets) == 0o700
    assert ensure_secret(secret) == "kept-value"
    assert _mode(secret) == 0o600


def test_write_private_replaces_with_mode_600(tmp_path: Path) -> None:
    """An existing file of mode 644 is replaced by a 600 one (never rewritten in place, so
    nothing reads it half written), and no temporary file is left beside it."""
    path = tmp_path / "web.yml"
    path.write_text("old\n")
    path.chmod(0o644)
    write_private(path, "new\n")
    assert path.read_text() == "new\n"
    assert _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["web.yml"]


def test_controller_env_points_at_the_stack(tmp_path: Path) -> None:
    """The controller gets the stack's database as its own role, `vigil`, with the password
    of secrets/postgres_vigil_password (not the superuser), and the extra variables asked for."""
    settings = StackSettings(
        state_dir=tmp_path, postgres_port=15433, controller_env={"VIGIL_CHAOS": "1"}
    )
    stack = Stack(settings)
    stack.layout.create()
    env = stack.controller.launch_spec().env
    assert env["VIGIL_CHAOS"] == "1"
    if stack.postgres.missing():
        assert env["VIGIL_DATABASE_URL"] == stack.controller.sqlite_url
        return
    url = urlsplit(env["VIGIL_DATABASE_URL"])
    password = stack.layout.secret("postgres_vigil_password").read_text().strip()
    assert (url.scheme, url.username, url.password) == ("postgresql+psycopg", "vigil", password)
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", 15433, "/vigil")
    assert len(password) >= 32
    assert password not in stack.postgres.url, "what `status` shows carries no password"
