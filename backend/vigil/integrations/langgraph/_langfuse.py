"""Langfuse's official LangChain handler in the same trace as Vigil's: ``agent_callbacks``.

``langfuse.langchain.CallbackHandler`` (langfuse 4.18.0) is used as it is, never rewritten:
it makes one Langfuse observation (an OpenTelemetry span of the Langfuse client, on Vigil's
TracerProvider: ``vigil.tracing``) per LangChain call. ``LangfuseLink`` reads, when Vigil's
handler records a call's step, the observation Langfuse's handler made for the same call:
its ``_runs`` maps a LangChain run id to the open observation (the SDK has no public lookup;
tests/integrations/langgraph/test_coverage.py fails if that changes). Vigil's handler
must therefore come first in the list: langchain_core calls handlers in list order (and
its inline handlers before the others on the async path), so Vigil's ``on_*_end`` runs
before Langfuse's removes the observation.

A step's link to Langfuse is ``{LANGFUSE_BASE_URL}/project/{LANGFUSE_PROJECT_ID}/traces/
{trace_id}?observation={id}``; without ``LANGFUSE_PROJECT_ID``, ``/trace/{trace_id}``, which
the Langfuse server redirects to the trace's project (the SDK's own ``get_trace_url`` asks
the API for the project id: a round trip that has no place on the agent's thread).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from vigil.tracing._langfuse import BASE_URL, HOST, PUBLIC_KEY, langfuse_configured

if TYPE_CHECKING:
    from langchain_core.callbacks import BaseCallbackHandler

    from vigil.sdk import AgentRecorder

PROJECT_ID: Final = "LANGFUSE_PROJECT_ID"


class LangfuseLink:
    """The Langfuse observation of a LangChain call, while the call is open."""

    def __init__(self, handler: Any, *, base_url: str, project_id: str | None = None) -> None:
        self.handler = handler
        base = base_url.rstrip("/")
        self._trace_url = f"{base}/project/{project_id}/traces/" if project_id else f"{base}/trace/"

    def observation(self, run_id: UUID, parent_run_id: UUID | None) -> dict[str, Any] | None:
        """``trace_id``, ``observation_id``, ``parent_observation_id`` and ``url`` of the
        call's observation; None if Langfuse's handler has none (it failed, or is disabled)."""
        runs = self.handler._runs
        found = runs.get(run_id)
        if found is None:
            return None
        parent = runs.get(parent_run_id) if parent_run_id is not None else None
        trace_id = found.trace_id
        return {
            "trace_id": trace_id,
            "observation_id": found.id,
            "parent_observation_id": None if parent is None else parent.id,
            "url": f"{self._trace_url}{trace_id}?observation={found.id}",
        }


def agent_callbacks(
    recorder: AgentRecorder,
    *,
    agent: str = "langgraph",
    project_id: str = "default",
    run_name: str | None = None,
    langfuse: bool | None = None,
    capture_io: bool = True,
) -> list[BaseCallbackHandler]:
    """The callbacks an agent passes in its graph's config (``{"callbacks": ...}``).

    Vigil's ``VigilCallbackHandler`` on ``recorder``, and, when Langfuse is configured
    (``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY``, ``LANGFUSE_BASE_URL``; ``langfuse``
    None) or asked for (True), Langfuse's official handler after it, every Vigil step then
    carrying the trace id and the observation of its Langfuse twin. Langfuse's client is the
    one ``vigil.tracing.setup_tracing`` connects (set up here on ``recorder`` if it was not):
    it never installs a TracerProvider of its own.
    """
    from vigil.integrations.langgraph._callbacks import VigilCallbackHandler

    link = None
    if langfuse is not False and (langfuse or langfuse_configured()):
        link = _langfuse_link(recorder, required=bool(langfuse))
    handler = VigilCallbackHandler(
        recorder,
        agent=agent,
        project_id=project_id,
        run_name=run_name,
        langfuse=link,
        capture_io=capture_io,
    )
    if link is None:
        return [handler]
    return [handler, link.handler]


def _langfuse_link(recorder: AgentRecorder, *, required: bool) -> LangfuseLink | None:
    from vigil.tracing import setup_tracing
    from vigil.tracing._setup import tracing_state

    setup_tracing(recorder.service, recorder=recorder, langfuse=True if required else None)
    state = tracing_state()
    if state is None or not state.langfuse:
        return None
    from langfuse.langchain import CallbackHandler

    handler = CallbackHandler(public_key=os.environ[PUBLIC_KEY])
    base_url = os.environ.get(BASE_URL) or os.environ.get(HOST) or ""
    return LangfuseLink(handler, base_url=base_url, project_id=os.environ.get(PROJECT_ID))
