"""Where the bytes of an ONNX file go: weights, graph, contract metadata, the rest.

Each part is the serialised size of the protobuf messages it holds, with their own field
tags and lengths, so the parts add up to the file size up to the framing of the
``graph`` message itself (a few bytes). ``Constant`` nodes count as weights: the dynamo
exporter stores small tensors that way, and an int8 file keeps its scales and zero points
there or in initializers.
"""

from __future__ import annotations

from typing import Any

import onnx

PARTS = ("weights", "graph", "metadata", "other")


def _repeated_bytes(message: Any, field: str, keep: Any = None) -> int:
    holder = type(message)()
    getattr(holder, field).extend(
        item for item in getattr(message, field) if keep is None or keep(item)
    )
    return holder.ByteSize()


def size_breakdown(model: onnx.ModelProto) -> dict[str, Any]:
    """Bytes of ``model`` by part, and how many tensors and nodes hold them.

    Returns:
        ``total_bytes``; ``weights_bytes`` (initializers, sparse initializers and
        ``Constant`` nodes), ``graph_bytes`` (every other node, inputs, outputs,
        ``value_info``, names and docs of the graph), ``metadata_bytes`` (``metadata_props``:
        the contract, lineage, the variant record), ``other_bytes`` (opsets, producer, IR
        version, model-level functions and doc) and ``framing_bytes`` (what is left: the
        tag and length of the graph message); the parts as shares of the total; and
        ``weights_by_type`` (bytes of initializer data per ONNX element type).
    """
    graph = model.graph
    is_constant = lambda node: node.op_type == "Constant"  # noqa: E731
    weights = (
        _repeated_bytes(graph, "initializer")
        + _repeated_bytes(graph, "sparse_initializer")
        + _repeated_bytes(graph, "node", is_constant)
    )
    graph_only = onnx.GraphProto()
    graph_only.CopyFrom(graph)
    del graph_only.initializer[:]
    del graph_only.sparse_initializer[:]
    kept = [node for node in graph.node if not is_constant(node)]
    del graph_only.node[:]
    graph_only.node.extend(kept)
    graph_part = graph_only.ByteSize()
    metadata = _repeated_bytes(model, "metadata_props")
    rest = onnx.ModelProto()
    rest.CopyFrom(model)
    rest.ClearField("graph")
    rest.ClearField("metadata_props")
    other = rest.ByteSize()
    total = model.ByteSize()
    parts = {"weights": weights, "graph": graph_part, "metadata": metadata, "other": other}
    by_type: dict[str, int] = {}
    for tensor in graph.initializer:
        name = onnx.TensorProto.DataType.Name(tensor.data_type).lower()
        by_type[name] = by_type.get(name, 0) + tensor.ByteSize()
    return {
        "total_bytes": total,
        **{f"{part}_bytes": size for part, size in parts.items()},
        "framing_bytes": total - sum(parts.values()),
        "shares": {part: size / total for part, size in parts.items()},
        "initializers": len(graph.initializer),
        "constant_nodes": sum(1 for node in graph.node if is_constant(node)),
        "nodes": len(kept),
        "weights_by_type": by_type,
    }
