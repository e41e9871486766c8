"""kedro-viz sees the whole project: every pipeline, node and dataset, with layers and previews.

`kedro viz build --include-previews` writes the same JSON the kedro-viz app serves; the
expectations come from the pipeline registry and the catalog config, so pipelines added
later are checked too.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import run_kedro

pytestmark = pytest.mark.e2e

VIZ_LAYERS = {
    "raw",
    "intermediate",
    "primary",
    "feature",
    "model_input",
    "models",
    "model_output",
    "reporting",
}
STAGES = ("ingestion", "features", "training", "export", "validation")
KEY_NODES = {
    "clean_candles",
    "build_features",
    "split_chronologically",
    "fit_scaler_on_train",
    "make_windows",
    "lstm.train",
    "ridge.train",
    "lstm.export_onnx",
    "ridge.export_onnx",
    "lstm.export_forecaster",
    "lstm.validate_onnx",
    "ridge.validate_onnx",
    "lstm.publish_validated",
    "lstm.validate_forecaster",
    "lstm.forecast_test_split",
}
# The registry as Kedro itself loads it, from a fresh interpreter in the project.
_REGISTRY_SCRIPT = """
import json, sys
from pathlib import Path
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path.cwd())
from kedro.framework.project import pipelines
json.dump({name: {"nodes": [node.name for node in pipe.nodes],
                  "datasets": sorted(d for d in pipe.datasets() if not d.startswith("params:")
                                     and d != "parameters")}
           for name, pipe in pipelines.items()}, open(sys.argv[1], "w"))
"""


@pytest.fixture(scope="module")
def project(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the smoke project: `kedro viz build` writes build/ into it."""
    copy = tmp_path_factory.mktemp("viz") / "project"
    shutil.copytree(smoke_project, copy, ignore=shutil.ignore_patterns("build", "test-artifacts"))
    return copy


@pytest.fixture(scope="module")
def api(project: Path) -> Path:
    """The `api/` folder of a kedro-viz build of the project, previews included."""
    result = run_kedro(project, "viz", "build", "--include-previews", timeout=300)
    # kedro-viz reports a failed build in its output but still exits 0.
    assert "Success!" in result.stdout, result.stdout[-4000:] + result.stderr[-4000:]
    return project / "build" / "api"


@pytest.fixture(scope="module")
def registry(project: Path) -> dict[str, dict[str, list[str]]]:
    # A file, not stdout: Kedro's console logging writes to stdout.
    answer = project / "registry.json"
    result = subprocess.run(
        [sys.executable, "-c", _REGISTRY_SCRIPT, str(answer)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(answer.read_text())


@pytest.fixture(scope="module")
def catalog_config(project: Path) -> dict[str, dict]:
    """Every dataset entry of conf/base/catalog*.yml (patterns and `_anchors` left out)."""
    entries: dict[str, dict] = {}
    for path in sorted((project / "conf" / "base").glob("catalog*.yml")):
        for name, entry in (yaml.safe_load(path.read_text()) or {}).items():
            if not name.startswith("_") and "{" not in name:
                entries[name] = entry
    assert entries, "no catalog entries found"
    return entries


def _load(api: Path, *parts: str) -> dict:
    return json.loads(api.joinpath(*parts).read_text())


def _full_name(node: dict) -> str:
    return node.get("full_name") or node["name"]


def test_every_registered_pipeline_is_in_the_viz(api: Path, registry: dict) -> None:
    assert set(STAGES) <= set(registry), f"stages missing from the registry: {sorted(registry)}"
    main = _load(api, "main")
    assert {p["id"] for p in main["pipelines"]} == set(registry)
    assert main["selected_pipeline"] == "__default__"
    for name in registry:
        assert api.joinpath("pipelines", name).is_file(), f"no viz data for pipeline {name!r}"


def test_every_node_and_dataset_of_each_pipeline_is_shown(api: Path, registry: dict) -> None:
    missing = KEY_NODES - set(registry["__default__"]["nodes"])
    assert not missing, f"key nodes missing from __default__: {sorted(missing)}"
    for name, expected in registry.items():
        shown = _load(api, "pipelines", name)["nodes"]
        tasks = {_full_name(n) for n in shown if n["type"] == "task"}
        datasets = {n["name"] for n in shown if n["type"] == "data"}
        assert tasks == set(expected["nodes"]), f"pipeline {name!r}: tasks differ"
        assert datasets == set(expected["datasets"]), f"pipeline {name!r}: datasets differ"


def test_every_dataset_has_a_layer(api: Path, catalog_config: dict) -> None:
    for name, entry in catalog_config.items():
        layer = ((entry.get("metadata") or {}).get("kedro-viz") or {}).get("layer")
        assert layer in VIZ_LAYERS, f"catalog entry {name!r} has kedro-viz layer {layer!r}"
    data_nodes = [n for n in _load(api, "main")["nodes"] if n["type"] == "data"]
    unlayered = sorted(n["name"] for n in data_nodes if n["layer"] not in VIZ_LAYERS)
    # A dataset without a layer is one missing from the catalog: a MemoryDataset hand-off.
    assert not unlayered, f"datasets without a kedro-viz layer: {unlayered}"
    for node in data_nodes:
        if node["name"] in catalog_config:
            expected = catalog_config[node["name"]]["metadata"]["kedro-viz"]["layer"]
            assert node["layer"] == expected, node["name"]


def test_datasets_that_can_preview_have_one(api: Path) -> None:
    previews = {}
    for node in _load(api, "main")["nodes"]:
        if node["type"] != "data":
            continue
        meta = _load(api, "nodes", node["id"])
        module, _, cls = meta["type"].rpartition(".")
        dataset_cls = getattr(_import_dataset_module(module), cls)
        # Only data on disk can be previewed (a pipeline outside the smoke run writes none).
        on_disk = meta.get("filepath") and Path(meta["filepath"]).exists()
        if hasattr(dataset_cls, "preview") and on_disk:
            assert meta.get("preview"), f"{node['name']} ({meta['type']}) has no preview"
        previews[node["name"]] = meta
    assert previews["candles"]["preview_type"] == "TablePreview"
    assert previews["candles"]["preview"]["columns"][:2] == ["timestamp", "open"]


def _import_dataset_module(module: str):
    # kedro-viz shortens `kedro_datasets.json.json_dataset` to `json.json_dataset`, and a
    # project dataset `lstm_forecast.datasets.x` to `datasets.x`.
    # Kedro's own MemoryDataset comes out as `io.memory_dataset`.
    for prefix in ("kedro_datasets.", "lstm_forecast.", "kedro.", ""):
        try:
            return importlib.import_module(prefix + module)
        except ImportError:
            continue
    raise AssertionError(f"cannot import dataset module {module!r}")


@pytest.mark.parametrize(
    ("dataset", "key"),
    [("data_quality_report", "by_asset"), ("forecast_metrics", "horizon")],
)
def test_report_previews_show_the_report(
    api: Path, project: Path, catalog_config: dict, dataset: str, key: str
) -> None:
    node = next(n for n in _load(api, "main")["nodes"] if n["name"] == dataset)
    meta = _load(api, "nodes", node["id"])
    assert meta["preview_type"] == "JSONPreview"
    on_disk = json.loads((project / catalog_config[dataset]["filepath"]).read_text())
    assert json.loads(meta["preview"])[key] == on_disk[key]
    if dataset == "data_quality_report":
        # The shipped year has four gaps in each asset; a user sees them here, asset by asset.
        assert {a: s["gaps"] for a, s in on_disk["by_asset"].items()} == {
            "BTCUSDT": 4,
            "ETHUSDT": 4,
        }
