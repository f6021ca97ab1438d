"""The device model: latency = overhead(metric) + frames x r x (b(precision) x effective GMACs
+ d x input megapixels + h x activation MB) + c x weight MB + r x e x weighted layers on the
graph's longest path [+ context switching on pipelined NPUs], r the runtime's factor (1 for the
runtime the device model is for) (`frames` > 1 only for a latency at batch N; a saturated
throughput drops the per-call c and e). Effective GMACs count a matrix product's MACs (fully
connected, attention) times the device's `gemm_factor` and a depthwise convolution's times its
`depthwise_factor`: a chip built for dense convolutions runs them at other efficiencies.

A layer's fixed cost e is at the device's first fitted precision and scales to another with
the precision's MAC speed (DeviceParams.precision_ratio).

It is the roofline with compute and traffic added (they overlap imperfectly on small edge
parts): b starts from the published peak for the precision, c and h from the memory bandwidth,
and all are fitted to the published figures of that device (devicefit.py). Devices without a
published peak start from a kind default and lean on their data."""

import math
from dataclasses import dataclass, field

from edgeplan.catalogue.load import Hardware
from edgeplan.projection.profile import CostProfile
from edgeplan.projection.split import REFERENCE_LAYERS, SplitModel, gates_ln, weights_ln

PRECISIONS = ("int8", "fp16", "fp32")
# Relative peak by precision when a spec sheet gives only one figure (assumed, stated in output)
_REL = {
    "cpu": {"int8": 2.0, "fp16": 1.0, "fp32": 1.0},
    "gpu-soc": {"int8": 4.0, "fp16": 2.0, "fp32": 1.0},
    "tpu": {"int8": 1.0, "fp16": 1.0, "fp32": 1.0},
    "npu": {"int8": 1.0, "fp16": 1.0, "fp32": 1.0},
    "vpu": {"int8": 1.0, "fp16": 1.0, "fp32": 0.5},
    "gpu": {"int8": 4.0, "fp16": 2.0, "fp32": 1.0},
}
_KIND_GOPS = {
    "cpu": 20.0,
    "gpu-soc": 500.0,
    "tpu": 1000.0,
    "npu": 5000.0,
    "vpu": 200.0,
    "gpu": 5000.0,
}
PRIOR_EFFICIENCY = 0.3  # of peak, the starting point of the fit


def peak_gops(hw: Hardware, precision: str) -> tuple[float | None, str]:
    """Peak ops/s (x1e9) for a precision and how it was derived; None when unknown."""
    rel = _REL.get(hw.kind, _REL["cpu"])
    if precision == "int8" and hw.int8_tops:
        dense = hw.int8_tops / 2 if hw.kind == "gpu-soc" else hw.int8_tops  # NVIDIA: sparse TOPS
        return dense * 1e3, "int8_tops" + (" / 2 (sparse -> dense)" if hw.kind == "gpu-soc" else "")
    if precision == "fp16" and hw.fp16_tflops:
        return hw.fp16_tflops * 1e3, "fp16_tflops"
    if precision == "fp32" and hw.fp32_tflops:
        return hw.fp32_tflops * 1e3, "fp32_tflops"
    for base, value in (("fp32", hw.fp32_tflops), ("fp16", hw.fp16_tflops), ("int8", hw.int8_tops)):
        if value:
            ratio = rel[precision] / rel[base]
            return value * 1e3 * ratio, f"{base} peak x {ratio:g} (assumed ratio)"
    return None, "no published peak"


def prior_b(hw: Hardware, precision: str) -> float:
    """ms per GMAC at the prior efficiency (2 ops per MAC)."""
    peak, _ = peak_gops(hw, precision)
    gops = (
        (peak * PRIOR_EFFICIENCY)
        if peak
        else _KIND_GOPS.get(hw.kind, 20.0) * _REL.get(hw.kind, _REL["cpu"])[precision]
    )
    return 2.0 / gops * 1000.0


def prior_c(hw: Hardware) -> float:
    """ms per MB of weights read once per inference."""
    return 1e6 / (hw.mem_bw_gbs * 1e9) * 1000 if hw.mem_bw_gbs else 0.01


CONTEXT_SHARPNESS = 3.0  # how soft the split threshold is, in 1/ln units (fixed, not fitted)


