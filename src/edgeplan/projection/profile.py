"""What a device model needs to know about a model: MACs (and those in matrix products),
parameter and activation bytes, input size, ops."""

from dataclasses import dataclass, field

from edgeplan.catalogue.load import ModelFacts
from edgeplan.models.analysis import StaticAnalysis
from edgeplan.projection.kernels import (
    activation_elems,
    attention_macs,
    critical_depth,
    gemm_macs,
    global_gates,
    kernel_macs,
    tags,
    weighted_layers,
)

BYTES_PER_ELEMENT = {"int8": 1, "fp16": 2}  # else 4 (fp32)


@dataclass(frozen=True)
class CostProfile:
    """Compute and memory cost of one inference, and the op sequence when a graph is known."""

    name: str
    gmacs: float
    params_m: float
    input_pixels: int
    # (op type, MACs) in graph order, less what a converter to a static channels-last format
    # drops (analysis.OpStat.converted_away): the ops a compiled file runs
    ops: tuple[tuple[str, int], ...] = field(default=())
    source: str = "static analysis"
    kernels: frozenset[str] = frozenset()  # kernel tags it holds (projection/kernels.py)
    layers: int | None = None  # weighted layers per inference; None when not known
    # weighted layers on the longest path through the graph; None when not known (then layers)
    depth: int | None = None
    gemm_gmacs: float = 0.0  # of gmacs, in matrix products (fully connected, attention)
    attention_gmacs: float = 0.0  # of gemm_gmacs, attention's activation-by-activation products
    depthwise_gmacs: float = 0.0  # of gmacs, in depthwise convolutions
    # activation elements (millions) the weighted layers read and write; None when not known
    act_elements_m: float | None = None
    # whole-map reductions whose map is read again (squeeze-and-excitation's gates), 0 when
    # not known: a pipelined NPU holds each such map whole (device.Context)
    global_gates: int = 0

    def weight_bytes(self, precision: str) -> float:
        return self.params_m * 1e6 * BYTES_PER_ELEMENT.get(precision, 4)

    def act_mb(self, precision: str) -> float:
        """Activation MB the weighted layers move per inference at this precision."""
        return (self.act_elements_m or 0.0) * BYTES_PER_ELEMENT.get(precision, 4)

    def path_layers(self) -> int:
        """Weighted layers run one after another: the critical path where it is known, else
        every layer (a runtime that overlaps independent branches pays a layer's fixed cost
        along the longest path only)."""
        return self.depth or self.layers or 0

    def gemm_share(self) -> float:
        """The share of MACs in matrix products (0 to 1)."""
        return min(1.0, self.gemm_gmacs / self.gmacs) if self.gmacs > 0 else 0.0

    def depthwise_share(self) -> float:
        """The share of MACs in depthwise convolutions (0 to 1 - gemm_share)."""
        if self.gmacs <= 0:
            return 0.0
        return min(1.0 - self.gemm_share(), self.depthwise_gmacs / self.gmacs)

    def attention_share(self) -> float:
        """The share of MACs in attention's activation products (0 to gemm_share)."""
        if self.gmacs <= 0:
            return 0.0
        return min(self.gemm_share(), self.attention_gmacs / self.gmacs)


def from_analysis(name: str, a: StaticAnalysis) -> CostProfile:
    shape = next(iter(a.input_shapes.values()), [1, 3, 224, 224])
    dims = [d for d in shape if isinstance(d, int) and d > 3]
    pixels = dims[-1] * dims[-2] if len(dims) >= 2 else 224 * 224
    return CostProfile(
        name=name,
        gmacs=a.macs / 1e9,
        params_m=a.params / 1e6,
        input_pixels=pixels,
        ops=tuple((o.op_type, o.macs) for o in a.ops if not o.converted_away),
        source="static analysis",
        kernels=tags(a.ops),
        layers=weighted_layers(a.ops) or None,
        depth=critical_depth(a.ops) or None,
        gemm_gmacs=gemm_macs(a.ops) / 1e9,
        attention_gmacs=attention_macs(a.ops) / 1e9,
        depthwise_gmacs=kernel_macs(a.ops, "depthwise") / 1e9,
        act_elements_m=activation_elems(a.ops) / 1e6 or None,
        global_gates=global_gates(a.ops),
    )


def from_facts(
    m: ModelFacts, gmacs: float | None = None, source: str | None = None
) -> CostProfile | None:
    """From catalogue facts; `gmacs` overrides a missing figure (e.g. estimated elsewhere).
    A published total below the matrix products counted in it left attention's products out
    (conventions differ: the Hailo zoo gives ViT-Ti 1.1 GMACs and DeiT-Ti, the same network,
    1.285): they are added, so that every model's MACs count the same work."""
    g = gmacs if gmacs is not None else m.gmacs
    if g is None:
        return None
    if m.attention_gmacs and m.gemm_gmacs and m.gemm_gmacs > g:
        g += m.attention_gmacs
    dw = m.depthwise_gmacs
    if dw is None:  # not counted: a depthwise-tagged model's task's median share, else none
        dw = g * (m.depthwise_share_estimate or 0.0)
    return CostProfile(
        name=m.id,
        gmacs=g,
        params_m=m.params_m or g * 5,
        input_pixels=(m.input_h or 224) * (m.input_w or 224),
        source=source or f"model facts ({m.source.split(' ;')[0][:60]})",
        kernels=m.kernels,
        layers=m.layers or m.layers_estimate,
        depth=m.depth if m.layers else None,  # a count of the same definition, or none
        gemm_gmacs=m.gemm_gmacs or 0.0,
        attention_gmacs=m.attention_gmacs or 0.0,
        depthwise_gmacs=dw,
        act_elements_m=m.act_elements_m or m.act_elements_estimate,
        global_gates=m.global_gates or 0,
    )
