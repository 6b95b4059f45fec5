"""Free loopback ports, for the tests and the benchmark scripts that start servers."""

from __future__ import annotations

import random
import socket


def free_ports(count: int, *, low: int = 10_000, high: int = 32_000) -> list[int]:
    """``count`` distinct ports free at the time of the call, below Linux's ephemeral range
    (32768 and up), as ``free_port_block`` picks them: a port the kernel handed out for
    ``bind(0)`` is exactly the kind it hands out again, to an outgoing connection or to a
    server picking its own internal ports (Temporal's dev server gave its worker service
    the HTTP port a test had been given that way, and failed to start). Another process may
    still take one before it is used: callers that bind late retry or fail loudly."""
    ports: list[int] = []
    for _ in range(200 * count):
        port = random.randrange(low, high)  # noqa: S311 - not for security
        if port not in ports and _is_free(port):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"no {count} free ports found")


def free_port() -> int:
    """One free port."""
    return free_ports(1)[0]


def free_port_block(count: int, *, low: int = 10_000, high: int = 32_000) -> int:
    """The first of ``count`` consecutive free ports (a server that derives its other ports
    from one base, such as SeaweedFS' internal ones), below Linux's ephemeral range (32768
    and up): there, any outgoing connection may take one between this check and a restart
    (a stack's second `up` failed with "bind: address already in use")."""
    for _ in range(200):
        base = random.randrange(low, high - count)  # noqa: S311 - not for security
        if all(_is_free(port) for port in range(base, base + count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
