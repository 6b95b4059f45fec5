"""The token format: ``vigil_<key_id>_<secret>``.

``key_id`` (16 hex digits) is public: the store finds the key by it, listings and records
show it. ``secret`` is 32 random bytes (base64url, 43 characters) and is never stored: the
store keeps its SHA-256 digest. A fast digest is right here, unlike for passwords: a 256-bit
random secret cannot be guessed, so slowing the hash down would only slow every request
(GitHub's and Stripe's API tokens are checked the same way). The comparison of digests is
constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

TOKEN_PREFIX: Final = "vigil_"  # noqa: S105 - a prefix, no secret
_TOKEN = re.compile(r"vigil_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class ParsedToken:
    key_id: str
    secret: str

    def matches(self, secret_sha256: str) -> bool:
        """Whether this token's secret has the stored digest (constant time)."""
        return hmac.compare_digest(secret_digest(self.secret), secret_sha256)


def secret_digest(secret: str) -> str:
    """The SHA-256 digest of a secret, as the store keeps it (64 hex digits)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, ParsedToken]:
    """A fresh token and its parts."""
    parts = ParsedToken(secrets.token_hex(8), secrets.token_urlsafe(32))
    return f"{TOKEN_PREFIX}{parts.key_id}_{parts.secret}", parts


def parse_token(token: str) -> ParsedToken | None:
    """The parts of a well-formed token, or None (nothing about it is echoed anywhere)."""
    match = _TOKEN.fullmatch(token)
    return None if match is None else ParsedToken(match.group(1), match.group(2))
