"""Runs Kedro sessions of one project in forked children, for tests that start many short runs.

Usage: ``python tests/_kedro_fork_server.py PROJECT``. Importing Kedro, torch, Lightning and
the stages' code takes most of a short `kedro run` (about 6 s of CPU here); this process
does it once, then answers one JSON request per stdin line with one JSON line on stdout:

- at start: ``{"written": {dataset: {"node", "nodes", "filepath"}}}`` — every catalog
  dataset the default pipeline writes to a local file (path relative to the project), the
  node writing it, and the nodes a run needs for it: that node and those making the
  in-memory inputs it reads;
- ``{"op": "run", "nodes": [...], "env": {...}, "log": path}`` — a fork runs
  ``KedroSession.create(env="smoke").run(node_names=nodes)`` (what
  `kedro run --env=smoke --nodes=A,B` does; every node when ``nodes`` is null) with its
  output in ``log``; answers ``{"returncode": n}``, negative for a signal, as
  ``subprocess`` reports it. With ``"kill_at_saves": [[dataset, point, log, *nodes], ...]``
  the run forks again at each of those saves (``_KillAtSaves``): the copy, its output in
  that log, makes the save with ``LSTM_FORECAST_FAULT=<dataset>:<point>`` armed by the
  project's own hook, as at the start of a run of those nodes, and is killed; the run answers
  ``{"killed": "<dataset>:<point>", "returncode": n}`` and waits, serving ``load`` requests,
  until ``{"op": "continue"}``, then saves the dataset itself and goes on;
- ``{"op": "load", "names": [...]}`` — a fork loads those datasets through the catalog;
  answers ``{"failures": {name: error}}``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

# Run as a script, Python puts tests/ first on the path, where the test packages that
# mirror src/ (tests/onnx/ ...) would shadow the libraries of the same name.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

# Answers go to the original stdout; everything else printed (Kedro logs to stdout, from
# its first import on) goes to stderr.
_ANSWERS = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

from kedro.framework.hooks import hook_impl  # noqa: E402
from kedro.framework.project import settings  # noqa: E402
from kedro.framework.session import KedroSession  # noqa: E402
from kedro.framework.startup import bootstrap_project  # noqa: E402

from lstm_forecast.datasets._faults import FAULT_ENV  # noqa: E402
from lstm_forecast.datasets.durability_hooks import DurabilityHooks  # noqa: E402

PROJECT = Path(sys.argv[1]).resolve()


def _describe() -> dict:
    from kedro.framework.project import pipelines

    default = pipelines["__default__"]
    producer = {output: node for node in default.nodes for output in node.outputs}
    with KedroSession.create(project_path=PROJECT, env="smoke") as session:
        catalog = session.load_context().catalog
        names = set(catalog.keys()) | default.datasets()
        # Resolved through the catalog's patterns too ("{kind}.trained_model" entries).
        config = {name: catalog.config_resolver.resolve_pattern(name) for name in names}
        for name in names:  # build every dataset now: imports its library once, here
            catalog.get(name)

    def in_memory(name: str) -> bool:
        entry = config.get(name)
        return name in producer and (entry is None or "MemoryDataset" in str(entry.get("type")))

    written = {}
    for node in default.nodes:
        # The node, and the nodes making the in-memory inputs it needs, recursively.
        nodes, pending = {node.name: node}, [node]
        while pending:
            for name in pending.pop().inputs:
                upstream = producer.get(name)
                if in_memory(name) and upstream.name not in nodes:
                    nodes[upstream.name] = upstream
                    pending.append(upstream)
        for name in node.outputs:
            if "filepath" in config.get(name, {}):
                # Kedro made the path absolute; relative, it names the file in any copy.
                path = os.path.relpath(config[name]["filepath"], PROJECT)
                written[name] = {"node": node.name, "nodes": sorted(nodes), "filepath": path}
    return written


def _run(request: dict) -> None:
    os.environ.update(request.get("env", {}))
    with KedroSession.create(project_path=PROJECT, env="smoke") as session:
        if request.get("kill_at_saves"):
            session._hook_manager.register(_KillAtSaves(request["kill_at_saves"]))
        session.run(node_names=request.get("nodes"))


# How long a killed copy may take to die: its save is one small file.
_COPY_TIMEOUT_S = 120


class _KillAtSaves:
    """At each listed dataset's save, the run forks: the copy makes the save with the fault
    armed and is killed; the run reports, waits for the client, then saves it and goes on.

    So each dataset's kill costs a fork, not a run of its node and of the nodes making its
    in-memory inputs (a node with several files would otherwise train or export once per
    file). The copy arms the fault as a run of that dataset's nodes would: the variable set,
    then the project's ``DurabilityHooks.before_pipeline_run`` on those nodes (which also
    removes stale temporary files beside their datasets, as that run's start would).
    """

    def __init__(self, kills: list[list[str]]) -> None:
        self.pending: dict[str, list[tuple[str, str, list[str]]]] = {}
        for name, point, log, *nodes in kills:
            self.pending.setdefault(name, []).append((point, log, nodes))
        self.copy = False  # True in a forked copy that is to be killed
        self.run: dict[str, Any] = {}

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline: Any, catalog: Any) -> None:
        self.run = {"run_params": run_params, "pipeline": pipeline, "catalog": catalog}

    @hook_impl
    def before_dataset_saved(self, dataset_name: str) -> None:
        for point, log, nodes in self.pending.pop(dataset_name, []):
            returncode = self._killed_copy(dataset_name, point, log, nodes)
            if self.copy:
                return  # in the copy: the save goes on, and the fault kills it
            _answer({"killed": f"{dataset_name}:{point}", "returncode": returncode})
            for line in iter(sys.stdin.readline, ""):
                request = json.loads(line)
                if request["op"] == "continue":
                    break
                _answer(_in_child(request))

    def _killed_copy(self, name: str, point: str, log: str, nodes: list[str]) -> int | None:
        """Fork; in the copy arm the fault and return None; here, its exit as ``_in_child``."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self.copy = True
            self.pending.clear()
            output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.environ[FAULT_ENV] = f"{name}:{point}"
            hooks = next(h for h in settings.HOOKS if isinstance(h, DurabilityHooks))
            pipeline = self.run["pipeline"].only_nodes(*nodes)
            hooks.before_pipeline_run(**{**self.run, "pipeline": pipeline})
            return None
        waiting = os.pidfd_open(pid)
        ended = select.select([waiting], [], [], _COPY_TIMEOUT_S)[0]
        os.close(waiting)
        if not ended:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) if ended else None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if self.copy:  # the fault did not fire: end the copy here, with a code that says so
            print(f"the save of {dataset_name!r} ended without the kill", file=sys.stderr)
            os._exit(3)

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        if self.copy:  # before the project's hooks free the run's lock, which the run holds
            traceback.print_exception(error)
            sys.stderr.flush()
            os._exit(4)


