"""``EventStore`` over SQLAlchemy Core, for both backends: one query module per resource."""

from vigil.storage._interface import EventStore
from vigil.storage._sql_alerts import AlertQueries
from vigil.storage._sql_artifacts import ArtifactQueries
from vigil.storage._sql_batch import BatchIngestion
from vigil.storage._sql_keys import KeyQueries
from vigil.storage._sql_logs import LogQueries
from vigil.storage._sql_retention import RetentionQueries
from vigil.storage._sql_spans import SpanQueries
from vigil.storage._sql_workflows import WorkflowQueries


class SqlEventStore(
    BatchIngestion,
    LogQueries,
    WorkflowQueries,
    SpanQueries,
    AlertQueries,
    ArtifactQueries,
    KeyQueries,
    RetentionQueries,
    EventStore,
):
    """Every query of :class:`EventStore`; the :class:`Backend` supplies what differs."""
