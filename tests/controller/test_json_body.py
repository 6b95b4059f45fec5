"""JSON bodies decoded by orjson give what json.loads gives: the same values, the same
errors, integers beyond 64 bits kept exact (controller/api/_json_body.py)."""

from __future__ import annotations

import json

import pytest
from fastapi.routing import APIRoute
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.controller.test_runs_api import RUN, create_run
from vigil.controller.api import ROUTERS, _json_body
from vigil.controller.api._json_body import JsonBodyRoute, decode_json

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and the infinities included: json.dumps writes them
    | st.text(),  # lone surrogates included: json.dumps escapes them
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)


def _decoded(body: bytes) -> str:
    """What a decoder made of ``body``, told apart to the type (repr: 1 vs 1.0, -0.0, nan)."""
    return repr(decode_json(body))


@given(JSON_VALUES, st.booleans())
def test_every_text_json_dumps_writes_decodes_as_json_loads_decodes_it(
    value: object, ascii_only: bool
) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert _decoded(body) == repr(json.loads(body))


@pytest.mark.parametrize(
    "body",
    [
        b"123456789012345678901234567890",  # orjson: 1.2345678901234568e+29
        b"-9223372036854775809",  # orjson: a float
        b'{"n": 18446744073709551616}',
        b"1e400",
        b"NaN",
        b'"\\ud800"',
        b"\xef\xbb\xbf{}",
        '{"a": "é"}'.encode("utf-16"),
        b'{"a":1,"a":2}',
        b"4.9e-325",
    ],
)
def test_what_orjson_reads_otherwise_is_read_as_json_loads_reads_it(body: bytes) -> None:
    assert _decoded(body) == repr(json.loads(body))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[1,]", json.JSONDecodeError),
        (b'{"a":1}garbage', json.JSONDecodeError),
        (b"", json.JSONDecodeError),
        (b"\xff", UnicodeDecodeError),
        (b"[" * 100_000, RecursionError),
    ],
)
def test_a_body_json_loads_refuses_raises_what_it_raises(
    body: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error) as expected:
        json.loads(body)
    with pytest.raises(error) as raised:
        decode_json(body)
    assert str(raised.value) == str(expected.value)


def test_every_controller_route_with_a_body_decodes_with_it() -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    with_body = [r for r in routes if r.body_field is not None]
    assert len(with_body) > 5
    assert [r.path for r in with_body if not isinstance(r, JsonBodyRoute)] == []


def test_a_batch_is_decoded_by_it(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The route class is the one the included router serves with."""
    bodies: list[bytes] = []

    def recorded(body: bytes) -> object:
        bodies.append(body)
        return decode_json(body)

    monkeypatch.setattr(_json_body, "decode_json", recorded)
    run = create_run(api)
    batch = {
        "events": [{"event": "step", "run_id": run["id"], "step_type": "thought", "name": "t"}]
    }
    assert api.post("/events/batch", json=batch).status_code == 202
    assert [json.loads(b) for b in bodies] == [{**RUN, "project_id": "proj-a"}, batch]


def test_a_big_integer_in_step_data_is_stored_exactly(api: TestClient) -> None:
    """Through the API and back, on both backends (orjson alone read it as a float)."""
    run = create_run(api)
    big = 123456789012345678901234567890
    body = b'{"steps": [{"step_type": "thought", "name": "n", "data": {"n": %d}}]}' % big
    response = api.post(
        f"/runs/{run['id']}/steps", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    steps = json.loads(api.get(f"/runs/{run['id']}/steps").text)
    assert steps["items"][0]["data"]["n"] == big
