"""OpenVINO IR static analysis: read the model with OpenVINO and walk its ops."""

from pathlib import Path

import numpy as np

from edgeplan.errors import BackendUnavailable
from edgeplan.models.analysis import OpStat, StaticAnalysis


def analyse_ir(path: Path) -> StaticAnalysis:
    """Constants count as weights; Convolution / MatMul count MACs."""
    try:
        import openvino as ov
    except ImportError as exc:
        raise BackendUnavailable(
            "IR analysis needs openvino: pip install 'edgeplan[openvino]'"
        ) from exc
    model = ov.Core().read_model(str(path))
    ops, weight_bytes, params = [], 0, 0
    for node in model.get_ordered_ops():
        kind = node.get_type_name()
        if kind in ("Parameter", "Result"):
            continue
        if kind == "Constant":
            n = (
                int(np.prod(list(node.get_output_shape(0))))
                if node.get_output_partial_shape(0).is_static
                else 0
            )
            params += n
            weight_bytes += n * node.get_output_element_type(0).size
            continue
        stat = OpStat(
            name=node.get_friendly_name(),
            op_type=kind,
            inputs=tuple(
                f"{v.get_node().get_friendly_name()}:{v.get_index()}"
                for v in (node.input_value(j) for j in range(node.get_input_size()))
            ),
            outputs=tuple(f"{node.get_friendly_name()}:{j}" for j in range(node.get_output_size())),
        )
        out = node.get_output_partial_shape(0)
        n_out = int(np.prod(list(out.to_shape()))) if out.is_static else 0
        if kind in ("Convolution", "GroupConvolution", "MatMul") and node.get_input_size() > 1:
            w = node.input_value(1).get_partial_shape()
            if w.is_static:
                dims = list(w.to_shape())
                k = int(np.prod(dims[-3:])) if kind != "MatMul" else dims[-1]
                stat.macs = (
                    n_out * k // (dims[1] if kind == "GroupConvolution" and len(dims) == 5 else 1)
                )
                if kind == "GroupConvolution" and len(dims) == 5:  # [G, Cout/G, Cin/G, kh, kw]
                    stat.kernel = "depthwise" if dims[1] == dims[2] == 1 else "conv"
                elif kind == "Convolution":
                    stat.kernel = "pointwise" if int(np.prod(dims[2:])) == 1 else "conv"
        stat.activation_bytes = n_out * node.get_output_element_type(0).size
        if kind == "MatMul" and node.get_input_size() > 1:
            src = node.input_value(1).get_node()
            while src.get_type_name() in ("Convert", "FakeQuantize", "Multiply", "Subtract"):
                src = src.input_value(0).get_node()  # decompressed or quantised weights
            stat.kernel = "gemm" if src.get_type_name() == "Constant" else "attention"
        # activations in elements: the output and the data input (both inputs of an attention
        # product; a weighted op's second input is its weights, decompressed or not)
        data = [0, 1] if stat.kernel == "attention" else [0]
        stat.activation_elems = n_out + sum(
            int(np.prod(list(node.input_value(i).get_shape())))
            for i in data
            if i < node.get_input_size() and node.input_value(i).get_partial_shape().is_static
        )
        ops.append(stat)
    return StaticAnalysis(
        params=params,
        weight_bytes=weight_bytes,
        macs=sum(o.macs for o in ops),
        activation_bytes=sum(o.activation_bytes for o in ops),
        peak_activation_bytes=max((o.activation_bytes for o in ops), default=0),
        input_shapes={
            p.get_friendly_name(): [
                d.get_length() if d.is_static else -1 for d in p.get_partial_shape()
            ]
            for p in model.get_parameters()
        },
        ops=ops,
        notes=["IR analysis counts Constant outputs as weights"],
    )
