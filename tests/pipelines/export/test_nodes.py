"""Export stage: the contract stamped in, and refusals of damaged or mismatched inputs."""

from __future__ import annotations

import copy

import pytest
import torch

from lstm_forecast.errors import ArtifactError, LineageError
from lstm_forecast.onnx.contract import OnnxContract
from lstm_forecast.pipelines.export.nodes import export_onnx
from lstm_forecast.pipelines.export.params import ExportParams
from tests.pipelines.conftest import QUALITY


def test_the_staged_file_carries_the_contract(stage_outputs):
    contract = OnnxContract.from_model(stage_outputs["lstm"]["staged"])
    scaler = stage_outputs["scaler"]
    assert contract.scaler.feature_mean == tuple(scaler["feature_mean"])
    assert contract.scaler.target_scale == tuple(scaler["target_scale"])
    assert contract.horizon == 3 and contract.quantiles == (0.05, 0.5, 0.95)
    assert contract.interval == "1h" and contract.validation is None
    assert contract.training_range["end_before"] == stage_outputs["split"]["val_start"]


def test_nan_weights_are_refused(stage_outputs):
    trained = copy.deepcopy(stage_outputs["lstm"]["trained"])
    trained["state_dict"]["lstm.weight_hh_l0"][0, 0] = torch.nan
    with pytest.raises(ArtifactError, match=r"non-finite weights in \['lstm.weight_hh_l0'\]"):
        export_onnx(
            trained,
            stage_outputs["scaler"],
            stage_outputs["split"],
            QUALITY,
            ExportParams(),
            kind="lstm",
        )


def test_a_model_trained_on_another_scaler_is_refused(stage_outputs):
    scaler = copy.deepcopy(stage_outputs["scaler"])
    scaler["feature_mean"][0] += 1.0
    with pytest.raises(LineageError, match="another scaler"):
        export_onnx(
            stage_outputs["ridge"]["trained"],
            scaler,
            stage_outputs["split"],
            QUALITY,
            ExportParams(),
            kind="ridge",
        )
