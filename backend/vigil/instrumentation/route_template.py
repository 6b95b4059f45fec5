"""The ``endpoint`` label: the matched route template, read after the app routed the request.

Re-matching routes before the app runs costs a routing pass and breaks on nested routers, so we
read what routing left in the scope. Since FastAPI 0.16x, ``include_router`` no longer flattens
routes: ``scope["route"]`` holds the route as declared (without the router prefixes) and the full
template is only in FastAPI's effective route context. We prefer that, fall back to the Starlette
route's ``path_format`` (plain Starlette apps, mounts), and prefix what mounts added to
``root_path``. ``tests/instrumentation/test_route_template.py`` pins this against our FastAPI.
"""

from __future__ import annotations

from starlette.types import Scope

UNMATCHED_ENDPOINT = "unmatched"

# FastAPI's scope keys (fastapi/routing.py: _FASTAPI_SCOPE_KEY, _FASTAPI_EFFECTIVE_ROUTE_...).
_FASTAPI_SCOPE_KEY = "fastapi"
_EFFECTIVE_ROUTE_KEY = "effective_route_context"


def route_template(scope: Scope, entry_root_path: str) -> str:
    """The template of the route that served ``scope``, or ``unmatched``.

    ``entry_root_path`` is the ``root_path`` the request had when it entered the instrumented app,
    so that the part mounts appended to it can be put back in front of the template.
    """
    template = _fastapi_template(scope)
    if template is None:
        route = scope.get("route")
        template = getattr(route, "path_format", None)
        if not isinstance(template, str):
            return UNMATCHED_ENDPOINT
    mount_prefix = scope.get("root_path", "")[len(entry_root_path) :]
    return mount_prefix + template if mount_prefix else template


def _fastapi_template(scope: Scope) -> str | None:
    fastapi_scope = scope.get(_FASTAPI_SCOPE_KEY)
    if not isinstance(fastapi_scope, dict):
        return None
    context = fastapi_scope.get(_EFFECTIVE_ROUTE_KEY)
    template = getattr(context, "path_format", None)
    return template if isinstance(template, str) else None
