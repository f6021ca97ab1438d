"""Kernels: the classes of work a device's compiler forms from a graph, and which of them a
model holds.

nn-Meter and LitePred predict per kernel because devices differ by kernel class far more than
by op count: a depthwise convolution has little reuse per weight, attention multiplies two
activations (no weight stationarity, softmax between), and a Hailo or Edge TPU compiler
places such layers differently from dense convolutions. Static analysis classes each op
(`OpStat.kernel` where the analyser knows it, else by op type below). Catalogue models
without a graph carry the same classes as a published fact (models.csv `kernels`)."""

from collections import defaultdict
from collections.abc import Iterable

from edgeplan.models.analysis import OpStat

# The classes a model is tagged with when it holds them (the device model's kernel features)
TAGGED = ("depthwise", "attention")
_BY_TYPE = {
    "depthwise": {"DEPTHWISE_CONV_2D"},
    "conv": {
        "Convolution", "GroupConvolution", "ConvTranspose", "TRANSPOSE_CONV",
        "ConvolutionBackpropData",
    },
    "elementwise": {
        "Add", "Sub", "Mul", "Div", "Relu", "Sigmoid", "Tanh", "Clip", "HardSwish", "HardSigmoid",
        "LeakyRelu", "Swish", "Exp", "Pow", "Sqrt", "Erf", "Gelu", "BatchNormalization",
        "ADD", "SUB", "MUL", "DIV", "RELU", "RELU6", "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU",
        "Multiply", "Subtract", "Divide", "Power", "Clamp", "HSwish", "PRelu", "PRELU",
        "Softmax", "SOFTMAX", "SoftMax", "LayerNormalization", "MVN", "ReduceMean", "MEAN",
    },
    "resize": {"Resize", "Upsample", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "Interpolate"},
    "pool": {
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "MAX_POOL_2D",
        "AVERAGE_POOL_2D", "AvgPool",
    },
    "layout": {
        "Reshape", "Transpose", "Concat", "Split", "Slice", "Flatten", "Squeeze", "Unsqueeze",
        "Gather", "Shape", "RESHAPE", "TRANSPOSE", "CONCATENATION", "SPLIT", "SPLIT_V",
        "STRIDED_SLICE", "GATHER", "PACK", "UNPACK", "Pad", "PAD", "QUANTIZE", "DEQUANTIZE",
        "QuantizeLinear", "DequantizeLinear", "Convert", "FakeQuantize", "StridedSlice",
        "VariadicSplit", "ShapeOf",
    },
}  # fmt: skip
_TYPE_TO_CLASS = {t: k for k, types in _BY_TYPE.items() for t in types}


def kernel_of(op: OpStat) -> str:
    """The op's kernel class: the analyser's where it set one, else by op type."""
    if op.kernel:
        return op.kernel
    if op.op_type in ("Conv", "CONV_2D"):
        return "conv"
    if op.op_type in ("MatMul", "Gemm", "FULLY_CONNECTED", "BATCH_MATMUL"):
        return "gemm" if op.weight_bytes else "attention"
    return _TYPE_TO_CLASS.get(op.op_type, "other")


