"""A recorder does not cross a fork: in the child it refuses events, counted, and says why."""

from __future__ import annotations

import json
import os

import pytest

from tests.python_runs import run_python

CHILD = """
import json, logging, os, sys, uuid
from prometheus_client import CollectorRegistry
from vigil.models import BatchWriteResult
from vigil.sdk import AgentRecorder, DropReason, EventSink

class Counting(EventSink):
    def write(self, events, *, batch_id=None):
        print(json.dumps({"pid": os.getpid(), "wrote": len(events)}), flush=True)
        return BatchWriteResult(steps=len(events))
    def create_run(self, run, *, run_id=None): raise NotImplementedError
    def finish_run(self, run_id, finish): raise NotImplementedError

logging.basicConfig(stream=sys.stdout, format="LOG %(process)d %(message)s %(drop_details)s")
registry = CollectorRegistry()
recorder = AgentRecorder(Counting(), service="s", registry=registry, flush_interval=30)
run = uuid.uuid4()
recorder.log_step(run, "thought", data={"i": "parent, before the fork"})
print(json.dumps({"parent": os.getpid()}), flush=True)
# The parent's drops: one reported at once, one waiting for the next report at the fork.
recorder._drops.drop(DropReason.QUEUE_FULL, 1)
recorder._drops.drop(DropReason.QUEUE_FULL, 2)
pid = os.fork()
if pid == 0:
    accepted = [recorder.log_step(run, "thought", data={"i": i}) for i in range(5)]
    flushed = recorder.flush(2.0)
    dropped = registry.get_sample_value(
        "sdk_events_dropped_total", {"service": "s", "reason": "closed"}
    )
    print(json.dumps({"child": accepted, "flushed": flushed, "dropped": dropped,
                      "queued": recorder.queue_depth}), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
recorder.close()
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork: POSIX only")
def test_a_forked_child_refuses_events_counts_them_and_the_parent_writes_its_own() -> None:
    lines = run_python(CHILD).splitlines()
    reports = [json.loads(line) for line in lines if line.startswith("{")]
    (child,) = [r for r in reports if "child" in r]
    assert child == {"child": [False] * 5, "flushed": True, "dropped": 5.0, "queued": 0}
    (parent,) = [r["parent"] for r in reports if "parent" in r]
    writes = [r for r in reports if "wrote" in r]
    assert writes == [{"pid": parent, "wrote": 1}]  # the parent's event, once, by the parent
    logged = [line for line in lines if line.startswith("LOG ")]
    # The child's refusals are logged, with the reason, although it ends with os._exit; the
    # parent's waiting drops are the parent's to report, not the child's.
    children = [line for line in logged if not line.startswith(f"LOG {parent} ")]
    assert len(children) == 1
    assert "closed=1" in children[0]  # the first at once; the counter has all 5
    assert "made before the process forked" in children[0]
    assert "queue_full" not in children[0]
