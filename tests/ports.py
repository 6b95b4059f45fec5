"""Free loopback ports, for the tests and the benchmark scripts that start servers."""

from __future__ import annotations

import socket
from contextlib import ExitStack


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free at the time of the call (another process may still take
    one before it is used: callers that bind late retry or fail loudly)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port() -> int:
    """One free port."""
    return free_ports(1)[0]
