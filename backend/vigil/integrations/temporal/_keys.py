"""The ids Vigil records a Temporal execution under, derived from the execution itself.

Every process that sees a workflow execution (the client that started it, each worker that
runs its workflow tasks or activities, a worker that replaces one killed with ``kill -9``)
derives the same ids from the same Temporal names, with no lookup: the Vigil workflow and
run of an execution, the id of each transition and the batch id of each attempt's step.
The store keeps one record per id (``Idempotency-Key``), so recording the same thing twice
stores it once.

The ids are UUIDv7-shaped so that listings stay newest first: the 48-bit time comes from the
Temporal run id when the server made it a UUIDv7 (Server 1.32.0, the dev server tested here,
does), the other bits from a SHA-256 of the names. A run id of another kind gives the id a
zero time (it sorts as the oldest) but it stays stable.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final
from uuid import UUID

CORRELATION_PREFIX: Final = "temporal"
SAFE_ID: Final = re.compile(r"^[A-Za-z0-9._:-]+$")
MAX_CORRELATION_LENGTH: Final = 128
PHASE_CHARS: Final = re.compile(r"[^a-z0-9_.-]+")


def correlation_id(workflow_id: str, run_id: str) -> str:
    """``<workflow id>:<run id>``, the correlation id of an execution's Vigil workflow.

    A workflow id outside Vigil's identifier charset (``[A-Za-z0-9._:-]``), or too long to
    fit with its run id in 128 characters, is replaced by ``sha256-<first 24 hex digits>``
    of it; the original is in the workflow's metadata."""
    if SAFE_ID.match(workflow_id) and len(workflow_id) + 1 + len(run_id) <= MAX_CORRELATION_LENGTH:
        return f"{workflow_id}:{run_id}"
    digest = hashlib.sha256(workflow_id.encode()).hexdigest()[:24]
    return f"sha256-{digest}:{run_id}"


def _time_bits(run_id: str) -> int:
    try:
        parsed = UUID(run_id)
    except ValueError:
        return 0
    return parsed.int >> 80 if parsed.version == 7 else 0


def derived_id(namespace: str, workflow_id: str, run_id: str, *parts: str | int) -> UUID:
    """A UUIDv7-shaped id for ``parts`` of one execution (stable across processes)."""
    name = "\x1f".join([namespace, workflow_id, run_id, *map(str, parts)])
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:10], "big")  # 80 bits
    value = (_time_bits(run_id) << 80) | digest
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return UUID(int=value)


def phase(*words: str) -> str:
    """A Vigil phase (``^[a-z0-9][a-z0-9_.-]{0,63}$``) from e.g. ``("activity", "CallModel")``."""
    text = ".".join(PHASE_CHARS.sub("_", word.lower()).strip("_.-") or "x" for word in words)
    return text[:64]
