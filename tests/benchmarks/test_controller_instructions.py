"""The controller's instruction count weighs its requests as ``make load`` sends them: the
weights of benchmarks/controller_instructions.py follow load-tests/locustfile.py (read from
its source: importing locust patches the process with gevent)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

from benchmarks.controller_instructions import KINDS

LOCUSTFILE = Path(__file__).resolve().parents[2] / "load-tests" / "locustfile.py"


def _users() -> dict[str, tuple[int, dict[str, int]]]:
    """Each user class: its weight and its tasks' weights, by method name."""
    users = {}
    for node in ast.parse(LOCUSTFILE.read_text()).body:
        if not isinstance(node, ast.ClassDef):
            continue
        weight, tasks = None, {}
        for item in node.body:
            if isinstance(item, ast.Assign) and [ast.unparse(t) for t in item.targets] == [
                "weight"
            ]:
                weight = ast.literal_eval(item.value)
            if isinstance(item, ast.FunctionDef):
                for decorator in item.decorator_list:
                    if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "task":
                        tasks[item.name] = ast.literal_eval(decorator.args[0])
        if weight is not None:
            users[node.name] = (weight, tasks)
    return users


def test_the_weights_are_the_locustfiles() -> None:
    users = _users()
    writer_weight, writer = users["AgentWriter"]
    dashboard_weight, dashboard = users["Dashboard"]
    assert writer == {"append_steps": 8, "finish_and_restart": 1}
    assert dashboard == {
        "list_runs": 3, "get_run": 3, "list_steps": 2, "logs_of_run": 2, "bad_request": 1,
    }  # fmt: skip
    # Writers and dashboards send at the same rate a user; the stream watcher is left out.
    share = {
        "AgentWriter": writer_weight / (writer_weight + dashboard_weight),
        "Dashboard": dashboard_weight / (writer_weight + dashboard_weight),
    }
    # finish_and_restart sends two requests: the finish and a new run.
    writer_requests = sum(writer.values()) + writer["finish_and_restart"]
    weights = {kind.name: kind.weight for kind in KINDS}
    assert math.isclose(sum(weights.values()), 1.0)
    expected = {
        "POST /runs/{id}/steps": share["AgentWriter"] * writer["append_steps"] / writer_requests,
        "POST /runs": share["AgentWriter"] * writer["finish_and_restart"] / writer_requests,
        "GET /runs": share["Dashboard"] * dashboard["list_runs"] / sum(dashboard.values()),
        "GET /runs/{id}/steps": share["Dashboard"]
        * dashboard["list_steps"]
        / sum(dashboard.values()),
    }
    for name, weight in expected.items():
        assert math.isclose(weights[name], weight), name
