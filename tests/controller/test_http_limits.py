"""The controller's HTTP server bounds what a client can hold (issue 10): head size, head and
body read timeouts, open connections. Against real uvicorn with ``vigil serve``'s config."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager

import httpx
import pytest

from tests.controller.conftest import ControllerData

LiveController = Callable[..., AbstractContextManager[str]]


@contextmanager
def raw_connection(base: str) -> Iterator[socket.socket]:
    host, port = base.removeprefix("http://").split(":")
    with closing(socket.create_connection((host, int(port)), timeout=10)) as sock:
        yield sock


def read_all(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started = time.monotonic()
    sock.settimeout(timeout)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (ConnectionResetError, TimeoutError):
        pass
    return b"".join(chunks), time.monotonic() - started


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_oversized_head_is_431_and_others_are_not_stalled(
    live_controller: LiveController,
) -> None:
    """Finding: a 120 MiB header stalled every request (/health/live p50 2.6 s). The server
    answers 431 after 64 KiB and closes; /health/live stays fast meanwhile."""
    with live_controller() as base:
        stop = threading.Event()
        answers: list[bytes] = []

        def flood() -> None:
            with raw_connection(base) as sock:
                sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Flood: ")
                sent = 0
                try:
                    while sent < 120 * 1024 * 1024 and not stop.is_set():
                        sock.sendall(b"a" * 65536)
                        sent += 65536
                except OSError:
                    pass  # the server closed the connection, as it should
                answers.append(read_all(sock, 5)[0])

        flooder = threading.Thread(target=flood)
        flooder.start()
        latencies = []
        with httpx.Client(base_url=base, timeout=5) as client:
            for _ in range(20):
                started = time.monotonic()
                assert client.get("/health/live").status_code == 200
                latencies.append(time.monotonic() - started)
        stop.set()
        flooder.join(30)
        assert answers
        assert answers[0].startswith(b"HTTP/1.1 431"), answers[0][:80]
        assert statistics.median(latencies) < 0.1, latencies


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_slow_heads_and_bodies_are_timed_out(
    live_controller: LiveController, controller_data: ControllerData
) -> None:
    """Finding: slow-header and slow-body clients were never timed out. A head must complete
    within the head timeout (also when nothing at all is sent); a body that trickles below the
    minimum rate is cut at its deadline; a body at a useful rate and keep-alive requests are
    not affected."""
    limits = {"http_head_timeout_s": 0.5, "http_body_timeout_s": 0.5, "http_body_min_rate": 500}
    with live_controller(**limits) as base:
        with raw_connection(base) as silent:
            answer, took = read_all(silent, 5)
        assert answer.startswith(b"HTTP/1.1 408")
        assert took < 2

        with raw_connection(base) as slow_head:
            slow_head.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
            answer, took = read_all(slow_head, 5)
        assert answer.startswith(b"HTTP/1.1 408")
        assert took < 2

        auth = controller_data.headers["Authorization"]
        head = (
            f"POST /runs HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
            "Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n"
        ).encode()
        with raw_connection(base) as slow_body:
            slow_body.sendall(head)
            started = time.monotonic()
            try:
                while time.monotonic() - started < 5:
                    slow_body.sendall(b" ")  # 10 bytes/s: far below 500 bytes/s
                    time.sleep(0.1)
            except OSError:
                pass
            answer, _ = read_all(slow_body, 5)
            took = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert took < 3

        with httpx.Client(base_url=base, headers=controller_data.headers, timeout=5) as client:
            for _ in range(3):  # keep-alive: the second request's head is timed afresh
                run = {"name": "r", "agent": "a", "project_id": "p", "metadata": {"x": "y" * 8000}}
                assert client.post("/runs", json=run).status_code == 201
                time.sleep(0.3)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_many_slow_clients_are_all_closed(live_controller: LiveController) -> None:
    """300 connections sending half a head each are all closed once the timeout passed."""
    with live_controller(http_head_timeout_s=1.0) as base:
        host, port = base.removeprefix("http://").split(":")
        sockets = [socket.create_connection((host, int(port)), timeout=10) for _ in range(300)]
        try:
            for sock in sockets:
                sock.sendall(b"GET / HTTP/1.1\r\nHost:")
            time.sleep(2.5)
            answers = [read_all(sock, 2) for sock in sockets]
            assert all(answer.startswith(b"HTTP/1.1 408") for answer, _ in answers)
            assert all(took < 1 for _, took in answers), "already closed: nothing to wait for"
        finally:
            for sock in sockets:
                sock.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_connections_beyond_the_limit_get_503(live_controller: LiveController) -> None:
    with live_controller(http_max_connections=5, http_head_timeout_s=30) as base:
        host, port = base.removeprefix("http://").split(":")
        held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(5)]
        try:
            time.sleep(0.2)
            assert httpx.get(f"{base}/health/live", timeout=5).status_code == 503
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.2)
        assert httpx.get(f"{base}/health/live", timeout=5).status_code == 200
