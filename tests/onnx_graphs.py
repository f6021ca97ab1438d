"""Tiny ONNX graphs for tests: one float input `x`, one float output `y`."""

from collections.abc import Sequence
from pathlib import Path

import onnx
from onnx import NodeProto, TensorProto, helper


def save_graph(
    path: Path,
    nodes: Sequence[NodeProto],
    inits: Sequence[TensorProto],
    x_shape: list[int],
    y_shape: list[int],
    opset: int = 17,
    name: str = "g",
) -> Path:
    """Write `nodes` (reading `x`, writing `y`) with their initialisers as an ONNX model."""
    graph = helper.make_graph(
        list(nodes),
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        list(inits),
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path
