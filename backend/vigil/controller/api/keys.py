"""API keys, managed with a key of the admin scope (``vigil keys`` does the same offline)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from starlette.concurrency import run_in_threadpool

from vigil.auth import create_key
from vigil.controller.api._deps import AUTH_RESPONSES, Store, error_responses
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import Admin, KeyRing, owned_project
from vigil.models import KEY_ID_PATTERN, ApiKey, ApiKeyCreate, ApiKeyCreated

router = APIRouter(
    route_class=JsonBodyRoute, prefix="/keys", tags=["keys"], responses=AUTH_RESPONSES
)

KeyIdPath = Annotated[str, Path(pattern=KEY_ID_PATTERN, description="the key's public id")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=error_responses(409, 503),
)
async def create_api_key(key: ApiKeyCreate, store: Store, principal: Admin) -> ApiKeyCreated:
    """Create a key. Its token is in this answer and nowhere else: the store keeps a digest.

    A project's admin key creates keys of its own project only.
    """
    project_id = owned_project(principal, key.project_id)
    if project_id != key.project_id:
        key = key.model_copy(update={"project_id": project_id})
    return await run_in_threadpool(create_key, store, key)


@router.get("", response_model=list[ApiKey], responses=error_responses(503))
async def list_api_keys(
    store: Store,
    principal: Admin,
    include_revoked: Annotated[bool, Query(description="also list revoked keys")] = False,
) -> list[ApiKey]:
    """The keys (never their secrets), oldest first; a project's admin key sees its project's."""
    return await run_in_threadpool(
        store.list_api_keys, project_id=principal.project_id, include_revoked=include_revoked
    )


@router.post("/{key_id}/revoke", response_model=ApiKey, responses=error_responses(404, 503))
async def revoke_api_key(
    key_id: KeyIdPath, store: Store, request: Request, principal: Admin
) -> ApiKey:
    """Revoke a key: refused from now on by this controller (by others within seconds)."""
    key = await run_in_threadpool(store.revoke_api_key, key_id, project_id=principal.project_id)
    keyring: KeyRing = request.app.state.keyring
    keyring.forget(key_id)
    return key