@dataclass(frozen=True)
class Context:
    """Context switching on a pipelined dataflow NPU (Hailo). A model the chip cannot hold at
    once is compiled into several contexts; every inference call loads them in turn, weights
    included, so batch-1 pays the switch in full and a batch of N shares it (the Hailo zoo's
    batch-1 vs batch-8 FPS). Whether a model splits is not published per model: it is a soft
    threshold on the resources it needs at once (its GMACs, weights, layers and global gates,
    each weighted, and shifted per kernel tag: attention and depthwise layers take more of the
    chip than their MACs say, and a squeeze-and-excitation gate holds its whole map), fitted
    on the device's own batch-1 / batch-8 rows. A switch costs a fixed time plus the weights
    it reloads."""

    threshold_gmacs: float
    switch_ms: float
    tag_shift: dict[str, float] = field(default_factory=dict)  # ln-GMAC shift per kernel tag
    sharpness: float = CONTEXT_SHARPNESS
    layer_weight: float = 0.0  # ln-GMAC shift per ln(layers / REFERENCE_LAYERS)
    weight_weight: float = 0.0  # ... per split.weights_ln
    gate_weight: float = 0.0  # ... per split.gates_ln (maps held whole for their gate)
    reload_ms_per_mb: float = 0.0  # weights reloaded per switch
    # a calibrated classifier of the same split (split.py): how sure the device's models make
    # it, for the band; the threshold above gives the projection
    classifier: SplitModel | None = None

    def split_share(self, profile: CostProfile) -> float:
        """0..1: how surely the model needs more than one context."""
        z = math.log(max(profile.gmacs, 1e-6)) - math.log(self.threshold_gmacs)
        z += sum(self.tag_shift.get(t, 0.0) for t in profile.kernels)
        if profile.layers:
            z += self.layer_weight * math.log(profile.layers / REFERENCE_LAYERS)
        z += self.weight_weight * weights_ln(profile)
        z += self.gate_weight * gates_ln(profile)
        return 1.0 / (1.0 + math.exp(-self.sharpness * z))

    def ms(self, profile: CostProfile, batch: int, weight_mb: float) -> float:
        """Switching time per frame at this batch size (`weight_mb`: the weights a switch
        reloads, at the precision run)."""
        cost = self.switch_ms + self.reload_ms_per_mb * weight_mb
        return cost * self.split_share(profile) / max(batch, 1)


def base_metric(key: str) -> str:
    """The metric of a key, without its harness or batch (`latency_ms_mean[src]@b1`)."""
    return key.split("@")[0].split("[")[0]


def batch_of(metric: str) -> int:
    """The batch size in a metric key (`throughput_fps@b8`), 1 when not stated."""
    _, _, b = metric.partition("@b")
    return int(b) if b.isdigit() else 1


@dataclass
class DeviceParams:
    """Fitted parameters of one segment (device, device:cpu, device:pytorch ...) and family."""

    b_ms_per_gmac: dict[str, float]
    c_ms_per_mb: float
    overhead_ms: dict[str, float]
    rows: int
    models: int = 0  # published models behind the rows
    d_ms_per_mpx: float = 0.0
    # per weighted layer run (dispatch, per-layer fixed cost) at the first fitted precision;
    # another precision's costs it times precision_ratio
    e_ms_per_layer: float = 0.0
    h_ms_per_act_mb: float = 0.0  # per MB of activations the weighted layers move
    gemm_factor: float = 1.0  # a matrix product's MAC costs this many convolution MACs
    gemm_evidence: float = 0.0  # rows' worth of matrix-product MACs the factor was fitted on
    # a depthwise convolution's MAC costs this many dense convolution MACs: little reuse per
    # weight makes a dense array (Hailo, Hexagon) or a CPU's SIMD run them below its dense
    # efficiency
    depthwise_factor: float = 1.0
    precisions_fitted: tuple[str, ...] = ()
    band_pct: float = 30.0  # from leave-one-model-out; a wide default before validation
    band_source: str = "assumed (not validated)"
    notes: list[str] = field(default_factory=list)
    context: Context | None = None  # pipelined NPUs with batch-1 and batch-N rows
    weight_cache_mb: float = 0.0  # on-chip parameter cache: c applies to the weights beyond it
    borrowed: tuple[str, ...] = ()  # metrics whose overhead is the family's, not own rows
    scaled_from: str = ""  # how a device with few models took its sibling's model (pooling.py)
    # the runtime the costs above are for (rows.runtime), and the per-frame and per-layer time
    # of each other runtime the rows hold as a multiple of it: a runtime is a kernel library
    runtime: str = ""
    runtime_factor: dict[str, float] = field(default_factory=dict)

    def b(self, hw: Hardware, precision: str) -> float:
        if precision in self.b_ms_per_gmac:
            return self.b_ms_per_gmac[precision]
        # scale a fitted precision by the spec-sheet ratio
        for other, b in self.b_ms_per_gmac.items():
            return b * prior_b(hw, precision) / prior_b(hw, other)
        return prior_b(hw, precision)

    def precision_ratio(self, hw: Hardware, precision: str) -> float:
        """How much slower a precision runs than the first fitted one (its b over theirs): the
        per-layer cost scales with it as the MACs do, since a layer at a wider precision moves
        and computes wider elements (an fp16 layer on a Hexagon NPU costs several int8 ones)."""
        ref = self.precisions_fitted[0] if self.precisions_fitted else None
        if ref is None or ref not in self.b_ms_per_gmac:
            return 1.0
        return self.b(hw, precision) / self.b_ms_per_gmac[ref]


