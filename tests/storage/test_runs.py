"""Runs: lifecycle, listing with keyset pagination, and the domain errors."""

import uuid

import pytest

from vigil.models import Run, RunCreate, RunFinish, RunStatus, id_timestamp
from vigil.storage import Conflict, EventStore, InvalidCursor, NotFound, open_store


def _run(store: EventStore, name: str = "triage", project_id: str = "proj-a") -> Run:
    return store.create_run(
        RunCreate(name=name, agent="support-bot", project_id=project_id, metadata={"k": [1, "x"]})
    )


def test_run_lifecycle(store: EventStore) -> None:
    """A run starts running with a time-ordered id, and finishes exactly once."""
    run = _run(store)
    assert run.status is RunStatus.RUNNING
    assert run.finished_at is None
    assert run.id.version == 7
    assert abs((id_timestamp(run.id) - run.started_at).total_seconds()) < 1
    assert store.get_run(run.id) == run

    finished = store.finish_run(run.id, RunFinish(status=RunStatus.FAILED))

    assert finished.status is RunStatus.FAILED
    assert finished.finished_at is not None
    assert finished.finished_at >= run.started_at
    assert store.get_run(run.id) == finished
    assert finished.metadata == {"k": [1, "x"]}


def test_json_round_trips_exactly(store: EventStore) -> None:
    """What a client stored comes back as it was: nesting, Unicode, integers beyond 64 bits."""
    metadata = {"big": 2**100, "neg": -(2**70), "f": 0.1, "nested": {"list": [1, None, "é😀"]}}
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p", metadata=metadata))
    assert store.get_run(run.id).metadata == metadata


def test_finishing_twice_is_a_conflict(store: EventStore) -> None:
    run = _run(store)
    store.finish_run(run.id, RunFinish(status=RunStatus.SUCCEEDED))
    with pytest.raises(Conflict, match="already finished as succeeded"):
        store.finish_run(run.id, RunFinish(status=RunStatus.CANCELLED))
    assert store.get_run(run.id).status is RunStatus.SUCCEEDED


def test_a_run_created_under_a_key_is_created_once(store: EventStore) -> None:
    """``run_id`` (a key the caller derived) makes creation idempotent: the second call gets
    the stored run as it is now; another project's id is a conflict."""
    key = uuid.uuid4()
    create = RunCreate(name="agent", agent="temporal:q", project_id="proj-a")
    first = store.create_run(create, run_id=key)
    assert first.id == key
    store.finish_run(key, RunFinish(status=RunStatus.SUCCEEDED))
    again = store.create_run(create, run_id=key)
    assert (again.id, again.status) == (key, RunStatus.SUCCEEDED)
    assert again.started_at == first.started_at
    with pytest.raises(Conflict):
        store.create_run(create.model_copy(update={"project_id": "proj-b"}), run_id=key)


def test_unknown_run_is_not_found(store: EventStore) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFound):
        store.get_run(missing)
    with pytest.raises(NotFound):
        store.finish_run(missing, RunFinish(status=RunStatus.SUCCEEDED))


def test_list_runs_pages_newest_first_with_cursor(store: EventStore) -> None:
    """Keyset pages cover every run once, newest first, and end with no cursor."""
    created = [_run(store, name=f"run-{n}") for n in range(7)]

    seen: list[Run] = []
    cursor = None
    pages = 0
    while True:
        page = store.list_runs(limit=3, cursor=cursor)
        seen.extend(page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert pages == 3
    assert [run.id for run in seen] == [run.id for run in reversed(created)]


def test_list_runs_filters(store: EventStore) -> None:
    a1 = _run(store, project_id="a")
    a2 = _run(store, project_id="a")
    b1 = _run(store, project_id="b")
    store.finish_run(a1.id, RunFinish(status=RunStatus.SUCCEEDED))

    assert [r.id for r in store.list_runs(project_id="a").items] == [a2.id, a1.id]
    assert [r.id for r in store.list_runs(status=RunStatus.RUNNING).items] == [b1.id, a2.id]
    running_in_a = store.list_runs(status=RunStatus.RUNNING, project_id="a")
    assert [r.id for r in running_in_a.items] == [a2.id]
    assert store.list_runs(project_id="nope").items == []


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "",
        "W10",  # an empty JSON list
        "WyJsb2dzIiwiMjAyNC0wMS0wMVQwMDowMDowMCswMDowMCIsImFiIl0",  # a logs cursor
        "WyJydW5zIiwibm90LWhleCJd",  # ["runs","not-hex"]
    ],
)
def test_bad_cursor_is_rejected(store: EventStore, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        store.list_runs(cursor=cursor)


def test_cursor_of_another_listing_is_rejected(store: EventStore) -> None:
    for n in range(3):
        _run(store, name=f"r{n}")
    cursor = store.list_runs(limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidCursor):
        store.list_workflows(cursor=cursor)
    with pytest.raises(InvalidCursor):
        store.query_logs(cursor=cursor)


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_limit_out_of_range(store: EventStore, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.list_runs(limit=limit)


@pytest.mark.postgres
def test_a_refused_statement_never_carries_its_parameters(postgres_store_url: str) -> None:
    """Finding (issue 9): a body PostgreSQL refused (a NUL byte in a text value) was logged,
    and served at GET /logs, with its parameters: the password in its metadata included.
    The engines hide bound parameters from every error text."""
    with open_store(postgres_store_url) as store:
        metadata = {"password": "PW-SECRET-111", "note": "nul \x00 byte"}
        # Built without validation: the API refuses NUL bytes, the database must not need to.
        run = RunCreate.model_construct(name="r", agent="a", project_id="p", metadata=metadata)
        with pytest.raises(Exception) as refused:  # noqa: PT011 - any error; its text matters
            store.create_run(run)
    assert "PW-SECRET-111" not in str(refused.value)
    assert "PW-SECRET-111" not in repr(refused.value)
