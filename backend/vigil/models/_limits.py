"""Size limits of what the API accepts, in one place so the HTTP layer, the docs and the
tests quote the same numbers."""

from typing import Final

MAX_NAME_LENGTH: Final = 200
"""Names of runs, agents, steps, loggers, services, workflow types, alert names."""

MAX_IDENTIFIER_LENGTH: Final = 128
"""Project ids, request ids, correlation ids (same rule as an accepted X-Request-Id)."""

MAX_STEP_DATA_BYTES: Final = 64 * 1024
"""A step's ``data`` serialized as JSON (tool arguments, an LLM completion...)."""

MAX_METADATA_BYTES: Final = 16 * 1024
"""``metadata`` of runs and workflows, ``attributes`` of logs and spans, serialized as JSON."""

MAX_LOG_MESSAGE_LENGTH: Final = 16 * 1024
MAX_REASON_LENGTH: Final = 2_000
MAX_URI_LENGTH: Final = 2_048

MAX_LABELS: Final = 32
MAX_LABEL_VALUE_LENGTH: Final = 512
MAX_ANNOTATION_VALUE_LENGTH: Final = 8 * 1024

MAX_ARTIFACTS_PER_STEP: Final = 100
"""Artifact ids one step may link to."""

MAX_STEPS_PER_APPEND: Final = 1_000
MAX_BATCH_EVENTS: Final = 10_000
"""Upper bound of one ``write_batch`` call (the SDK writer sends batches of ~1,000)."""

DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 1_000

MAX_TRACE_SPANS: Final = 10_000
"""Spans one trace read (``GET /traces/{id}``, ``GET /runs/{id}/trace``) returns at most."""
MAX_TRACE_DEPTH: Final = 100
"""Nesting levels of a span tree in an answer: a deeper span starts a new root there (JSON
serializers cap nesting; pydantic's at ~250 levels)."""
