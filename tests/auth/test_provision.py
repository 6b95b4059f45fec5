"""Key files: created private, registered when the store does not know them, refused when
they cannot be trusted."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vigil.auth import KeyFileError, ensure_key_file, new_token, parse_token
from vigil.models import ApiKeyCreate, Scope
from vigil.secret_files import write_new_secret
from vigil.storage import EventStore

WANTED = ApiKeyCreate(name="prometheus", scopes=[Scope.METRICS])


def test_a_missing_file_gets_a_new_key(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "prometheus.key"
    key, outcome = ensure_key_file(store, path, WANTED)
    assert outcome == "created"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    parsed = parse_token(path.read_text().strip())
    assert parsed is not None
    assert parsed.key_id == key.key_id
    assert ensure_key_file(store, path, WANTED) == (key, "present")


def test_a_file_written_before_the_store_is_registered(store: EventStore, tmp_path: Path) -> None:
    """The stacks write key files before the database is up; the first ensure stores it."""
    token, parts = new_token()
    path = tmp_path / "early.key"
    write_new_secret(path, token)
    key, outcome = ensure_key_file(store, path, WANTED)
    assert (key.key_id, outcome) == (parts.key_id, "registered")
    assert store.get_api_key(parts.key_id).key.scopes == [Scope.METRICS]


def test_untrustworthy_files_are_refused(store: EventStore, tmp_path: Path) -> None:
    """Not a token; a revoked key; another secret under a known key id."""
    junk = tmp_path / "junk.key"
    junk.write_text("hunter2\n")
    with pytest.raises(KeyFileError, match="does not hold") as refused:
        ensure_key_file(store, junk, WANTED)
    assert "hunter2" not in str(refused.value)

    revoked = tmp_path / "revoked.key"
    key, _ = ensure_key_file(store, revoked, WANTED)
    store.revoke_api_key(key.key_id)
    with pytest.raises(KeyFileError, match="revoked"):
        ensure_key_file(store, revoked, WANTED)

    forged = tmp_path / "forged.key"
    token = revoked.read_text().strip()
    forged.write_text(token[:-43] + "B" * 43 + "\n")
    with pytest.raises(KeyFileError, match="does not match"):
        ensure_key_file(store, forged, WANTED)
