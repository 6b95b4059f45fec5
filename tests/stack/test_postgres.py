"""The stack's PostgreSQL cluster and the state an older version left behind."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.native_stack import new_state_dir, stack_settings
from vigil.stack import Stack, StackError
from vigil.stack._binaries import postgres_bin_dir
from vigil.stack._postgres import server_account


@pytest.fixture
def stack() -> Iterator[Stack]:
    state = new_state_dir()
    stack = Stack(stack_settings(state))
    try:
        yield stack
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)


def _initdb_as_before(stack: Stack) -> None:
    """What `vigil stack up` did before: initdb --auth=trust with the superuser `vigil`."""
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None, "PostgreSQL server binaries (scripts/install-native-deps.sh)"
    root = stack.layout.part("postgres")
    root.mkdir(mode=0o700, parents=True)
    command = [str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "vigil", "--auth=trust"]
    if (account := server_account()) is not None:
        entry = pwd.getpwnam(account)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        command = ["runuser", "-u", account, "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def test_a_trust_cluster_from_an_older_version_is_refused(stack: Stack) -> None:
    """`up` on a state directory whose cluster trusts every login fails before anything
    starts, saying why and how to reset it; it does not go on with trust."""
    _initdb_as_before(stack)
    with pytest.raises(StackError) as failure:
        stack.up()
    message = str(failure.value)
    assert "trusts every local login" in message
    assert "superuser is the controller's role `vigil`" in message
    reset = f"vigil stack down --state-dir {stack.layout.root} && rm -rf "
    assert f"{reset}{stack.layout.part('postgres')}" in message
    assert [s.state for s in stack.status()] == ["stopped"] * len(stack.components)
    assert "trust" in (stack.postgres.data_dir / "pg_hba.conf").read_text(), "left as it was"


def test_a_cluster_without_its_superuser_password_is_refused(stack: Stack) -> None:
    """A cluster whose password file was deleted cannot be logged into: `up` says so and how
    to reset, instead of generating a new password that matches nothing."""
    stack.layout.create()
    stack.postgres.prepare()  # initdb with a generated superuser password
    stack.layout.secret("postgres_password").unlink()
    with pytest.raises(StackError, match=r"superuser's password file .* is gone"):
        stack.up()
    assert not stack.layout.secret("postgres_password").exists()
