"""OpenVINO beside the variants, on the hand-built model of ``test_nodes_by_hand``.

Each path of ``other_runtimes``: turned off, not installed, a file it cannot read, a real
OpenVINO run that matches, and one that does not (with the note on float64/int64 inputs).
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
import pytest

from lstm_forecast.onnx import optimisation
from lstm_forecast.onnx.runtimes import RuntimeUnavailableError, openvino_missing
from lstm_forecast.pipelines.variants import runtimes
from lstm_forecast.pipelines.variants.params import VariantsParams

from .test_nodes_by_hand import ACTUAL, LEVELS, RUNTIME, _check, _hand_prices, _model

SETTINGS = RUNTIME.as_dict()
REFERENCE = _hand_prices(0.0)
OPENVINO_TOLERANCE = VariantsParams().tolerance.openvino.model_dump()


def _run(fp32=None, prices=lambda session: REFERENCE, **settings) -> dict:
    params = VariantsParams.model_validate(settings)
    return runtimes.other_runtimes(fp32 or _model(), prices, REFERENCE, ACTUAL, params, SETTINGS)[
        "openvino"
    ]


def test_turned_off_it_is_skipped_with_the_reason(caplog):
    with caplog.at_level(logging.INFO, logger=runtimes.__name__):
        entry = _run(openvino=False)
    assert entry == {
        "file": "fp32",
        "precision": "f32",
        "tolerance": OPENVINO_TOLERANCE,
        "verdict": "skipped",
        "failures": ["variants.openvino is false"],
        "parity": None,
    }
    assert caplog.messages == [
        "OpenVINO check of the tiny model skipped: variants.openvino is false."
    ]


def test_not_installed_or_unreadable_it_is_skipped(monkeypatch):
    monkeypatch.setattr(runtimes, "openvino_missing", lambda: "openvino is not installed")
    assert _run()["failures"] == ["openvino is not installed"]
    monkeypatch.setattr(runtimes, "openvino_missing", lambda: None)

    def unreadable(*args, **kwargs):
        raise RuntimeUnavailableError("cannot read this file")

    monkeypatch.setattr(runtimes, "open_runtime", unreadable)
    entry = _run()
    assert entry["verdict"] == "skipped" and entry["failures"] == ["cannot read this file"]


@pytest.mark.skipif(openvino_missing() is not None, reason=openvino_missing() or "")
def test_openvino_runs_the_float_file_within_its_tolerance():
    entry = _check(_model(), _model(), openvino=True)["runtimes"]["openvino"]
    assert entry["verdict"] == "passed" and entry["failures"] == []
    assert entry["file"] == "fp32" and entry["tolerance"] == OPENVINO_TOLERANCE
    assert entry["threads"] == SETTINGS["intra_op_num_threads"]
    assert entry["version"]
    assert entry["parity"]["windows"] == 3
    assert entry["parity"]["max_abs_price_diff"] <= 1e-4  # float rounding at most


class _Session:
    version = "2099.0"


def test_prices_past_the_tolerance_fail_and_name_wide_inputs(monkeypatch, caplog):
    monkeypatch.setattr(runtimes, "openvino_missing", lambda: None)
    monkeypatch.setattr(runtimes, "open_runtime", lambda model, name, settings: _Session())
    nudged = REFERENCE.copy()
    nudged[0, 0, 1] += 0.005  # one median: max 0.005, mean 0.005 / 18, within 0.01 / 0.001
    with caplog.at_level(logging.INFO, logger=runtimes.__name__):
        close = _run(prices=lambda session: nudged)
    assert close["verdict"] == "passed" and close["version"] == "2099.0"
    assert close["file"] == "fp32" and close["tolerance"] == OPENVINO_TOLERANCE
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "OpenVINO PASSED on the tiny model: max |price diff| 0.005.")
    ]
    caplog.clear()
    expected = optimisation.price_parity(REFERENCE, REFERENCE + 0.02, ACTUAL, LEVELS)
    failed = _run(prices=lambda session: REFERENCE + 0.02)
    assert failed["parity"] == expected
    # 0.02 everywhere: max and mean past 0.01 / 0.001. Each known actual lies between the
    # median and q0.95, so the shift lowers the pinball losses at 0.05 and 0.5 by 0.05 * 0.02
    # and 0.5 * 0.02 and raises the one at 0.95 by 0.05 * 0.02: CRPS 2/3 * -0.01 = -0.00667.
    # Coverage stays (every actual is still inside the 90% interval).
    assert failed["failures"] == [
        "max_abs_price_diff 0.02 > 0.01",
        "mean_abs_price_diff 0.02 > 0.001",
        "max_crps_change 0.006667 > 0.001",
    ]
    assert failed["parity"]["crps_change"] == pytest.approx(-0.02 / 3)
    # A float64 and an int64 input (as the forecaster's): the likely cause is named.
    wide = _model()
    for name, elem in (("prices", onnx.TensorProto.DOUBLE), ("times", onnx.TensorProto.INT64)):
        wide.graph.input.append(onnx.helper.make_tensor_value_info(name, elem, [1]))
    with caplog.at_level(logging.WARNING, logger=runtimes.__name__):
        noted = _run(wide, prices=lambda session: REFERENCE + 0.02)
    assert noted["verdict"] == "failed"
    assert noted["failures"][:3] == failed["failures"]
    assert noted["failures"][3] == (
        "OpenVINO's CPU plugin computes float64 as float32 and int64 as int32, and this "
        "file's inputs are double/int64 (the forecaster's epoch-time and price arithmetic)"
    )
    assert caplog.records[-1].levelname == "WARNING"
    assert caplog.messages[-1].startswith(
        "OpenVINO FAILED on the tiny model: max_abs_price_diff 0.02 > 0.01; mean_abs_price_diff"
    )
    # Wide inputs alone, within tolerance: no note.
    assert _run(wide)["failures"] == []


def test_outside_words_each_figure_past_its_bound():
    parity = {
        "max_abs_price_diff": 3.0,
        "mean_abs_price_diff": 1.0,
        "max_rel_price_diff": 0.5,
        "crps_change": -0.2,
        "coverage_90_change": None,
    }
    bounds = dict.fromkeys(OPENVINO_TOLERANCE, 0.1) | {"max_abs_price_diff": 3.0}
    assert runtimes.outside(parity, bounds) == [
        "mean_abs_price_diff 1 > 0.1",
        "max_rel_price_diff 0.5 > 0.1",
        "max_crps_change 0.2 > 0.1",  # a fall counts as much as a rise
    ]
    assert runtimes.outside(parity | {"coverage_90_change": -0.2}, bounds)[-1] == (
        "max_coverage_change 0.2 > 0.1"
    )


def test_the_size_breakdown_leaves_out_dropped_variants():
    from lstm_forecast.datasets.onnx_variant_dataset import DroppedVariant
    from lstm_forecast.onnx.size import size_breakdown

    fp32, opt = _model(), _model(delta=1.0)
    sizes = runtimes.size_breakdowns(fp32, {"opt": opt, "int8": DroppedVariant("int8", "no")})
    assert sizes == {"fp32": size_breakdown(fp32), "opt": size_breakdown(opt)}
    assert np.isclose(sizes["opt"]["total_bytes"], opt.ByteSize())
