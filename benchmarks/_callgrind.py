"""Valgrind's callgrind for the instruction-count benchmarks (``instructions_per_request.py``,
``controller_instructions.py``): a program started with counting off, counting switched on
once it is warm, dumps taken where the figures end, and the totals of those dumps."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from benchmarks.instrumentation_overhead import require_tools

TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def require_valgrind() -> None:
    """Exit with the install hint when valgrind's tools are missing."""
    require_tools(
        ("valgrind", "callgrind_control"), "make bench-deps (or apt-get install valgrind)"
    )


def counted(out: Path, *, threads: bool = False) -> list[str]:
    """What to put before a program's command: callgrind, counting off, dumps to ``out``;
    with ``threads``, each dump in one file per thread (``thread_totals``)."""
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    return [*command, "--separate-threads=yes"] if threads else command


def start_counting(pid: int) -> None:
    subprocess.run(["callgrind_control", "--instr=on", str(pid)], check=True, capture_output=True)


def dump(pid: int) -> None:
    """Write what was counted since the last dump (``out.1``, ``out.2``...) and start again."""
    subprocess.run(["callgrind_control", "--dump", str(pid)], check=True, capture_output=True)


def dump_totals(out: Path) -> list[int]:
    """The instructions of each dump to ``out``, in the order they were taken (the file
    callgrind writes at the program's exit, ``out`` itself, left out)."""
    dumps = sorted(out.parent.glob(f"{out.name}.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    return [int(m[1]) for p in dumps for m in [TOTALS.search(p.read_text())] if m]


def thread_totals(out: Path, dump_number: int = 1) -> dict[int, int]:
    """The instructions of each thread in dump ``dump_number`` of a ``counted(threads=True)``
    program (its files ``out.<dump>-<thread>``), by callgrind's thread number: 1 is the main
    thread, the others are numbered in the order they started."""
    totals: dict[int, int] = {}
    for path in out.parent.glob(f"{out.name}.{dump_number}-*"):
        found = TOTALS.search(path.read_text())
        if found is not None:
            totals[int(path.name.rsplit("-", 1)[1])] = int(found[1])
    return dict(sorted(totals.items()))