def kernel_mix(ops: Iterable[OpStat]) -> dict[str, dict[str, int]]:
    """Per kernel class: op count, MACs and bytes moved (weights + activations)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "macs": 0, "bytes": 0})
    for op in ops:
        row = out[kernel_of(op)]
        row["count"] += 1
        row["macs"] += op.macs
        row["bytes"] += op.weight_bytes + op.activation_bytes
    return dict(out)


WEIGHTED = ("conv", "depthwise", "pointwise", "gemm")  # classes that are one weighted layer each


def weighted_layers(ops: Iterable[OpStat]) -> int:
    """Convolution and fully-connected kernels in the graph: the layers a compiler schedules
    (and, on a dataflow NPU, gives chip resources) one by one."""
    return sum(kernel_of(op) in WEIGHTED for op in ops)


def critical_depth(ops: Iterable[OpStat]) -> int:
    """Weighted layers on the longest path from the graph's inputs to its outputs (ops in
    graph order, which ONNX, TFLite and OpenVINO keep topological): a runtime that runs
    independent branches side by side (Inception's, a detector's neck) pays a layer's fixed
    cost along this path, not once per layer. 0 when the graph gives no edges."""
    depth: dict[str, int] = {}
    deepest = 0
    for op in ops:
        d = max((depth.get(t, 0) for t in op.inputs), default=0)
        d += kernel_of(op) in WEIGHTED
        for t in op.outputs:
            depth[t] = d
        deepest = max(deepest, d)
    return deepest


MATRIX = ("gemm", "attention")  # matrix products: with weights, and activation by activation


def gemm_macs(ops: Iterable[OpStat]) -> int:
    """MACs in matrix products (fully-connected layers and attention's products): the kernel
    class whose efficiency differs most from convolutions' on NPUs built for convolutions."""
    return sum(op.macs for op in ops if kernel_of(op) in MATRIX)


def kernel_macs(ops: Iterable[OpStat], kernel: str) -> int:
    """MACs in one kernel class (`depthwise`: one input channel per group, little reuse per
    weight, so a chip runs them at an efficiency of their own)."""
    return sum(op.macs for op in ops if kernel_of(op) == kernel)


def attention_macs(ops: Iterable[OpStat]) -> int:
    """MACs in attention's activation-by-activation products (of gemm_macs): neither operand
    is a weight, so an NPU that keeps weights in place next to its MAC arrays (Hailo) streams
    both, and a softmax sits between the two products."""
    return sum(op.macs for op in ops if kernel_of(op) == "attention")


def activation_elems(ops: Iterable[OpStat]) -> int:
    """Activation elements the weighted layers (and attention's products) read and write: the
    traffic a kernel moves besides its weights, high for depthwise blocks, wide feature maps
    and many-scale heads at the same MACs."""
    return sum(op.activation_elems for op in ops if kernel_of(op) in (*WEIGHTED, "attention"))


def tags(ops: Iterable[OpStat]) -> frozenset[str]:
    """The tagged classes a model holds (one depthwise conv or attention product is enough:
    a compiler must place it, whatever its share of MACs)."""
    mix = kernel_mix(ops)
    return frozenset(k for k in TAGGED if mix.get(k, {}).get("macs", 0) > 0)


def parse_tags(text: str) -> frozenset[str]:
    """A models.csv `kernels` cell (`depthwise;attention`), checked against the known tags."""
    got = frozenset(t.strip() for t in text.replace(",", ";").split(";") if t.strip())
    bad = got - set(TAGGED) - {"none"}
    if bad:
        raise ValueError(f"unknown kernel tags {sorted(bad)}; known: {', '.join(TAGGED)}, none")
    return got - {"none"}


# ops that reduce a map (whole, or along axes a graph's op does not always say) and ops that
# scale one map by another
REDUCTIONS = {
    "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax", "ReduceSum", "MEAN",
    "REDUCE_MAX", "SUM", "ReduceMeanOp",
}  # fmt: skip
SCALES = {"Mul", "MUL", "Multiply", "Div", "DIV", "Divide"}


def global_gates(ops: Iterable[OpStat]) -> int:
    """Gates: reductions of a map whose result, through any ops, scales that same map
    (squeeze-and-excitation: x * sigmoid(fc(fc(mean(x))))). A pipelined NPU (Hailo) must hold
    the whole map on chip until its gate is known, so each one takes resources that its MACs
    do not show (device.Context). A classifier's final pooling scales nothing; a layer norm
    written out subtracts its mean and divides another tensor, so neither is a gate."""
    ops = list(ops)
    consumers: dict[str, list[OpStat]] = defaultdict(list)
    for op in ops:
        for t in op.inputs:
            consumers[t].append(op)
    return sum(
        op.op_type in REDUCTIONS and bool(op.inputs) and _scales_its_map(op, consumers)
        for op in ops
    )


def _scales_its_map(reduction: OpStat, consumers: dict[str, list[OpStat]]) -> bool:
    """Whether a tensor derived from the reduction's output multiplies (or divides) the map
    it reduced."""
    src = reduction.inputs[0]
    reached, todo = set(reduction.outputs), list(reduction.outputs)
    while todo:
        for op in consumers.get(todo.pop(), ()):
            if op.op_type in SCALES and src in op.inputs and reached & set(op.inputs):
                return True
            todo += [t for t in op.outputs if t not in reached]
            reached.update(op.outputs)
    return False
