"""Start a program detached from its caller, print its pid, exit (run as a script, not imported).

    python -I _launcher.py USER LOG_FILE MAX_BYTES BACKUPS PROGRAM [ARG...]

Forks; the child starts a new session (so it leads its own process group and no terminal
signal reaches it), creates a pipe and forks the log pump (``_log_pump.py``, reading the pipe
into LOG_FILE, rotated at MAX_BYTES with BACKUPS old files), points its own stdout and stderr
at the pipe, drops to USER when one is given (initdb and postgres refuse root) and execs
PROGRAM. The parent prints the child's pid and exits at once, so the program is nobody's child
in the caller: no zombie, no subprocess object left running in a test process, and it
outlives ``vigil stack up``.

The pump is forked before the privileges are dropped, so it keeps the caller's user and may
rotate files in the logs directory; it is a child of the program, in its session and process
group, so stopping the program's group and tree reaches it too (``_process.terminate``).
Until the pipe exists, errors go to this process's stderr: the log file, opened by the caller.

Run with ``-I`` from its path: it needs nothing but the standard library, so it does not pay
for importing the ``vigil`` package, and works as any user.
"""

import os
import pwd
import sys

PUMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_log_pump.py")


def _start_pump(read_end: int, write_end: int, log_args: list[str]) -> None:
    """In a forked child: become the log pump reading ``read_end``; never returns."""
    try:
        os.close(write_end)
        os.dup2(read_end, 0)
        os.close(read_end)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(sys.executable, [sys.executable, "-I", PUMP, *log_args])  # noqa: S606
    finally:
        os._exit(127)


def _drop_to(user: str) -> None:
    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)


def main() -> None:
    user, log_args, argv = sys.argv[1], sys.argv[2:5], sys.argv[5:]
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            read_end, write_end = os.pipe()
            if os.fork() == 0:
                _start_pump(read_end, write_end, log_args)
            os.close(read_end)
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            os.close(write_end)
            if user:
                _drop_to(user)
            os.execv(argv[0], argv)  # noqa: S606 - argv is a program and its arguments
        except BaseException as exc:  # report anything, then leave
            print(f"vigil stack: cannot start {argv[0]}: {exc}", file=sys.stderr, flush=True)
        os._exit(127)
    print(pid, flush=True)


if __name__ == "__main__":
    main()
