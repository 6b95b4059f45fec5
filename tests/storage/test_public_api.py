"""The public surface of ``vigil.storage`` is a decision: this test pins it."""

import inspect

import vigil.storage
from vigil.storage import EventStore, errors
from vigil.storage._sql_store import SqlEventStore


def test_exported_names() -> None:
    assert sorted(vigil.storage.__all__) == [
        "Conflict",
        "EventStore",
        "InvalidCursor",
        "InvalidData",
        "NotFound",
        "STEP_NOTIFY_CHANNEL",
        "StoreError",
        "StoreUnavailable",
        "StoredApiKey",
        "current_revision",
        "downgrade",
        "open_store",
        "upgrade",
    ]
    for name in vigil.storage.__all__:
        assert getattr(vigil.storage, name) is not None


def test_every_domain_error_is_a_store_error() -> None:
    for error in (errors.NotFound, errors.Conflict, errors.InvalidCursor, errors.StoreUnavailable):
        assert issubclass(error, errors.StoreError)


def test_the_implementation_keeps_the_interface_signatures() -> None:
    """Callers use keyword arguments: parameter names and defaults must not drift."""
    for name, declared in inspect.getmembers(EventStore, inspect.isfunction):
        implemented = getattr(SqlEventStore, name)
        assert inspect.signature(implemented) == inspect.signature(declared), name
