"""Copy a program's output into its log file, rotated by size (run as a script, not imported).

    python -I _log_pump.py LOG_FILE MAX_BYTES BACKUPS

Why a pump: a program writes to the file descriptor it inherited and never reopens it, so a
log file renamed under it would go on growing under its new name. Here the program writes
its stdout and stderr into a pipe (see ``_launcher.py``), and this process, reading the other
end on its stdin, is the only writer of the file: when the next chunk would take the file
past MAX_BYTES it renames ``LOG`` to ``LOG.1`` (``LOG.1`` to ``LOG.2``, ... keeping BACKUPS
of them) and starts a new ``LOG``. A chunk is cut after its last newline that still fits, so
a line is split only when it is longer than a whole file. Every file is created mode 600.

It runs in the program's session and process group: ``vigil stack down`` signals that group,
and the pump ignores SIGTERM (and SIGINT, SIGHUP) so that it writes the program's last words;
it exits at end of file, once every process holding the pipe's write end is gone. A write
that fails (disk full) drops that output: blocking, or exiting and so killing the program
with SIGPIPE, would be worse.

Standard library only, run with ``-I``: the same constraints as the launcher.
"""

import os
import signal
import sys

CHUNK = 64 * 1024


class RotatingLog:
    """An append-only file that is rotated before it would exceed ``max_bytes``."""

    def __init__(self, path: str, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.fd = self._open()
        self.size = os.fstat(self.fd).st_size

    def _open(self) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return fd

    def write(self, data: bytes) -> None:
        while data:
            room = self.max_bytes - self.size
            if len(data) <= room:
                self._append(data)
                return
            cut = data.rfind(b"\n", 0, max(room, 0)) + 1
            if cut == 0 and self.size == 0:
                cut = room  # one line longer than a whole file: split it
            self._append(data[:cut])
            data = data[cut:]
            self.rotate()

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:
            pass  # dropped (see the module docstring)
        self.size += len(data)

    def rotate(self) -> None:
        os.close(self.fd)
        try:
            for n in range(self.backups - 1, 0, -1):
                if os.path.exists(f"{self.path}.{n}"):
                    os.replace(f"{self.path}.{n}", f"{self.path}.{n + 1}")
            if self.backups:
                os.replace(self.path, f"{self.path}.1")
            else:
                os.unlink(self.path)
        except OSError:
            pass  # a file gone or not ours: carry on in a fresh one
        self.fd = self._open()
        self.size = os.fstat(self.fd).st_size


def main() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    path, max_bytes, backups = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    log = RotatingLog(path, max_bytes, backups)
    while chunk := os.read(0, CHUNK):
        log.write(chunk)


if __name__ == "__main__":
    main()
