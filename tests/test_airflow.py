"""`kedro airflow create`: the generated DAG has the Kedro pipeline's nodes and order.

Airflow itself is not installed (Airflow 3 and its providers are several hundred MB), so
the generated file is read as Python source, never imported: which Kedro nodes each
Airflow task runs, and which task waits for which (``tasks["a"] >> tasks["b"]``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import kedro.framework.project as kedro_project
import pytest

from lstm_forecast.pipeline_registry import register_pipelines
from tests.conftest import copy_project, run_kedro

pytestmark = pytest.mark.e2e


def read_dag(path: Path) -> tuple[dict[str, list[str]], set[tuple[str, str]], dict[str, str]]:
    """Tasks, dependencies and module-level settings of a kedro-airflow DAG file.

    Returns:
        ``{task_id: node names or namespaces it runs}``, ``{(upstream, downstream)}`` task
        ids, and the module's string constants (``env``, ``pipeline_name``, ...).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    settings = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    runs: dict[str, list[str]] = {}
    edges: set[tuple[str, str]] = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for decorator in function.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "task":
                task_id = next(k.value.value for k in decorator.keywords if k.arg == "task_id")
                call = function.body[0].value  # _run_kedro_node(node_names=[...]) or namespaces
                (argument,) = call.keywords
                runs[task_id] = [f"{argument.arg}:{item.value}" for item in argument.value.elts]
    for statement in ast.walk(tree):
        if isinstance(statement, ast.BinOp) and isinstance(statement.op, ast.RShift):
            edges.add((statement.left.slice.value, statement.right.slice.value))
    return runs, edges, settings


@pytest.mark.parametrize(
    ("pipeline_name", "group_by"),
    [("__default__", None), ("__default__", "namespace"), ("backtest", None)],
)
def test_generated_dag_matches_the_pipeline(tmp_path, pipeline_name, group_by, monkeypatch):
    project = copy_project(tmp_path / "project")
    args = ["airflow", "create", "--env=smoke", f"--pipelines={pipeline_name}"]
    args += ["--target-dir", str(tmp_path / "dags")]
    if group_by:
        args += ["--group-by", group_by]
    run_kedro(project, *args, timeout=300)
    (dag_file,) = (tmp_path / "dags").glob("*.py")
    runs, edges, settings = read_dag(dag_file)
    assert settings["env"] == "smoke" and settings["pipeline_name"] == pipeline_name
    assert settings["package_name"] == "lstm_forecast"

    monkeypatch.setattr(kedro_project, "PACKAGE_NAME", "lstm_forecast")  # for find_pipelines
    pipeline = register_pipelines()[pipeline_name]
    task_of = {}  # Kedro node name -> the Airflow task that runs it
    for task_id, items in runs.items():
        for item in items:
            kind, name = item.split(":", 1)
            if kind == "node_names":
                members = [name]
            else:
                members = [
                    n.name for n in pipeline.nodes if (n.namespace or "").split(".")[0] == name
                ]
            for member in members:
                assert member not in task_of, f"{member} runs in two tasks"
                task_of[member] = task_id
    assert set(task_of) == {node.name for node in pipeline.nodes}
    if group_by is None:
        assert len(runs) == len(pipeline.nodes)
    elif pipeline_name == "__default__":
        assert {"lstm", "ridge"} <= set(runs)  # each model branch is one task
        assert len(runs) < len(pipeline.nodes)

    expected = {
        (task_of[parent.name], task_of[child.name])
        for child, parents in pipeline.node_dependencies.items()
        for parent in parents
        if task_of[parent.name] != task_of[child.name]
    }
    assert edges == expected
