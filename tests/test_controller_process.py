"""The controller-process helper of the tests and benchmarks: a start that fails leaves
nothing running."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from tests import controller_process
from tests.controller_process import ControllerProcess
from tests.ports import free_port


def test_a_controller_that_never_gets_ready_is_not_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(controller_process, "START_TIMEOUT_S", 5.0)
    controller = ControllerProcess(
        f"sqlite:///{tmp_path / 'vigil.db'}", tmp_path / "data", free_port(),
        probe="/no-such-probe", keep_output=False,
    )  # fmt: skip
    started: list[int] = []
    popen = controller_process.subprocess.Popen

    def recording_popen(*args: object, **kwargs: object) -> object:
        process = popen(*args, **kwargs)  # type: ignore[call-overload]
        started.append(process.pid)
        return process

    monkeypatch.setattr(controller_process.subprocess, "Popen", recording_popen)
    with pytest.raises(AssertionError, match="did not start"):
        controller.start()
    assert len(started) == 1
    assert not psutil.pid_exists(started[0]) or (
        psutil.Process(started[0]).status() == psutil.STATUS_ZOMBIE
    )
    controller.stop()  # nothing to stop: no error
