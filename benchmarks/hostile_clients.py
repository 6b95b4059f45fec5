"""Hostile clients against the controller, before and after its HTTP limits, in one run.

Two variants of the same controller (SQLite, in a subprocess): ``plain``, uvicorn's httptools
protocol as the controller ran before issue 10, and ``bounded``, ``vigil serve``'s config
(``vigil.controller.server.server_config``). Against each:

1. one client streams a 120 MiB header while another calls ``/health/live`` 50 times:
   that client's p50 and max latency, and the server's RSS after;
2. 3,000 connections each send half a request head and stall: how many are still open after
   the head timeout (10 s, plus 2 s), and the server's RSS while they are open and after.

Usage: python benchmarks/hostile_clients.py
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402

from benchmarks.instrumentation_overhead import wait_ready  # noqa: E402


def serve(variant: str, port: int, data_dir: str) -> None:
    import uvicorn

    from vigil.controller import create_app
    from vigil.controller.server import server_config
    from vigil.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{data_dir}/vigil.db", data_dir=Path(data_dir), port=port
    )
    app = create_app(settings)
    if variant == "bounded":
        config = server_config(app, settings)
    else:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    uvicorn.Server(config).run()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def header_flood(port: int, pid: int) -> str:
    def flood() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Flood: ")
            try:
                for _ in range(120 * 16):  # 120 MiB in 64 KiB chunks
                    sock.sendall(b"a" * 65536)
            except OSError:
                pass

    thread = threading.Thread(target=flood)
    thread.start()
    latencies = []
    with httpx.Client(timeout=30) as client:
        for _ in range(50):
            started = time.monotonic()
            client.get(f"http://127.0.0.1:{port}/health/live")
            latencies.append((time.monotonic() - started) * 1000)
    thread.join(120)
    return (
        f"/health/live during a 120 MiB header: p50 {statistics.median(latencies):.1f} ms, "
        f"max {max(latencies):.1f} ms; RSS after {rss_mb(pid):.0f} MB"
    )


def slow_heads(port: int, pid: int) -> str:
    before = rss_mb(pid)
    sockets = []
    for _ in range(3000):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost:")
        sockets.append(sock)
    time.sleep(1)
    during = rss_mb(pid)
    time.sleep(11)
    still_open = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            data = sock.recv(4096)
            if not data:
                continue
            while data:
                data = sock.recv(4096)
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass
        finally:
            sock.close()
    time.sleep(1)
    return (
        f"3,000 stalled heads: {still_open} still open after 12 s; RSS {before:.0f} MB before, "
        f"{during:.0f} MB while open, {rss_mb(pid):.0f} MB after"
    )


def run(variant: str) -> None:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="vigil-hostile-")
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", variant, str(port), data_dir],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        wait_ready(port, 60)
        time.sleep(1)
        print(f"{variant}: {header_flood(port, server.pid)}", flush=True)
        print(f"{variant}: {slow_heads(port, server.pid)}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return 0
    for variant in ("plain", "bounded"):
        run(variant)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