def latency_ms(
    hw: Hardware,
    profile: CostProfile,
    precision: str,
    p: DeviceParams,
    metric: str,
    runtime: str | None = None,
) -> float:
    """Projected time for a metric (ms; 1000/fps for throughput) under `runtime` (rows.runtime;
    None: the runtime the device model is for, DeviceParams.runtime). A runtime the rows do
    not hold runs at the reference's speed."""
    rf = p.runtime_factor.get(runtime, 1.0) if runtime else 1.0
    a = p.overhead_ms.get(metric)
    if a is None:  # the metric at another batch, else the smallest overhead (model-only-like)
        same = [v for k, v in p.overhead_ms.items() if base_metric(k) == base_metric(metric)]
        a = min(same or list(p.overhead_ms.values()) or [0.0])
    mb = streamed_mb(profile.weight_bytes(precision) / 1e6, p.weight_cache_mb)
    mpx = profile.input_pixels / 1e6
    weight_mb = profile.weight_bytes(precision) / 1e6
    ctx = p.context.ms(profile, batch_of(metric), weight_mb) if p.context else 0.0
    per_layer = p.e_ms_per_layer * profile.path_layers() * p.precision_ratio(hw, precision)
    gs, ds = profile.gemm_share(), depthwise_share(profile, p.context is not None)
    gmacs = profile.gmacs * (1 - gs - ds + p.gemm_factor * gs + p.depthwise_factor * ds)
    per_frame = rf * (
        p.b(hw, precision) * gmacs
        + p.d_ms_per_mpx * mpx
        + p.h_ms_per_act_mb * profile.act_mb(precision)
    )
    per_call = (
        0.0 if saturated(metric, p.context is not None) else p.c_ms_per_mb * mb + rf * per_layer
    )
    return a + frames_per_call(metric) * per_frame + per_call + ctx


def depthwise_share(profile: CostProfile, pipelined: bool) -> float:
    """The share of a model's MACs its device's depthwise factor applies to. A time-multiplexed
    chip (CPU, GPU, Hexagon, Edge TPU) runs a depthwise layer in turn at its kernel's
    efficiency: its depthwise MACs. A pipelined dataflow NPU (Hailo) gives every layer compute
    units of its own for the whole run, and what a depthwise layer holds its MACs do not
    measure: its rows tell only whether a model has such layers (as for its context split), so
    the factor applies to all of a depthwise-tagged model's convolution MACs."""
    if pipelined:
        return 1.0 - profile.gemm_share() if "depthwise" in profile.kernels else 0.0
    return profile.depthwise_share()


def frames_per_call(metric: str) -> int:
    """Frames one timed call computes: a latency at batch N (MLPerf MultiStream's query of N
    samples) computes N frames but reads the weights and launches each layer once; a throughput
    is already per frame."""
    return batch_of(metric) if not metric.startswith("throughput") else 1


def saturated(metric: str, switches_contexts: bool) -> bool:
    """A throughput at no stated batch (MLPerf Offline, trtexec) keeps the device saturated with
    large batches: the per-call costs (weight reads, layer launches) vanish per frame. Not on a
    context-switching NPU, whose throughput rows are keyed without their batch."""
    return metric == "throughput_fps" and not switches_contexts


def streamed_mb(weight_mb: float, cache_mb: float) -> float:
    """Weights read from off-chip memory on every inference: all of them, or on a chip with a
    parameter cache (the Edge TPU's 8 MB SRAM) only what does not fit in it."""
    return max(0.0, weight_mb - cache_mb)


def to_metric(ms: float, metric: str) -> float:
    return 1000.0 / ms if metric == "throughput_fps" else ms


def ape(pred: float, actual: float) -> float:
    return abs(pred - actual) / actual * 100 if actual else float("inf")
