"""The startup heap is frozen for the controller's life, and only for it."""

from __future__ import annotations

import gc
import weakref

from starlette.testclient import TestClient

from tests.controller.conftest import ControllerData, controller_settings
from vigil.controller import create_app
from vigil.controller.heap import startup_heap_frozen


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_garbage_is_collected_not_frozen_and_the_heap_thaws_on_exit() -> None:
    garbage = _Node()
    gone = weakref.ref(garbage)
    alive = _Node()
    del garbage
    with startup_heap_frozen():
        assert gone() is None  # collected before the freeze, not kept forever
        assert gc.get_freeze_count() > 0
        assert not any(o is alive for o in gc.get_objects())  # frozen: not walked
    assert gc.get_freeze_count() == 0
    assert any(o is alive for o in gc.get_objects())


def test_the_controller_freezes_while_it_serves(
    store_url: str, controller_data: ControllerData
) -> None:
    with TestClient(create_app(controller_settings(store_url, controller_data))) as client:
        assert client.get("/health/live").status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
