"""A TCP proxy that loses answers: the request reaches the controller, which stores the batch
and answers 202, but the proxy closes the client's connection instead of passing the answer on.

That is a lost answer as a client sees it (a proxy timing out, a connection reset, a
controller killed between its commit and its reply): the client cannot know whether the
batch was stored, so it sends it again. Bytes are passed on unchanged otherwise.

Only answers to ``POST /events/batch`` are lost, ``drop_answers`` of them: HTTP/1.1 requests
on one connection are answered in order, so the next bytes from upstream after such a
request are its answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Self

BATCH_REQUEST = b"POST /events/batch "


class LossyProxy:
    def __init__(self, upstream_port: int, *, drop_answers: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.drop_answers = drop_answers
        self.dropped = 0
        self.batch_requests = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closing = False
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._accepting.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing = True
        self._listener.close()
        self._accepting.join(5.0)

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            pending = threading.Event()  # a batch request went up, its answer not yet back
            threading.Thread(target=self._up, args=(client, upstream, pending), daemon=True).start()
            threading.Thread(
                target=self._down, args=(upstream, client, pending), daemon=True
            ).start()

    def _up(self, client: socket.socket, upstream: socket.socket, pending: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                if chunk.startswith(BATCH_REQUEST):
                    with self._lock:
                        self.batch_requests += 1
                    pending.set()
                upstream.sendall(chunk)
        _close(client, upstream)

    def _down(
        self, upstream: socket.socket, client: socket.socket, pending: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(65536):
                if pending.is_set():
                    pending.clear()
                    with self._lock:
                        lose = self.dropped < self.drop_answers
                        if lose:
                            self.dropped += 1
                    if lose:
                        break  # the controller answered; the client never hears it
                client.sendall(chunk)
        _close(client, upstream)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
