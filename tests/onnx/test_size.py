"""The size breakdown of an ONNX file: each part counted once, summing to the file."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lstm_forecast.onnx.size import size_breakdown


def _model(weights: int, metadata: str) -> onnx.ModelProto:
    weight = numpy_helper.from_array(np.ones((weights, 4), np.float32), "w")
    shift = helper.make_node(
        "Constant", [], ["b"], value=numpy_helper.from_array(np.zeros(4, np.float32))
    )
    graph = helper.make_graph(
        [
            shift,
            helper.make_node("MatMul", ["x", "w"], ["y0"]),
            helper.make_node("Add", ["y0", "b"], ["y"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", weights])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
        [weight],
    )
    model = helper.make_model(graph, producer_name="test")
    helper.set_model_props(model, {"contract": metadata})
    return model


def test_the_parts_add_up_to_the_serialised_file():
    model = _model(300, '{"a": ' + "1" * 500 + "}")
    parts = size_breakdown(model)
    assert parts["total_bytes"] == len(model.SerializeToString())
    assert 0 < parts["framing_bytes"] <= 6
    assert parts["weights_bytes"] > 300 * 4 * 4 and parts["metadata_bytes"] > 500
    assert parts["constant_nodes"] == 1 and parts["nodes"] == 2 and parts["initializers"] == 1
    assert abs(sum(parts["shares"].values()) - 1) < 0.01


def test_each_part_moves_with_what_it_holds():
    small, big = size_breakdown(_model(10, "{}")), size_breakdown(_model(10, "x" * 1000))
    assert big["metadata_bytes"] - small["metadata_bytes"] >= 998
    assert (
        big["weights_bytes"] == small["weights_bytes"]
        and big["graph_bytes"] == small["graph_bytes"]
    )
    wider = size_breakdown(_model(20, "{}"))
    # 10 more rows of 4 float32 in raw_data; the length prefixes stay two bytes long.
    assert wider["weights_bytes"] - small["weights_bytes"] == 10 * 4 * 4
    assert wider["weights_by_type"]["float"] > small["weights_by_type"]["float"]
