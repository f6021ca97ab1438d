"""ONNX graph walk: shapes from onnx shape inference, MACs per Conv/Gemm/MatMul."""

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, shape_inference

from edgeplan.errors import ModelError
from edgeplan.models.analysis import OpStat, StaticAnalysis


def _pin_inputs(model: onnx.ModelProto, input_hw: tuple[int, int] | None) -> list[str]:
    """Replace symbolic input dims by 1 (batch) or the given H, W; return notes."""
    init = {i.name for i in model.graph.initializer}
    notes = []
    for inp in model.graph.input:
        if inp.name in init:
            continue
        dims = inp.type.tensor_type.shape.dim
        for idx, d in enumerate(dims):
            if d.dim_value > 0:
                continue
            value = 1
            if input_hw and len(dims) == 4 and idx in (2, 3):
                value = input_hw[idx - 2]
            elif len(dims) == 4 and idx in (2, 3):
                value = 320
                notes.append(f"input {inp.name} dim {idx} is dynamic; analysed at {value}")
            d.dim_value = value
    return notes


def _shape_map(model: onnx.ModelProto) -> dict[str, tuple[list[int], int]]:
    """Tensor name -> (shape, bytes per element) for every tensor with a known shape."""
    out = {}
    vis = list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output)
    for vi in vis:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in tt.shape.dim]
        try:
            itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type)).itemsize
        except (KeyError, TypeError):
            itemsize = 4
        out[vi.name] = (shape, itemsize)
    for t in model.graph.initializer:
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
        out[t.name] = (list(t.dims), itemsize)
    return out


def _numel(shape: list[int]) -> int:
    return int(np.prod(shape)) if shape else 1


def _macs(node: onnx.NodeProto, shapes: dict[str, tuple[list[int], int]]) -> int:
    out = shapes.get(node.output[0], ([], 4))[0] if node.output else []
    if node.op_type in ("Conv", "ConvInteger", "QLinearConv") and out:
        w_idx = 3 if node.op_type == "QLinearConv" else 1
        w = shapes.get(node.input[w_idx], ([], 4))[0]
        if len(w) >= 3:
            return _numel(out) * _numel(w[1:])  # each output: Cin/group * kH * kW MACs
    if node.op_type == "ConvTranspose" and out:
        w = shapes.get(node.input[1], ([], 4))[0]
        x = shapes.get(node.input[0], ([], 4))[0]
        if len(w) >= 3 and x:
            return _numel(x) * _numel(w[1:])
    if node.op_type in ("Gemm", "MatMul", "MatMulInteger", "QLinearMatMul") and out:
        a_idx = 0
        a = shapes.get(node.input[a_idx], ([], 4))[0]
        if a:
            k = a[0] if node.op_type == "Gemm" and _attr(node, "transA") else a[-1]
            return _numel(out) * k
    return 0


def _kernel(
    node: onnx.NodeProto, shapes: dict[str, tuple[list[int], int]], init: dict[str, object]
) -> str:
    """The kernel class of a Conv or MatMul (depthwise, pointwise, conv; gemm with weights,
    attention between two activations); other ops are classed by type (projection/kernels)."""
    if node.op_type in ("Conv", "ConvInteger", "QLinearConv"):
        w = shapes.get(node.input[3 if node.op_type == "QLinearConv" else 1], ([], 4))[0]
        x = shapes.get(node.input[0], ([], 4))[0]
        group = _attr(node, "group") or 1
        if group > 1 and len(x) > 1 and group == x[1] and len(w) > 1 and w[1] == 1:
            return "depthwise"
        return "pointwise" if len(w) >= 3 and _numel(w[2:]) == 1 else "conv"
    if node.op_type in ("MatMul", "MatMulInteger", "QLinearMatMul", "Gemm"):
        b = node.input[3 if node.op_type == "QLinearMatMul" else 1]
        return "gemm" if b in init else "attention"
    return ""


def _attr(node: onnx.NodeProto, name: str) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(helper.get_attribute_value(a))
    return 0


