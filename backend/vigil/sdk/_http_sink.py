"""A sink posting batches to the controller's HTTP API.

Contract (the controller's side is ``POST /events/batch``):

- ``POST {batch_path}`` with ``{"events": [<BatchEvent>, ...]}`` -> 202 and the
  ``BatchWriteResult`` as JSON;
- ``POST {runs_path}`` with a ``RunCreate`` -> 201 and the ``Run``;
- ``POST {runs_path}/{run_id}/finish`` with a ``RunFinish`` -> 200 and the ``Run``;
- ``POST {workflows_path}`` and ``{workflows_path}/{id}/transitions`` (the workflows the
  Temporal integration records), with an ``Idempotency-Key`` when the caller derived one;
- ``Authorization: Bearer <token>``: a Vigil API key with the ``ingest`` scope;
- ``Idempotency-Key: <batch_id>`` on a batch: the controller stores a batch once per key, so
  the writer's retry after a lost answer (stored, but the connection dropped before the 202)
  is not stored twice.

The controller's URL and key default to the ``VIGIL_URL`` and ``VIGIL_API_KEY`` environment
variables (what ``vigil stack up`` prints and hands over), so agent code names neither.

408, 429, 5xx and transport errors (refused, reset, timed out) raise ``SinkUnavailable``;
any other status outside 2xx raises ``SinkRejected``.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Final
from uuid import UUID

import httpx

from vigil.models import (
    BatchItem,
    BatchWriteResult,
    Run,
    RunCreate,
    RunFinish,
    Workflow,
    WorkflowCreate,
    WorkflowTransitionCreate,
)
from vigil.sdk._controller import ControllerAddress
from vigil.sdk._events import dump_batch
from vigil.sdk._sink import EventSink, SinkRejected, SinkUnavailable

RETRYABLE_STATUSES: Final = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})
ERROR_DETAIL_CHARS: Final = 500
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"


class HttpSink(EventSink):
    """Posts batches to a Vigil controller over one persistent ``httpx.Client``."""

    takes_records = True  # posted as the StepEvents they stand for (dump_batch)

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        batch_path: str = "/events/batch",
        runs_path: str = "/runs",
        workflows_path: str = "/workflows",
    ) -> None:
        self.address = ControllerAddress.resolve(base_url, token)
        self.batch_path = batch_path
        self.runs_path = runs_path.rstrip("/")
        self.workflows_path = workflows_path.rstrip("/")
        self._client = self.address.client(
            timeout=timeout, headers={"Content-Type": "application/json"}
        )

    def write(
        self, events: Sequence[BatchItem], *, batch_id: UUID | None = None
    ) -> BatchWriteResult:
        body = b'{"events":' + dump_batch(events) + b"}"
        response = self._post(self.batch_path, body, _keyed(batch_id))
        return BatchWriteResult.model_validate_json(response.content)

    def create_run(self, run: RunCreate, *, run_id: UUID | None = None) -> Run:
        response = self._post(self.runs_path, run.model_dump_json().encode(), _keyed(run_id))
        return Run.model_validate_json(response.content)

    def create_workflow(
        self, workflow: WorkflowCreate, *, workflow_id: UUID | None = None
    ) -> Workflow:
        body = workflow.model_dump_json().encode()
        response = self._post(self.workflows_path, body, _keyed(workflow_id))
        return Workflow.model_validate_json(response.content)

    def transition_workflow(
        self,
        workflow_id: UUID,
        transition: WorkflowTransitionCreate,
        *,
        transition_id: UUID | None = None,
    ) -> Workflow:
        path = f"{self.workflows_path}/{workflow_id}/transitions"
        body = transition.model_dump_json(exclude_none=True).encode()
        response = self._post(path, body, _keyed(transition_id))
        return Workflow.model_validate_json(response.content)

    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        response = self._post(
            f"{self.runs_path}/{run_id}/finish", finish.model_dump_json().encode()
        )
        return Run.model_validate_json(response.content)

    def close(self) -> None:
        self._client.close()

    def _post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            response = self._client.post(path, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise SinkUnavailable(f"POST {path}: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return response
        detail = f"POST {path}: HTTP {response.status_code}: {_error_text(response)}"
        if response.status_code in RETRYABLE_STATUSES or response.is_server_error:
            raise SinkUnavailable(detail)
        raise SinkRejected(detail)


def _keyed(key: UUID | None) -> dict[str, str] | None:
    return None if key is None else {IDEMPOTENCY_HEADER: str(key)}


def _error_text(response: httpx.Response) -> str:
    return response.text[:ERROR_DETAIL_CHARS]
