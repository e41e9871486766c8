"""What every exported model promises its consumers, as one typed object.

``model.onnx`` (and every other model file) takes input ``window`` ``[batch, window,
n_features]`` float32 of scaled features and returns ``forecast`` ``[batch, horizon,
n_quantiles]`` float32 in scaled target units. ``OnnxContract`` holds everything needed to
go from raw candles to that input and from that output to prices; it is written into the
file's ``metadata_props`` by ``stamp`` and read back, checked, by ``from_model``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

import lstm_forecast
from lstm_forecast.errors import ArtifactError
from lstm_forecast.timeseries.features import FEATURE_FORMULAS, FEATURE_SETS, context_length
from lstm_forecast.timeseries.targets import TARGET_KINDS

INPUT_NAME = "window"
OUTPUT_NAME = "forecast"
# The self-contained forecaster's inputs and outputs.
CANDLES, OPEN_TIME = "candles", "open_time"
CLOSE_QUANTILES, WINDOW_OK = "close_quantiles", "window_ok"
EXTRAPOLATING = "extrapolating"
PRODUCER_NAME = "lstm-forecast"

_OPTIMISATION_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


@dataclass(frozen=True)
class Scaler:
    """Standardisation fit on the training split: one vocabulary for every stage."""

    feature_mean: tuple[float, ...]
    feature_scale: tuple[float, ...]
    target_mean: tuple[float, ...]  # one per horizon step
    target_scale: tuple[float, ...]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Scaler:
        """Build from the ``feature_scaler`` dataset (or its JSON form in a contract)."""
        return cls(**{f.name: tuple(float(v) for v in values[f.name]) for f in _fields(cls)})


@dataclass(frozen=True)
class OnnxContract:
    """The contract of one exported model; immutable, validated on construction."""

    model_kind: str
    feature_names: tuple[str, ...]
    window_length: int
    interval: str
    horizon: int
    quantiles: tuple[float, ...]
    target_kind: str
    scaler: Scaler
    training_range: dict[str, str]
    lineage: dict[str, str] = field(default_factory=dict)
    exporter: str = ""
    project_version: str = lstm_forecast.__version__
    input_name: str = INPUT_NAME
    output_name: str = OUTPUT_NAME
    # "model": scaled window in, scaled quantiles out; "forecaster": raw candles in, prices out.
    artifact: str = "model"
    # The training rows' feature range and margin behind the forecaster's `extrapolating`.
    feature_range: dict[str, Any] | None = None
    # Set only on a published file, by the validation stage, once every check passed.
    validation: dict[str, Any] | None = None
    # The named set the features come from (`features.feature_set`); older files: basic.
    feature_set: str = "basic"
    # Bars of history one forecast reads besides the extra first bar: the forecaster takes
    # context_length + 1 bars and the network sees the last window_length of their features.
    # None (older files): window_length.
    context_length: int | None = None

    def __post_init__(self) -> None:
        if self.context_length is None:
            object.__setattr__(self, "context_length", self.window_length)
        problems = []
        if self.window_length < 2:
            problems.append(f"window_length {self.window_length} < 2")
        if self.feature_set not in FEATURE_SETS:
            problems.append(f"feature_set {self.feature_set!r} not in {sorted(FEATURE_SETS)}")
        elif not set(self.feature_names) <= set(FEATURE_SETS[self.feature_set]):
            problems.append(
                f"features {list(self.feature_names)} are not all in the set {self.feature_set!r}"
            )
        needed = context_length(self.window_length, self.feature_names)
        if self.context_length < needed:
            problems.append(
                f"context_length {self.context_length} is shorter than the {needed} bars "
                f"these features read for a window of {self.window_length}"
            )
        if self.horizon < 1:
            problems.append(f"horizon {self.horizon} < 1")
        levels = list(self.quantiles)
        if not levels or levels != sorted(set(levels)) or not all(0 < q < 1 for q in levels):
            problems.append(f"quantiles {levels} are not distinct, ascending levels in (0, 1)")
        if self.target_kind not in TARGET_KINDS:
            problems.append(f"target_kind {self.target_kind!r} not in {sorted(TARGET_KINDS)}")
        unknown = [name for name in self.feature_names if name not in FEATURE_FORMULAS]
        if unknown:
            problems.append(f"features {unknown} are not ones this code computes")
        n, s = len(self.feature_names), self.scaler
        if {len(s.feature_mean), len(s.feature_scale)} != {n}:
            problems.append(
                f"{n} features but the scaler has {len(s.feature_mean)} feature_mean and "
                f"{len(s.feature_scale)} feature_scale values"
            )
        if {len(s.target_mean), len(s.target_scale)} != {self.horizon}:
            problems.append(
                f"horizon {self.horizon} but the scaler has {len(s.target_mean)} target_mean "
                f"and {len(s.target_scale)} target_scale values"
            )
        if problems:
            raise ArtifactError("Invalid ONNX contract: " + "; ".join(problems) + ".")

    @property
    def input_length(self) -> int:
        """Bars in one forecaster input: ``context_length + 1``, oldest first."""
        return int(self.context_length) + 1

    @property
    def to_price(self) -> str:
        """How an unscaled target becomes a price, in words."""
        return TARGET_KINDS[self.target_kind]

    def to_dict(self) -> dict[str, Any]:
        """The contract as plain JSON-ready values (with feature formulas, for readers)."""
        values = dataclasses.asdict(self)
        values["feature_formulas"] = {n: FEATURE_FORMULAS[n] for n in self.feature_names}
        values["to_price"] = self.to_price
        values["input_length"] = self.input_length
        values["unscale"] = "y_h = forecast[..., h, q] * target_scale[h] + target_mean[h]"
        values["scale"] = "scaled = (feature - feature_mean) / feature_scale"
        return values

    def to_metadata_props(self) -> dict[str, str]:
        """String key/value pairs for ``metadata_props``: one key per field, JSON values."""
        return {key: json.dumps(value) for key, value in self.to_dict().items()}

    def with_validation(self, validation: dict[str, Any]) -> OnnxContract:
        """The same contract, marked as validated (``validation['passed']`` must be true)."""
        return dataclasses.replace(self, validation=validation)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> OnnxContract:
        """Rebuild and check a contract from ``to_dict`` output (derived keys ignored)."""
        names = {f.name for f in _fields(cls)}
        missing = sorted(
            f.name
            for f in _fields(cls)
            if f.name not in values
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        )
        if missing:
            raise ArtifactError(f"The contract lacks {missing}.")
        kwargs = {key: value for key, value in values.items() if key in names}
        kwargs["scaler"] = Scaler.from_dict(values["scaler"])
        kwargs["feature_names"] = tuple(values["feature_names"])
        kwargs["quantiles"] = tuple(float(q) for q in values["quantiles"])
        kwargs["window_length"] = int(values["window_length"])
        if values.get("context_length") is not None:
            kwargs["context_length"] = int(values["context_length"])
        kwargs["horizon"] = int(values["horizon"])
        return cls(**kwargs)

    @classmethod
    def from_model(cls, model: onnx.ModelProto | ort.InferenceSession) -> OnnxContract:
        """Read and check the contract of a model file or session.

        Raises:
            ArtifactError: If a key is missing or malformed, or the graph's declared input
                and output shapes disagree with the contract.
        """
        if isinstance(model, onnx.ModelProto):
            raw = {prop.key: prop.value for prop in model.metadata_props}
        else:
            raw = dict(model.get_modelmeta().custom_metadata_map)
        try:
            contract = cls.from_dict({key: json.loads(value) for key, value in raw.items()})
        except (ArtifactError, ValueError, TypeError, KeyError) as error:
            raise ArtifactError(
                f"The ONNX model's metadata_props do not hold a valid lstm-forecast contract "
                f"({error}). Re-export it: `kedro run --pipelines=export`."
            ) from error
        if isinstance(model, onnx.ModelProto):
            contract._check_graph(model)
        return contract

    def _check_graph(self, model: onnx.ModelProto) -> None:
        inputs = {value.name: shape_of(value) for value in model.graph.input}
        outputs = {value.name: shape_of(value) for value in model.graph.output}
        expected_out = [self.horizon, len(self.quantiles)]
        if self.artifact == "forecaster":
            expected_in = [self.input_length, 5]
            got_in = inputs.get(self.input_name, [None])[1:]
            got_out = outputs.get(self.output_name, [None])[1:]
            if got_in != expected_in or got_out != expected_out:
                raise ArtifactError(
                    f"The forecaster graph takes {self.input_name} {got_in} and returns "
                    f"{self.output_name} {got_out}; its contract says {expected_in} -> "
                    f"{expected_out}."
                )
            return
        if self.input_name not in inputs or self.output_name not in outputs:
            raise ArtifactError(
                f"The graph's inputs {list(inputs)} / outputs {list(outputs)} do not include "
                f"the contract's {self.input_name!r} / {self.output_name!r}."
            )
        features = inputs[self.input_name][-1]
        output = outputs[self.output_name][1:]
        if (
            (isinstance(features, int) and features != len(self.feature_names))
            or len(output) != len(expected_out)
            or any(
                isinstance(got, int) and got != want
                for got, want in zip(output, expected_out, strict=True)
            )
        ):
            raise ArtifactError(
                f"The graph takes {features} features per bar and returns {output}, but the "
                f"contract says {len(self.feature_names)} and {expected_out}."
            )


def stamp(model: onnx.ModelProto, contract: OnnxContract, doc: str) -> onnx.ModelProto:
    """Write ``contract`` and the producer into ``model`` (in place) and return it."""
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, contract.to_metadata_props())
    model.producer_name = PRODUCER_NAME
    model.producer_version = lstm_forecast.__version__
    model.doc_string = doc
    return model


def make_session(model: onnx.ModelProto | bytes, runtime: dict[str, Any]) -> ort.InferenceSession:
    """Open an onnxruntime CPU session with the project's session settings.

    Args:
        model: The model, or its serialised bytes.
        runtime: ``intra_op_num_threads``, ``inter_op_num_threads`` (0 = onnxruntime's
            choice) and ``graph_optimization_level`` (disable | basic | extended | all).

    Returns:
        An ``InferenceSession`` on the CPU execution provider.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(runtime.get("intra_op_num_threads", 0))
    options.inter_op_num_threads = int(runtime.get("inter_op_num_threads", 0))
    options.graph_optimization_level = _OPTIMISATION_LEVELS[
        runtime.get("graph_optimization_level", "all")
    ]
    payload = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(payload, options, providers=["CPUExecutionProvider"])


def run_batched(session: ort.InferenceSession, windows: np.ndarray, batch_size: int) -> np.ndarray:
    """Run ``windows`` through ``session`` ``batch_size`` at a time; concatenates the outputs."""
    outputs = [
        session.run([OUTPUT_NAME], {INPUT_NAME: windows[start : start + batch_size]})[0]
        for start in range(0, len(windows), batch_size)
    ]
    return np.concatenate(outputs, axis=0)


def shape_of(value_info: onnx.ValueInfoProto) -> list[str | int]:
    """Dimensions of a graph input/output: a name where symbolic, a number where fixed."""
    return [dim.dim_param or dim.dim_value for dim in value_info.type.tensor_type.shape.dim]


def _fields(cls: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)
