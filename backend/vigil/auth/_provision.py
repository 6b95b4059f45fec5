"""Creating keys, and keys kept in files that the stacks hand to the parts needing them.

``ensure_key_file`` is how a key reaches a process without anyone copying it: the native
stack and the compose stack's one-shot job run it (``vigil keys ensure``) for each part,
and the controller runs it for its first admin key. Idempotent: a file that exists is
registered if the store does not know its key yet, so the file may be written before the
database is up (Prometheus reads its key file at every scrape).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from vigil.auth._tokens import ParsedToken, new_token, parse_token, secret_digest
from vigil.models import ApiKey, ApiKeyCreate, ApiKeyCreated
from vigil.secret_files import read_secret, write_new_secret
from vigil.storage import EventStore, NotFound


class KeyFileError(ValueError):
    """A key file that cannot be used: malformed, or holding a revoked or unknown secret."""


def create_key(store: EventStore, key: ApiKeyCreate) -> ApiKeyCreated:
    """Create a key; the returned ``token`` is the only copy of its secret."""
    token, parts = new_token()
    return ApiKeyCreated(**_store(store, key, parts).model_dump(), token=token)


def _store(store: EventStore, key: ApiKeyCreate, parts: ParsedToken) -> ApiKey:
    digest = secret_digest(parts.secret)
    return store.create_api_key(key, key_id=parts.key_id, secret_sha256=digest)


KeyFileOutcome = Literal["created", "registered", "present"]
"""``created``: a new key, written to the file; ``registered``: the file's key was stored;
``present``: the store knew the file's key already."""


def ensure_key_file(
    store: EventStore, path: Path, key: ApiKeyCreate
) -> tuple[ApiKey, KeyFileOutcome]:
    """The key whose token is in ``path``, created (file 0600) when the file is missing.

    ``KeyFileError`` if the file holds something that is not a token, or the token of a
    revoked key or of another secret.
    """
    token = read_secret(path)
    if token is None:
        token, parts = new_token()
        if not write_new_secret(path, token):  # another process won the race: use its file
            return ensure_key_file(store, path, key)
        return _store(store, key, parts), "created"
    held = parse_token(token)
    if held is None:
        raise KeyFileError(f"{path} does not hold a Vigil API key (vigil_<key_id>_<secret>)")
    try:
        stored = store.get_api_key(held.key_id)
    except NotFound:
        return _store(store, key, held), "registered"
    if not held.matches(stored.secret_sha256):
        raise KeyFileError(f"the key in {path} does not match the stored key {held.key_id}")
    if stored.key.revoked_at is not None:
        raise KeyFileError(
            f"the key in {path} ({held.key_id}) was revoked: delete the file to get a new one"
        )
    return stored.key, "present"
