"""An agent process for the E2E tests: one run, one agent span with a step inside, sent to the
controller named by VIGIL_URL and VIGIL_API_KEY (and to Langfuse when the LANGFUSE_*
variables are set, as an agent of the compose stack would). Prints one JSON line: the run id,
the trace id and the span's name.

    python -m tests.e2e.traced_agent <span name>
"""

from __future__ import annotations

import json
import sys

from vigil.sdk import AgentRecorder, HttpSink
from vigil.tracing import setup_tracing, shutdown_tracing


def main(span_name: str) -> int:
    recorder = AgentRecorder(HttpSink(), service="e2e-agent")
    setup_tracing("e2e-agent", recorder=recorder)
    with (
        recorder.run("e2e traced run", agent="e2e-agent", project_id="e2e") as run,
        recorder.span(span_name, attributes={"e2e.kind": "check"}) as span,  # of the run
    ):
        recorder.log_step(run.id, "thought", name="plan", data={"text": "look it up"})
        trace_id = span.trace_id
    exported = shutdown_tracing()
    written = recorder.close()
    print(json.dumps({"run_id": str(run.id), "trace_id": trace_id, "span": span_name}))
    return 0 if exported and written else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