QDQ = ("QuantizeLinear", "DequantizeLinear")
# NCHW -> NHWC and back: the permutes a channels-first graph makes around channels-last work
CHANNEL_SWAPS = ([0, 2, 3, 1], [0, 3, 1, 2])


def _is_static(shape: list[Any]) -> bool:
    """Whether every dimension of a shape is a known number."""
    return bool(shape) and all(isinstance(d, int) and d > 0 for d in shape)


def _perm(node: onnx.NodeProto) -> list[int]:
    """A Transpose's permutation (empty where it is not stated: all axes reversed)."""
    return next((list(a.ints) for a in node.attribute if a.name == "perm"), [])


def analyse_onnx(path: Path, input_hw: tuple[int, int] | None = None) -> StaticAnalysis:
    """Walk the graph; count params, MACs, weight and activation bytes per node."""
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ModelError(f"{path}: not a readable ONNX model ({exc})") from exc
    notes = _pin_inputs(model, input_hw)
    try:
        model = shape_inference.infer_shapes(model)
    except Exception as exc:
        notes.append(f"shape inference failed ({exc}); activation bytes are partial")
    shapes = _shape_map(model)
    init = {t.name: t for t in model.graph.initializer}
    consts = {n.output[0] for n in model.graph.node if n.op_type == "Constant"}
    static = set(init) | consts  # tensors known before run time: a converter folds them
    ops: list[OpStat] = []
    for i, node in enumerate(model.graph.node):
        if node.op_type == "Constant":
            continue
        stat = OpStat(
            name=node.name or f"{node.op_type}_{i}",
            op_type=node.op_type,
            inputs=tuple(n for n in node.input if n and n not in init and n not in consts),
            outputs=tuple(node.output),
        )
        for name in node.input:
            if not name or name in consts:
                continue
            shape, itemsize = shapes.get(name, ([], 0))
            nbytes = _numel(shape) * itemsize if shape or itemsize else 0
            if name in init:
                stat.weight_bytes += nbytes
            else:
                stat.activation_bytes += nbytes
                stat.activation_elems += _numel(shape) if shape else 0
        for name in node.output:
            shape, itemsize = shapes.get(name, ([], 0))
            stat.activation_bytes += _numel(shape) * itemsize if itemsize else 0
            stat.activation_elems += _numel(shape) if shape else 0
        stat.macs = _macs(node, shapes)
        stat.kernel = _kernel(node, shapes, init)
        shape_only = node.op_type == "Shape" and _is_static(shapes.get(node.input[0], ([], 0))[0])
        # a weight's DequantizeLinear folds too, but stays listed: it says the model is int8
        folded = shape_only or (
            node.op_type not in QDQ and all(n in static for n in node.input if n)
        )
        swap = node.op_type == "Transpose" and _perm(node) in CHANNEL_SWAPS
        stat.converted_away = folded or swap
        if folded:
            static.update(node.output)
        ops.append(stat)
    # int64 initialisers are shapes and indices, not learned parameters
    params = sum(
        _numel(list(t.dims))
        for t in model.graph.initializer
        if t.data_type != onnx.TensorProto.INT64
    )
    weight_bytes = sum(_numel(list(t.dims)) * shapes[t.name][1] for t in model.graph.initializer)
    graph_inputs = {
        i.name: [d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in model.graph.input
        if i.name not in init
    }
    if any(i.name in init for i in model.graph.input):
        notes.append(
            "weights are listed as graph inputs: runtimes cannot constant-fold them; moving them"
            " out of the inputs is a free, lossless speed-up"
        )
    return StaticAnalysis(
        params=params,
        weight_bytes=weight_bytes,
        macs=sum(o.macs for o in ops),
        activation_bytes=sum(o.activation_bytes for o in ops),
        peak_activation_bytes=max((o.activation_bytes for o in ops), default=0),
        input_shapes=graph_inputs,
        ops=ops,
        notes=notes,
    )
