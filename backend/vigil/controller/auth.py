"""API keys on every endpoint: ``Authorization: Bearer <key>``, checked against the store.

An operation states the scope it needs by the type of one parameter::

    async def create_run(run: RunCreate, store: Store, principal: Ingest) -> Run: ...

and gets the :class:`~vigil.auth.Principal` (key id, project, scopes) to restrict what it
touches to the key's project. No key, a malformed one, an unknown or revoked one: 401 with
``WWW-Authenticate: Bearer``. A key without the scope: 403. Both are the project's JSON
error with the request id, and neither echoes anything of the key.

Checking a key costs a store lookup, so :class:`KeyRing` keeps each verdict for
``ttl_s`` seconds (5 by default), keyed by a digest of the whole token: a revocation through
this controller's API takes effect at once, one made elsewhere (``vigil keys revoke``,
another controller) within the TTL. Unknown tokens are remembered too, so a client spraying
bad keys cannot make every request a database query.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from vigil._run_context import bind_project
from vigil.auth import Principal, parse_token
from vigil.models import Scope
from vigil.settings import Settings
from vigil.storage import EventStore, NotFound

DEFAULT_TTL_S = 5.0
MAX_CACHED_TOKENS = 10_000

bearer = HTTPBearer(
    scheme_name="ApiKey",
    description="A Vigil API key: `Authorization: Bearer vigil_<key_id>_<secret>` "
    "(`vigil keys create`).",
    auto_error=False,
)


@dataclass(frozen=True, slots=True)
class _Verdict:
    principal: Principal | None
    expires: float


class KeyRing:
    """Verified keys of one controller, each verdict kept for ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_entries: int = MAX_CACHED_TOKENS) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._verdicts: dict[bytes, _Verdict] = {}

    async def authenticate(self, store: EventStore, token: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None for anything else."""
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        verdict = self._verdicts.get(digest)
        if verdict is not None and verdict.expires > now:
            return verdict.principal
        principal = await self._verify(store, token)
        if len(self._verdicts) >= self.max_entries:
            self._verdicts.clear()  # bounded memory; the next requests simply verify again
        self._verdicts[digest] = _Verdict(principal, now + self.ttl_s)
        return principal

    async def _verify(self, store: EventStore, token: str) -> Principal | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        try:
            stored = await run_in_threadpool(store.get_api_key, parsed.key_id)
        except NotFound:
            return None
        if not parsed.matches(stored.secret_sha256) or stored.key.revoked_at is not None:
            return None
        return Principal.of(stored.key)

    def forget(self, key_id: str) -> None:
        """Drop what is known of a key (after it was revoked here)."""
        stale = [
            digest
            for digest, verdict in self._verdicts.items()
            if verdict.principal is not None and verdict.principal.key_id == key_id
        ]
        for digest in stale:
            del self._verdicts[digest]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The principal of the request's key, or a 401."""
    if credentials is None:
        raise unauthorized("an API key is required: Authorization: Bearer <key>")
    keyring: KeyRing = request.app.state.keyring
    principal = await keyring.authenticate(request.app.state.store, credentials.credentials)
    if principal is None:
        raise unauthorized("unknown or revoked API key")
    request.state.principal = principal
    # Records the controller writes while serving this request (its access record first)
    # belong to the key's project. Each request is its own task with its own copy of the
    # context, so the binding ends with the request and needs no reset.
    bind_project(principal.project_id)
    return principal


def require(scope: Scope) -> Any:
    """A dependency: the request's principal, if its key has ``scope`` (else 401/403)."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = await authenticate(request, credentials)
        if not principal.allows(scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this API key does not have the {scope} scope"
            )
        return principal

    dependency.__name__ = f"require_{scope}"
    return Depends(dependency)


Ingest = Annotated[Principal, require(Scope.INGEST)]
Read = Annotated[Principal, require(Scope.READ)]
Admin = Annotated[Principal, require(Scope.ADMIN)]
MetricsScrape = Annotated[Principal, require(Scope.METRICS)]


def forbidden_project(project_id: str | None) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN,
        "this API key is for another project"
        if project_id is not None
        else "only a key for every project may do this",
    )


def project_filter(principal: Principal, requested: str | None) -> str | None:
    """The project a listing is restricted to: the one asked for (if the key may see it),
    else the key's own (None: every project, for a key for every project)."""
    if requested is None:
        return principal.project_id
    if not principal.may_act_for(requested):
        raise forbidden_project(requested)
    return requested


def owned_project(principal: Principal, given: str | None) -> str | None:
    """The project of a record a key creates: the key's own; naming another is a 403."""
    if principal.project_id is None:
        return given
    if given is not None and given != principal.project_id:
        raise forbidden_project(given)
    return principal.project_id


def check_bearer_token(
    credentials: HTTPAuthorizationCredentials | None,
    expected: SecretStr | None,
    *,
    disabled: str,
) -> None:
    """A 401 unless the request's bearer token is ``expected`` (compared in constant time);
    with no token configured, every call is a 401 saying ``disabled``. For the tokens that
    are not API keys: Alertmanager's webhook token and the operations token."""
    if expected is None:
        raise unauthorized(disabled)
    if credentials is None or not secrets.compare_digest(
        credentials.credentials.encode(), expected.get_secret_value().encode()
    ):
        raise unauthorized("missing or wrong bearer token")


ops_bearer = HTTPBearer(
    scheme_name="OpsToken",
    description="The operations token (VIGIL_OPS_TOKEN; `vigil stack up`: "
    "`.stack/secrets/ops_token`); not an API key.",
    auto_error=False,
)


async def require_ops_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(ops_bearer)],
) -> None:
    """Operations endpoints (``/ops/...``): the ops bearer token, or a 401."""
    settings: Settings = request.app.state.settings
    check_bearer_token(
        credentials,
        settings.ops_token,
        disabled="operations endpoints are disabled: VIGIL_OPS_TOKEN is not set",
    )
