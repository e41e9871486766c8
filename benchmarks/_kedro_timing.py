"""Run the real `kedro` CLI in this interpreter and write when each node ran, as JSON.

    python benchmarks/_kedro_timing.py OUT.json STARTED_EPOCH run [kedro args...]

Used by bench_end_to_end.py and bench_scale.py. ``Node.run`` is wrapped to record the
wall-clock start and end of every node (its function only: loads and saves fall between
nodes); at exit the file gets the process start (given by the parent, so interpreter
start-up counts), the first node's start, each node's times, whether torch was imported,
and the peak RSS.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys
import time
from pathlib import Path

_TORCH = {"torch", "pytorch_lightning", "lightning"}


def main() -> None:
    out, started = Path(sys.argv[1]), float(sys.argv[2])
    nodes: list[dict[str, object]] = []

    from kedro.pipeline.node import Node

    original = Node.run

    def timed_run(self, inputs=None):  # type: ignore[no-untyped-def]
        begin = time.time()
        try:
            return original(self, inputs)
        finally:
            nodes.append({"name": self.name, "start": begin, "end": time.time()})

    Node.run = timed_run  # type: ignore[method-assign]

    def report() -> None:
        out.write_text(
            json.dumps(
                {
                    "started": started,
                    "imported": imported,
                    "exited": time.time(),
                    "nodes": nodes,
                    "torch": any(m.split(".")[0] in _TORCH for m in sys.modules),
                    "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                }
            )
        )

    atexit.register(report)
    from kedro.framework.cli import main as kedro_main

    imported = time.time()
    sys.argv = ["kedro", *sys.argv[3:]]
    kedro_main()


if __name__ == "__main__":
    main()
