"""The callgrind helpers read what callgrind writes: one file per dump, and with
``--separate-threads=yes`` one per dump and thread (``out.<dump>-<thread>``)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import _callgrind as callgrind


def _write(path: Path, instructions: int) -> None:
    path.write_text(
        f"# callgrind format\nevents: Ir\nfn=main\n0 {instructions}\ntotals: {instructions}\n"
    )


def test_counting_threads_apart_asks_callgrind_for_it(tmp_path: Path) -> None:
    out = tmp_path / "cg.out"
    assert "--separate-threads=yes" in callgrind.counted(out, threads=True)
    assert "--separate-threads=yes" not in callgrind.counted(out)


def test_thread_totals_are_those_of_the_dump_asked_for_by_thread(tmp_path: Path) -> None:
    out = tmp_path / "cg.out"
    _write(tmp_path / "cg.out.1-01", 600)
    _write(tmp_path / "cg.out.1-03", 70)
    _write(tmp_path / "cg.out.1-02", 4)
    _write(tmp_path / "cg.out.2-01", 9_999)  # a later dump
    _write(tmp_path / "cg.out-01", 123_456)  # what callgrind writes at the program's exit
    assert list(callgrind.thread_totals(out).items()) == [(1, 600), (2, 4), (3, 70)]
    assert callgrind.thread_totals(out, 2) == {1: 9_999}


def test_dump_totals_are_in_the_order_the_dumps_were_taken(tmp_path: Path) -> None:
    out = tmp_path / "cg.out"
    for number, instructions in ((10, 3), (2, 1), (1, 2)):
        _write(tmp_path / f"cg.out.{number}", instructions)
    _write(tmp_path / "cg.out", 99)
    assert callgrind.dump_totals(out) == [2, 1, 3]
