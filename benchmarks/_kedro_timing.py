"""Run the real `kedro` CLI in this interpreter and write where its time went, as JSON.

    python [-X importtime] benchmarks/_kedro_timing.py OUT.json STARTED_EPOCH run [kedro args...]

Used by bench_end_to_end.py, bench_scale.py and others. Nothing in Kedro or the project is
changed; a few of Kedro's methods are wrapped to record wall-clock times:

- ``marks``: when the Kedro CLI was imported, the ``kedro.init`` plugins ran, the CLI was
  built (project settings and plugin commands loaded), the session was created (hook
  entry points loaded), the catalog was built, and the pipeline started and ended;
- ``nodes``: each node's function (``Node.run``: loads and saves fall between nodes);
- ``hooks``: seconds per hook and per plugin (every hook implementation is timed);
- ``io``: seconds per dataset in ``catalog.load`` and ``catalog.save``;
- ``gc``: seconds in Python's cyclic garbage collector per generation (``gc.callbacks``),
  and each node's share.

At exit the file gets these, the process start (given by the parent, so interpreter
start-up counts), which heavy libraries were imported, the peak RSS and the CPU time. Run with
``-X importtime`` for the parent to add import times (bench_end_to_end.py parses them).
"""

from __future__ import annotations

import atexit
import functools
import gc
import json
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

_TORCH = {"torch", "pytorch_lightning", "lightning"}
_HEAVY = ("torch", "pytorch_lightning", "lightning", "mlflow", "onnx", "onnxruntime")

_TORCH = {"torch", "pytorch_lightning", "lightning"}
_HEAVY = ("torch", "pytorch_lightning", "lightning", "mlflow", "onnx", "onnxruntime")


def _wrap(owner: Any, name: str, before: Any = None, after: Any = None) -> None:
    """Wrap ``owner.name``: ``before(args)`` and ``after(args, begin, end)`` around each call."""
    raw = owner.__dict__[name]
    is_classmethod = isinstance(raw, classmethod)
    original = raw.__func__ if is_classmethod else raw

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before:
            before(args)
        begin = time.time()
        try:
            result = original(*args, **kwargs)
        finally:
            if after:
                after(args, begin, time.time())
        return result

    setattr(owner, name, classmethod(wrapper) if is_classmethod else wrapper)


def _plugin(impl: Any) -> str:
    """A hook implementation's plugin: its entry-point name, or its class for a project hook."""
    name = str(impl.plugin_name)
    return type(impl.plugin).__name__ if name.isdigit() else name


class Recorder:
    """What the run did when: marks, nodes, hook and dataset seconds."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.marks: dict[str, float] = {}
        self.nodes: list[dict[str, Any]] = []
        self.hooks: dict[str, float] = defaultdict(float)
        self.io: dict[str, float] = defaultdict(float)
        self.gc_seconds = [0.0, 0.0, 0.0]  # per generation
        self._gc_started = 0.0
        self._managers: set[int] = set()
        self._node_gc = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_seconds[info["generation"]] += time.perf_counter() - self._gc_started

    def mark(self, name: str) -> Any:
        """A callback that records the first time it is called, as ``name``."""
        return lambda *_args: self.marks.setdefault(name, time.time())

    def node_started(self, _args: Any) -> None:
        self._node_gc = sum(self.gc_seconds)

    def node(self, args: Any, begin: float, end: float) -> None:
        gc_seconds = sum(self.gc_seconds) - self._node_gc
        self.nodes.append({"name": args[0].name, "start": begin, "end": end, "gc": gc_seconds})

    def dataset(self, kind: str) -> Any:
        def record(args: Any, begin: float, end: float) -> None:
            self.io[f"{kind} {args[1]}"] += end - begin

        return record

    def time_hooks(self, manager: Any) -> None:
        """Time every hook implementation registered with a session's hook manager (once)."""
        if id(manager) in self._managers:
            return
        self._managers.add(id(manager))
        for hook_name in dir(manager.hook):
            for impl in getattr(getattr(manager.hook, hook_name), "get_hookimpls", list)():
                impl.function = self._timed(impl.function, f"{hook_name} [{_plugin(impl)}]")

    def _timed(self, function: Any, key: str) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.hooks[key] += time.perf_counter() - begin

        return wrapper

    def write(self, out: Path) -> None:
        loaded = {m.split(".")[0] for m in sys.modules}
        record = {
            "started": self.started,
            "imported": self.marks["kedro_imported"],
            "marks": self.marks,
            "exited": time.time(),
            "nodes": self.nodes,
            "hooks": dict(self.hooks),
            "io": dict(self.io),
            "gc": self.gc_seconds,
            "torch": bool(loaded & _TORCH),
            "heavy_imported": sorted(loaded & set(_HEAVY)),
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            # CPU seconds (user + system) of this process and its finished children: what
            # the run costs, much less sensitive than wall time to other work on the machine.
            "cpu": sum(
                usage.ru_utime + usage.ru_stime
                for usage in (
                    resource.getrusage(resource.RUSAGE_SELF),
                    resource.getrusage(resource.RUSAGE_CHILDREN),
                )
            ),
        }
        out.write_text(json.dumps(record))


def main() -> None:
    out, recorder = Path(sys.argv[1]), Recorder(float(sys.argv[2]))
    from kedro.framework.cli import cli as kedro_cli
    from kedro.framework.context import KedroContext
    from kedro.framework.session import KedroSession
    from kedro.io import DataCatalog
    from kedro.pipeline.node import Node

    recorder.marks["kedro_imported"] = time.time()
    init_plugins = kedro_cli._init_plugins

    def timed_init_plugins() -> None:
        init_plugins()
        recorder.mark("plugins_initialised")()

    kedro_cli._init_plugins = timed_init_plugins
    _wrap(kedro_cli.KedroCLI, "__init__", after=recorder.mark("cli_built"))

    def session_created(args: Any, begin: float, end: float) -> None:
        recorder.mark("session_created")()

    _wrap(KedroSession, "create", after=session_created)
    _wrap(
        KedroSession, "load_context", before=lambda args: recorder.time_hooks(args[0]._hook_manager)
    )
    _wrap(
        KedroSession,
        "run",
        recorder.mark("session_run_started"),
        recorder.mark("session_run_ended"),
    )
    _wrap(KedroContext, "_get_catalog", after=recorder.mark("catalog_built"))
    _wrap(Node, "run", before=recorder.node_started, after=recorder.node)
    _wrap(DataCatalog, "load", after=recorder.dataset("load"))
    _wrap(DataCatalog, "save", after=recorder.dataset("save"))
    atexit.register(recorder.write, out)
    sys.argv = ["kedro", *sys.argv[3:]]
    kedro_cli.main()


if __name__ == "__main__":
    main()
