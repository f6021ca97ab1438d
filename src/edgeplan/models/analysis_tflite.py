"""TFLite static analysis from the interpreter's op and tensor details."""

from pathlib import Path

import numpy as np

from edgeplan.errors import BackendUnavailable, ModelError
from edgeplan.models.analysis import OpStat, StaticAnalysis


def _interpreter(path: Path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise BackendUnavailable(
            "TFLite analysis needs ai-edge-litert: pip install 'edgeplan[litert]'"
        ) from exc
    try:
        return Interpreter(model_path=str(path))
    except Exception as exc:  # litert raises ValueError/RuntimeError on a bad flatbuffer
        raise ModelError(f"{path}: not a loadable TFLite model ({exc})") from exc


def _macs(op_name: str, inputs: list[list[int]], out: list[int]) -> int:
    n_out = int(np.prod(out)) if out else 0
    if op_name == "CONV_2D" and len(inputs) > 1 and len(inputs[1]) == 4:
        return n_out * int(np.prod(inputs[1][1:]))  # OHWI: kh * kw * Cin per output
    if op_name == "DEPTHWISE_CONV_2D" and len(inputs) > 1 and len(inputs[1]) == 4:
        return n_out * inputs[1][1] * inputs[1][2]
    if op_name == "TRANSPOSE_CONV" and len(inputs) > 1 and len(inputs[1]) == 4:
        return n_out * int(np.prod(inputs[1][1:3])) * inputs[1][0]
    if op_name in ("FULLY_CONNECTED", "BATCH_MATMUL") and len(inputs) > 1 and inputs[1]:
        return n_out * inputs[1][-1]
    return 0


def analyse_tflite(path: Path) -> StaticAnalysis:
    """Constant tensors (not produced by any op, not graph inputs) count as weights."""
    it = _interpreter(path)
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    ops_details = it._get_ops_details()  # the only public-ish way to walk the graph
    produced = {int(o) for op in ops_details for o in op["outputs"]}
    graph_inputs = {d["index"] for d in it.get_input_details()}

    def nbytes(idx: int) -> int:
        t = tensors.get(idx)
        return int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize if t is not None else 0

    def nelems(idx: int) -> int:
        t = tensors.get(idx)
        return int(np.prod(t["shape"])) if t is not None else 0

    is_weight = {i for i in tensors if i not in produced and i not in graph_inputs}
    ops = []
    for op in ops_details:
        ins = [int(i) for i in op["inputs"] if int(i) >= 0]
        outs = [int(o) for o in op["outputs"]]
        shapes = [[int(x) for x in tensors[i]["shape"]] for i in ins if i in tensors]
        out_shape = (
            [int(x) for x in tensors[outs[0]]["shape"]] if outs and outs[0] in tensors else []
        )
        stat = OpStat(
            name=f"{op['op_name']}_{op['index']}",
            op_type=op["op_name"],
            inputs=tuple(str(i) for i in ins if i not in is_weight),
            outputs=tuple(str(o) for o in outs),
        )
        stat.weight_bytes = sum(nbytes(i) for i in ins if i in is_weight)
        stat.activation_bytes = sum(nbytes(i) for i in ins if i not in is_weight) + sum(
            nbytes(o) for o in outs
        )
        stat.activation_elems = sum(nelems(i) for i in ins if i not in is_weight) + sum(
            nelems(o) for o in outs
        )
        stat.macs = _macs(op["op_name"], shapes, out_shape)
        if op["op_name"] == "CONV_2D" and len(shapes) > 1 and len(shapes[1]) == 4:
            stat.kernel = "pointwise" if shapes[1][1] * shapes[1][2] == 1 else "conv"
        elif op["op_name"] in ("FULLY_CONNECTED", "BATCH_MATMUL") and len(ins) > 1:
            stat.kernel = "gemm" if ins[1] in is_weight else "attention"
        ops.append(stat)
    used_weights = {i for op in ops_details for i in op["inputs"] if int(i) in is_weight}
    return StaticAnalysis(
        params=sum(int(np.prod(tensors[i]["shape"])) for i in used_weights),
        weight_bytes=sum(nbytes(int(i)) for i in used_weights),
        macs=sum(o.macs for o in ops),
        activation_bytes=sum(o.activation_bytes for o in ops),
        peak_activation_bytes=max((o.activation_bytes for o in ops), default=0),
        input_shapes={d["name"]: list(map(int, d["shape"])) for d in it.get_input_details()},
        ops=ops,
        notes=[],
    )
