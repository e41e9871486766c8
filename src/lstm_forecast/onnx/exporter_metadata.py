"""Exports that depend on the weights and the graph only, not on where the export ran.

torch's dynamo exporter writes debugging metadata into every node and value: Python stack
traces with this machine's absolute paths, whose depth depends on the caller (a Dask
worker's traces are ~4.7 kB longer), so the same weights gave files that differed by
checkout and by runner. Every exporter in the project (the LSTM's, the forecaster's
feature and price graphs) passes its result through ``without_exporter_metadata``.
"""

from __future__ import annotations

from typing import Any

import onnx


def without_exporter_metadata(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop the exporter's per-graph, per-node and per-value metadata and doc strings, in place.

    The file then depends on the weights and the graph only, not on where or how the
    export ran. The model's own ``metadata_props`` (the contract) are left alone.

    Args:
        model: An exported model.

    Returns:
        The same model.
    """
    graphs = [model.graph, *(g for f in model.functions for g in _subgraphs(f.node))]
    while graphs:
        graph = graphs.pop()
        del graph.metadata_props[:]
        graph.doc_string = ""
        for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
            del value.metadata_props[:]
            value.doc_string = ""
        for node in graph.node:
            del node.metadata_props[:]
            node.doc_string = ""
        graphs.extend(_subgraphs(graph.node))
    for function in model.functions:
        del function.metadata_props[:]
        for node in function.node:
            del node.metadata_props[:]
            node.doc_string = ""
    return model


def _subgraphs(nodes: Any) -> list[onnx.GraphProto]:
    """The graphs held in node attributes (If, Loop, Scan bodies)."""
    found = []
    for node in nodes:
        for attribute in node.attribute:
            found.extend([attribute.g] if attribute.HasField("g") else [])
            found.extend(attribute.graphs)
    return found
