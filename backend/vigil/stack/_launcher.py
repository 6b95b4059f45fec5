"""Start a program detached from its caller, print its pid, exit (run as a script, not imported).

    python -I _launcher.py USER PROGRAM [ARG...]

Forks; the child starts a new session (so it leads its own process group and no terminal
signal reaches it), drops to USER when one is given (initdb and postgres refuse root), points
stdout at stderr (the log file the caller passed) and execs PROGRAM. The parent prints the
child's pid and exits at once, so the program is nobody's child in the caller: no zombie, no
subprocess object left running in a test process, and it outlives ``vigil stack up``.

Run with ``-I`` from its path: it needs nothing but the standard library, so it does not pay
for importing the ``vigil`` package, and works as any user.
"""

import os
import pwd
import sys


def main() -> None:
    user, argv = sys.argv[1], sys.argv[2:]
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if user:
                entry = pwd.getpwnam(user)
                os.setgroups([])
                os.setgid(entry.pw_gid)
                os.setuid(entry.pw_uid)
                os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)
            os.dup2(2, 1)
            os.execv(argv[0], argv)  # noqa: S606 - argv is a program and its arguments
        except BaseException as exc:  # report anything, then leave
            print(f"vigil stack: cannot start {argv[0]}: {exc}", file=sys.stderr, flush=True)
        os._exit(127)
    print(pid, flush=True)


if __name__ == "__main__":
    main()