def _load(request: dict) -> dict:
    failures = {}
    with KedroSession.create(project_path=PROJECT, env="smoke") as session:
        catalog = session.load_context().catalog
        for name in request["names"]:
            try:
                catalog.load(name)
            except Exception as error:
                failures[name] = f"{type(error).__name__}: {error}"
    return failures


def _in_child(request: dict) -> dict:
    """Serve ``request`` in a forked child; the parent stays as pristine as it started."""
    fd, result_file = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        log = os.open(request.get("log", os.devnull), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(log, 1)
        os.dup2(log, 2)
        try:
            result = {}
            if request["op"] == "load":
                result = {"failures": _load(request)}
            else:
                _run(request)
            Path(result_file).write_text(json.dumps(result))
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    text = Path(result_file).read_text()
    Path(result_file).unlink()
    return {"returncode": returncode, **(json.loads(text) if text else {})}


def _answer(answer: dict) -> None:
    _ANSWERS.write(json.dumps(answer) + "\n")
    _ANSWERS.flush()


def main() -> None:
    os.chdir(PROJECT)
    bootstrap_project(PROJECT)
    for answer in _answers():
        _answer(answer)


def _answers():
    yield {"written": _describe()}
    for line in sys.stdin:
        yield _in_child(json.loads(line))


if __name__ == "__main__":
    main()
