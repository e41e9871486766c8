"""The ONNX contract: round trip through metadata_props, refusal of invalid contracts, and
every scaler field checked against values worked out by hand from the data."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx.contract import (
    OnnxContract,
    Scaler,
    make_session,
    run_batched,
    shape_of,
    stamp,
)
from lstm_forecast.timeseries.features import FEATURE_NAMES
from lstm_forecast.timeseries.preparation import fit_scaler
from tests.timeseries._tables import (
    TINY_FEATURE_MEAN,
    TINY_FEATURE_SCALE,
    TINY_TARGET_MEAN,
    TINY_TARGET_SCALE,
    TINY_VAL_START,
    tiny_feature_table,
)

WINDOW, HORIZON, QUANTILES = 4, 2, (0.1, 0.5, 0.9)


def _contract(**changes) -> OnnxContract:
    scaler = fit_scaler(tiny_feature_table(), TINY_VAL_START, "log_return", HORIZON)
    contract = OnnxContract(
        model_kind="tiny",
        feature_names=tuple(scaler["feature_names"]),
        window_length=WINDOW,
        interval="1h",
        horizon=HORIZON,
        quantiles=QUANTILES,
        target_kind=scaler["target_kind"],
        scaler=Scaler.from_dict(scaler),
        training_range={"start": "2024-01-01T00:00:00+00:00", "end_before": "2024-01-01T04:00"},
        lineage={"features": "abc123"},
        exporter="hand-built graph",
    )
    return dataclasses.replace(contract, **changes) if changes else contract


def _graph(
    features: int = len(FEATURE_NAMES), horizon: int = HORIZON, input_name: str = "window"
) -> onnx.ModelProto:
    """window [batch, 4, features] -> MatMul [features, 3] -> first ``horizon`` bars."""
    weight = np.arange(features * 3, dtype=np.float32).reshape(features, 3)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", [input_name, "weight"], ["projected"]),
            helper.make_node("Gather", ["projected", "steps"], ["forecast"], axis=1),
        ],
        "tiny",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", WINDOW, features])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", horizon, 3])],
        [
            numpy_helper.from_array(weight, "weight"),
            numpy_helper.from_array(np.arange(horizon, dtype=np.int64), "steps"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _props(model: onnx.ModelProto) -> dict[str, str]:
    return {prop.key: prop.value for prop in model.metadata_props}


def _with_props(props: dict[str, str]) -> onnx.ModelProto:
    model = _graph()
    del model.metadata_props[:]
    helper.set_model_props(model, props)
    return model


def test_metadata_props_round_trip_to_an_equal_contract():
    contract = _contract()
    props = contract.to_metadata_props()
    assert all(isinstance(value, str) for value in props.values())
    back = OnnxContract.from_dict({key: json.loads(value) for key, value in props.items()})
    assert back == contract
    validated = contract.with_validation({"passed": True, "max_abs_diff": 3e-8})
    props = validated.to_metadata_props()
    again = OnnxContract.from_dict({key: json.loads(value) for key, value in props.items()})
    assert again == validated
    assert again.validation == {"passed": True, "max_abs_diff": 3e-8}


def test_every_scaler_field_in_the_metadata_is_the_hand_computed_one():
    model = stamp(_graph(), _contract(), doc="tiny")
    props = _props(model)
    scaler = json.loads(props["scaler"])
    np.testing.assert_allclose(scaler["feature_mean"], TINY_FEATURE_MEAN, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scaler["feature_scale"], TINY_FEATURE_SCALE, rtol=1e-12)
    np.testing.assert_allclose(scaler["target_mean"], TINY_TARGET_MEAN, rtol=1e-12)
    np.testing.assert_allclose(scaler["target_scale"], TINY_TARGET_SCALE, rtol=1e-12)
    assert json.loads(props["feature_names"]) == list(FEATURE_NAMES)
    assert json.loads(props["quantiles"]) == [0.1, 0.5, 0.9]
    assert (json.loads(props["horizon"]), json.loads(props["window_length"])) == (2, 4)
    assert json.loads(props["target_kind"]) == "log_return"
    assert json.loads(props["to_price"]) == "close_{t+h} = close_t * exp(y_h)"
    formula = json.loads(props["feature_formulas"])["log_volume_change"]
    assert formula.startswith("clip(ln(base_volume_t / base_volume_{t-1}), -10, 10)")
    assert json.loads(props["feature_range"]) is None  # a contract without a recorded range
    assert model.producer_name == "lstm-forecast"


def test_from_model_reads_a_saved_file_and_a_session(tmp_path):
    contract = _contract()
    path = tmp_path / "tiny.onnx"
    onnx.save(stamp(_graph(), contract, doc="tiny"), path)
    model = onnx.load(path)
    assert OnnxContract.from_model(model) == contract
    session = make_session(model, {"intra_op_num_threads": 1})
    assert OnnxContract.from_model(session) == contract
    assert shape_of(model.graph.output[0]) == ["batch", HORIZON, 3]
    windows = np.random.default_rng(0).normal(size=(7, WINDOW, 6)).astype(np.float32)
    whole = run_batched(session, windows, batch_size=7)
    assert whole.shape == (7, HORIZON, 3)
    np.testing.assert_array_equal(run_batched(session, windows, batch_size=3), whole)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"quantiles": (0.5, 0.1, 0.9)}, "quantiles"),  # unsorted
        ({"quantiles": (0.1, 0.5, 0.5)}, "quantiles"),  # repeated
        ({"quantiles": (0.5, 1.0)}, "quantiles"),  # not inside (0, 1)
        ({"quantiles": ()}, "quantiles"),
        ({"window_length": 1}, "window_length 1"),
        ({"horizon": 0}, "horizon 0"),
        ({"target_kind": "price"}, "target_kind 'price'"),
        ({"feature_names": (*FEATURE_NAMES[:5], "rsi_14")}, "rsi_14"),
    ],
)
def test_invalid_contracts_are_refused_naming_the_problem(changes, named):
    with pytest.raises(ArtifactError, match="Invalid ONNX contract") as error:
        _contract(**changes)
    assert named in str(error.value)


@pytest.mark.parametrize("field", ["feature_mean", "feature_scale"])
def test_a_feature_scaler_of_the_wrong_length_is_refused(field):
    scaler = dataclasses.replace(_contract().scaler, **{field: (1.0,) * 5})
    with pytest.raises(ArtifactError, match=f"6 features but .*5 {field}"):
        _contract(scaler=scaler)


@pytest.mark.parametrize("field", ["target_mean", "target_scale"])
def test_a_target_scaler_of_the_wrong_length_is_refused(field):
    scaler = dataclasses.replace(_contract().scaler, **{field: (1.0, 1.0, 1.0)})
    with pytest.raises(ArtifactError, match=f"horizon 2 but .*3 {field}"):
        _contract(scaler=scaler)


@pytest.mark.parametrize(
    "key", ["horizon", "quantiles", "scaler", "feature_names", "target_kind", "window_length"]
)
def test_from_model_names_a_missing_metadata_key(key):
    props = _contract().to_metadata_props()
    del props[key]
    with pytest.raises(ArtifactError, match=f"lacks \\['{key}'\\]") as error:
        OnnxContract.from_model(_with_props(props))
    assert "kedro run --pipelines=export" in str(error.value)


def test_from_model_names_a_missing_scaler_field_and_refuses_malformed_values():
    props = _contract().to_metadata_props()
    scaler = json.loads(props["scaler"])
    del scaler["target_scale"]
    with pytest.raises(ArtifactError, match="target_scale"):
        OnnxContract.from_model(_with_props(props | {"scaler": json.dumps(scaler)}))
    with pytest.raises(ArtifactError, match="metadata_props do not hold"):
        OnnxContract.from_model(_with_props(props | {"horizon": "two"}))
    with pytest.raises(ArtifactError, match="metadata_props do not hold"):
        OnnxContract.from_model(_graph())  # no metadata at all


def test_from_model_refuses_a_graph_that_disagrees_with_the_contract():
    contract = _contract()
    with pytest.raises(ArtifactError, match=r"returns \[1, 3\].*says 6 and \[2, 3\]"):
        OnnxContract.from_model(stamp(_graph(horizon=1), contract, doc="tiny"))
    with pytest.raises(ArtifactError, match="takes 5 features"):
        OnnxContract.from_model(stamp(_graph(features=5), contract, doc="tiny"))
    with pytest.raises(ArtifactError, match="'window'"):
        OnnxContract.from_model(stamp(_graph(input_name="x"), contract, doc="tiny"))


def _declared(inputs: dict[str, list], outputs: dict[str, list], **changes) -> onnx.ModelProto:
    """A graph that only declares its inputs and outputs (enough for the shape check)."""
    graph = helper.make_graph(
        [],
        "declared",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
    )
    contract = _contract(artifact="forecaster", **changes)
    return stamp(helper.make_model(graph), contract, doc="declared")


def test_a_forecaster_graph_takes_window_plus_one_raw_bars_and_returns_horizon_by_levels():
    # WINDOW = 4 features windows need 5 raw candles of 5 columns; out [2 steps, 3 levels].
    good = _declared({"window": ["batch", 5, 5]}, {"forecast": ["batch", 2, 3]})
    assert OnnxContract.from_model(good).artifact == "forecaster"
    for inputs, outputs, said in (
        ({"window": ["batch", 4, 5]}, {"forecast": ["batch", 2, 3]}, "window [4, 5] and "),
        ({"window": ["batch", 5, 6]}, {"forecast": ["batch", 2, 3]}, "window [5, 6] and "),
        ({"window": ["batch", 5, 5]}, {"forecast": ["batch", 2, 2]}, "forecast [2, 2]; "),
        ({"window": ["batch", 5, 5]}, {"forecast": ["batch", 3, 3]}, "forecast [3, 3]; "),
        ({"candles": ["batch", 5, 5]}, {"forecast": ["batch", 2, 3]}, "window [] and "),
        ({"window": ["batch", 5, 5]}, {"quantiles": ["batch", 2, 3]}, "forecast []; "),
    ):
        with pytest.raises(ArtifactError) as caught:
            OnnxContract.from_model(_declared(inputs, outputs))
        assert said in str(caught.value)
        assert str(caught.value).endswith("its contract says [5, 5] -> [2, 3].")


def test_a_model_output_of_another_rank_is_refused():
    model = _graph()
    model.graph.output[0].CopyFrom(
        helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", 6])
    )
    with pytest.raises(ArtifactError, match=r"returns \[6\], but the contract says 6 and \[2, 3\]"):
        _contract()._check_graph(model)


def test_the_smallest_valid_window_and_horizon_and_levels_strictly_inside_zero_one():
    assert _contract(window_length=2).window_length == 2
    one_step = dataclasses.replace(_contract().scaler, target_mean=(0.0,), target_scale=(1.0,))
    assert _contract(horizon=1, scaler=one_step).horizon == 1
    with pytest.raises(ArtifactError, match=r"quantiles \[0.0, 0.5\]"):
        _contract(quantiles=(0.0, 0.5))
    with pytest.raises(ArtifactError) as caught:
        _contract(window_length=1, horizon=0)
    assert str(caught.value).startswith("Invalid ONNX contract: window_length 1 < 2; horizon 0")
    assert str(caught.value).endswith("target_scale values.")


def test_make_session_applies_the_runtime_settings_to_bytes_and_models():
    settings = {
        "intra_op_num_threads": 3,
        "inter_op_num_threads": 2,
        "graph_optimization_level": "basic",
    }
    for model in (_graph(), _graph().SerializeToString()):
        options = make_session(model, settings).get_session_options()
        assert (options.intra_op_num_threads, options.inter_op_num_threads) == (3, 2)
        assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = make_session(_graph(), {})
    defaults = session.get_session_options()
    assert (defaults.intra_op_num_threads, defaults.inter_op_num_threads) == (0, 0)
    assert defaults.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_the_metadata_spells_out_scaling_and_unscaling_for_a_reader():
    props = _props(stamp(_graph(), _contract(), doc="tiny"))
    assert json.loads(props["scale"]) == "scaled = (feature - feature_mean) / feature_scale"
    assert json.loads(props["unscale"]) == (
        "y_h = forecast[..., h, q] * target_scale[h] + target_mean[h]"
    )


def test_a_forecaster_with_a_longer_context_takes_context_plus_one_bars():
    # context_length 10 (window 4): 11 raw candles in; window + 1 = 5 is refused.
    good = _declared({"window": ["batch", 11, 5]}, {"forecast": ["batch", 2, 3]}, context_length=10)
    contract = OnnxContract.from_model(good)
    assert (contract.window_length, contract.context_length, contract.input_length) == (4, 10, 11)
    with pytest.raises(ArtifactError, match=r"says \[11, 5\] -> \[2, 3\]"):
        OnnxContract.from_model(
            _declared({"window": ["batch", 5, 5]}, {"forecast": ["batch", 2, 3]}, context_length=10)
        )


def test_both_lengths_and_the_feature_set_travel_in_the_metadata():
    props = _props(stamp(_graph(), _contract(context_length=9, feature_set="volatility"), "t"))
    assert json.loads(props["window_length"]) == 4
    assert json.loads(props["context_length"]) == 9
    assert json.loads(props["input_length"]) == 10  # derived, for readers: context_length + 1
    assert json.loads(props["feature_set"]) == "volatility"
    again = OnnxContract.from_model(_with_props(props))
    assert (again.context_length, again.feature_set) == (9, "volatility")


def test_a_file_from_before_feature_sets_reads_as_basic_with_window_plus_one_bars():
    props = _contract().to_metadata_props()
    for key in ("context_length", "feature_set", "input_length"):
        del props[key]
    contract = OnnxContract.from_model(_with_props(props))
    assert (contract.feature_set, contract.context_length, contract.input_length) == (
        "basic",
        WINDOW,
        WINDOW + 1,
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"context_length": 3}, "context_length 3 is shorter than the 4 bars"),
        ({"feature_set": "rsi"}, "feature_set 'rsi' not in"),
        (
            {"feature_names": ("log_return", "log_range_rv_6"), "feature_set": "basic"},
            "not all in the set 'basic'",
        ),
    ],
)
def test_a_context_or_feature_set_that_cannot_hold_the_features_is_refused(changes, named):
    if "feature_names" in changes:
        scaler = dataclasses.replace(
            _contract().scaler, feature_mean=(0.0, 0.0), feature_scale=(1.0, 1.0)
        )
        changes = changes | {"scaler": scaler, "context_length": 10}
    with pytest.raises(ArtifactError, match="Invalid ONNX contract") as error:
        _contract(**changes)
    assert named in str(error.value)


def test_from_dict_makes_the_lengths_whole_numbers_as_a_json_reader_may_give_floats():
    # A JSON writer elsewhere may store 4 as 4.0: the contract holds ints either way.
    values = _contract(context_length=9).to_dict() | {"window_length": 4.0, "context_length": 9.0}
    contract = OnnxContract.from_dict(values)
    assert (contract.window_length, contract.context_length) == (4, 9)
    assert type(contract.context_length) is int and type(contract.window_length) is int


def test_a_feature_this_code_does_not_compute_is_named_in_the_refusal():
    with pytest.raises(ArtifactError) as refused:
        _contract(feature_names=("log_return", "made_up"))
    assert "features ['made_up'] are not ones this code computes" in str(refused.value)
