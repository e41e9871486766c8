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
  `kedro run --env=smoke --nodes=A,B` does) with its output in ``log``; answers
  ``{"returncode": n}``, negative for a signal, as ``subprocess`` reports it;
- ``{"op": "load", "names": [...]}`` — a fork loads those datasets through the catalog;
  answers ``{"failures": {name: error}}``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

# Run as a script, Python puts tests/ first on the path, where the test packages that
# mirror src/ (tests/onnx/ ...) would shadow the libraries of the same name.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

# Answers go to the original stdout; everything else printed (Kedro logs to stdout, from
# its first import on) goes to stderr.
_ANSWERS = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

from kedro.framework.session import KedroSession  # noqa: E402
from kedro.framework.startup import bootstrap_project  # noqa: E402

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
        session.run(node_names=request["nodes"])


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


def main() -> None:
    os.chdir(PROJECT)
    bootstrap_project(PROJECT)
    for answer in _answers():
        _ANSWERS.write(json.dumps(answer) + "\n")
        _ANSWERS.flush()


def _answers():
    yield {"written": _describe()}
    for line in sys.stdin:
        yield _in_child(json.loads(line))


if __name__ == "__main__":
    main()
