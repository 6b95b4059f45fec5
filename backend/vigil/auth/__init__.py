"""API keys of the controller: their tokens, who holds them, and how they are provisioned.

    from vigil.auth import create_key, ensure_key_file

    created = create_key(store, ApiKeyCreate(name="ci", scopes=["ingest"], project_id="p1"))
    created.token          # shown once: vigil_<key_id>_<secret>
    ensure_key_file(store, Path(".stack/secrets/admin_key"), ApiKeyCreate(...))

The controller checks keys with :mod:`vigil.controller.auth`; ``vigil keys`` manages them.
"""

from vigil.auth._principal import Principal
from vigil.auth._provision import KeyFileError, create_key, ensure_key_file
from vigil.auth._tokens import TOKEN_PREFIX, ParsedToken, new_token, parse_token, secret_digest

__all__ = [
    "TOKEN_PREFIX",
    "KeyFileError",
    "ParsedToken",
    "Principal",
    "create_key",
    "ensure_key_file",
    "new_token",
    "parse_token",
    "secret_digest",
]
