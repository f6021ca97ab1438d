"""Project one model onto one device: latency with its band, throughput, power, deployability
and the reason, with the calibration it used. Always `source: projected`."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edgeplan.catalogue.load import Catalogue, Hardware
from edgeplan.projection.anchor import anchored_ratio, describe, own_rows, sibling_rows, switches
from edgeplan.projection.bands import Calibration, held_misses, stratum
from edgeplan.projection.device import (
    PRECISIONS,
    DeviceParams,
    base_metric,
    latency_ms,
    prior_b,
    prior_c,
)
from edgeplan.projection.field import FIELD_METRIC
from edgeplan.projection.novelty import neighbour_miss, neighbours, novelty
from edgeplan.projection.profile import CostProfile
from edgeplan.projection.rows import family, segment_hardware
from edgeplan.words import plural

REFERENCE_HOST = "xeon-gold-6154"  # the host of coral.ai's published Edge TPU benchmarks
# Ops the Edge TPU compiler maps (ONNX and TFLite names). It maps one subgraph: ops ahead of the
# first it maps (an input's CAST) run on the host CPU before it, and from the first op outside
# this set after that, every op runs on the host CPU (edge_tpu_subgraph).
EDGE_TPU_OPS = {
    "Conv",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "Gemm",
    "MatMul",
    "Add",
    "ADD",
    "Mul",
    "MUL",
    "Concat",
    "CONCATENATION",
    "MaxPool",
    "MAX_POOL_2D",
    "AveragePool",
    "AVERAGE_POOL_2D",
    "GlobalAveragePool",
    "MEAN",
    "Relu",
    "RELU",
    "RELU6",
    "Clip",
    "Sigmoid",
    "LOGISTIC",
    "Tanh",
    "TANH",
    "Softmax",
    "SOFTMAX",
    "Reshape",
    "RESHAPE",
    "Resize",
    "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR",
    "Pad",
    "PAD",
    "Sub",
    "SUB",
    "QUANTIZE",
    "DEQUANTIZE",
    # a QDQ graph's pairs: its int8 TFLite holds them as quantised tensors
    "QuantizeLinear",
    "DequantizeLinear",
    "Split",
    "SPLIT",
    "Slice",
    "STRIDED_SLICE",
    "BatchNormalization",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "HardSwish",
    "HARD_SWISH",
    "LeakyRelu",
    "LEAKY_RELU",
    "TRANSPOSE_CONV",
    "ConvTranspose",
}
DEFAULT_POWER_W = {"cpu": 10.0, "gpu-soc": 15.0, "tpu": 2.0, "npu": 3.0, "vpu": 1.5}


@dataclass
class Projection:
    """A projected figure set. Never presented as measured."""

    model: str
    device: str
    precision: str
    deployable: bool
    reason: str
    latency_ms: float | None
    latency_ms_low: float | None
    latency_ms_high: float | None
    band_pct: float
    throughput_fps: float | None
    power_w: float | None
    power_source: str
    calibration: str
    cpu_fallback_gmacs: float = 0.0
    notes: list[str] = field(default_factory=list)
    source: str = "projected"
    # distance to the device's published models (novelty.py), which widens the band where the
    # device's held-out errors grow with it; None without held-out errors
    novelty: float | None = None
    # the device model's held-out miss on the published models nearest this one, as a ratio
    # (x/÷; novelty.neighbour_miss), which widens the band where misses foretell errors
    neighbour_miss_ratio: float | None = None


def prior_params(hw: Hardware) -> DeviceParams:
    """The uncalibrated roofline (peak x prior efficiency, bandwidth): for devices with no rows."""
    return DeviceParams(
        b_ms_per_gmac={p: prior_b(hw, p) for p in PRECISIONS},
        c_ms_per_mb=prior_c(hw),
        overhead_ms={"latency_ms_model_only": 0.5},
        rows=0,
        band_pct=60.0,
    )


def _params(cal: Calibration, cat: Catalogue, device: str, metric: str) -> tuple[DeviceParams, str]:
    fam = "throughput" if base_metric(metric) == "throughput_fps" else "latency"
    keys = ((device, fam), (device, "latency"), (device, "throughput"))
    key = next((k for k in keys if k in cal.params), None)
    if key is not None:
        p = cal.params[key]
        own = sum(s.row.metric == FIELD_METRIC for s in cal.samples.get(key, []))
        rows = f"{plural(p.rows - own, 'published row')} of {key[0]} ({key[1]})"
        rows += f" and {own} measured on it (records imported from the device)" if own else ""
        other = (device, "throughput" if key[1] == "latency" else "latency")
        if other in cal.params:  # say why the other family's rows do not count here
            n = plural(cal.params[other].rows, f"{other[1]} row")
            rows += f" (its {n} are fitted apart: a throughput is not a latency)"
        return p, f"{rows}, leave-one-model-out band"
    return prior_params(segment_hardware(device, cat)), "no published rows: spec-sheet roofline"


def _deployable(
    hw: Hardware, cat: Catalogue, precision: str, profile: CostProfile
) -> tuple[bool, str]:
    if hw.end_of_support:
        return False, f"end of support: {hw.end_of_support}"
    rule = cat.rule(hw)
    if rule and precision not in rule.precisions:
        return False, (
            f"{hw.id} runs {'/'.join(rule.precisions)} only ({rule.note}); "
            f"{precision} is not deployable as is"
        )
    if hw.mem_gb and hw.kind != "tpu":
        need = profile.weight_bytes(precision) * 1.5  # weights + working activations (assumed)
        if need > hw.mem_gb * 1e9:
            return False, f"needs ~{need / 1e9:.2f} GB, device has {hw.mem_gb:g} GB"
    return True, "deployable"


def edge_tpu_subgraph(op_types: Sequence[str]) -> tuple[int, int]:
    """[start, end) of the ops (in graph order) the Edge TPU compiler maps. It cuts the graph
    into one Edge TPU subgraph: the ops ahead of the first it maps (a uint8 input's CAST or
    QUANTIZE) run on the CPU and hand it their output, and from the first op it cannot map
    after that every op runs on the CPU, mappable or not ("More than one subgraph is not
    supported" in its log). (0, 0) when it maps none."""
    n = len(op_types)
    start = next((i for i, op in enumerate(op_types) if op in EDGE_TPU_OPS), None)
    if start is None:
        return 0, 0
    return start, next((i for i in range(start, n) if op_types[i] not in EDGE_TPU_OPS), n)


def _edge_tpu_split(profile: CostProfile) -> tuple[float, str]:
    """GMACs that run on the host CPU (the ops outside the Edge TPU subgraph), and the op the
    subgraph ends at ("" when it runs to the end)."""
    start, end = edge_tpu_subgraph([op for op, _ in profile.ops])
    outside = [m for i, (_, m) in enumerate(profile.ops) if not start <= i < end]
    return sum(outside) / 1e9, profile.ops[end][0] if end < len(profile.ops) else ""


def _stream_interval(
    hw: Hardware, tp: DeviceParams, profile: CostProfile, device: str, precision: str,
    cal: Calibration, cat: Catalogue,
) -> tuple[float, str]:  # fmt: skip
    """A pipelined chip's batch-1 frame interval (ms) from its throughput fit `tp`, anchored on
    the model's own published batch-1 figure on the device where it has one, and its source."""
    ms = latency_ms(hw, profile, precision, tp, "throughput_fps@b1")
    own = own_rows(
        cal.samples, (device, "throughput"), profile.name, precision, "throughput_fps@b1"
    )
    if own:
        ms *= anchored_ratio(own, cal.params, cat)
        return ms, f"its published batch-1 figure on {device}"
    return ms, f"the batch-1 throughput fit ({plural(tp.rows, 'row')})"


def project(
    profile: CostProfile,
    device: str,
    precision: str,
    cal: Calibration,
    cat: Catalogue,
    metric: str = "latency_ms_model_only",
    host: str | None = None,
    runtime: str | None = None,
) -> Projection:
    """Projected latency (model only, unless another metric is asked) with its band. `host` is
    the computer driving an accelerator: what the accelerator cannot run runs on its CPU.
    `runtime` (rows.runtime): on a CPU timed under several, the one to project for (None: the
    device model's own, DeviceParams.runtime)."""
    hw = cat.device(device.split(":")[0])
    seg_hw = segment_hardware(device, cat) if ":" in device else hw
    ok, reason = _deployable(seg_hw, cat, precision, profile)
    p, how = _params(cal, cat, device, metric)
    notes = [n for n in p.notes if base_metric(metric) in n]  # its overhead borrowed
    if p.scaled_from:
        how += f"; {p.scaled_from}"
    if len(p.runtime_factor) > 1:  # a CPU timed under several runtimes: which one this is for
        others = ", ".join(
            f"{r} x{f:.2f}" for r, f in sorted(p.runtime_factor.items()) if r != p.runtime
        )
        rt = runtime if runtime in p.runtime_factor else p.runtime
        how += f"; for {rt} (the rows' runtimes' per-frame time, {p.runtime}'s x1: {others})"
    if runtime and p.runtime and runtime not in p.runtime_factor:  # rows, but none under it
        notes.append(f"no published rows of {device} under {runtime}: projected for {p.runtime}")
    ms = latency_ms(seg_hw, profile, precision, p, metric, runtime)
    # a catalogue model published on this device or a sibling chip: anchored on those
    # figures (anchor.py), this device's own where it has them
    anchors = []
    if profile.name in cat.models and not switches(cal.params, device):
        key = (device, family(metric))
        anchors = own_rows(cal.samples, key, profile.name, precision, metric) or sibling_rows(
            cal.samples, cal.params, cat, key, profile.name, precision, metric
        )
    if anchors:
        ratio = anchored_ratio(anchors, cal.params, cat)
        ms *= ratio
        how += f"; {describe(anchors, ratio)}"
    stream_ms, stream_from = None, ""  # a pipelined chip's batch-1 frame interval
    if base_metric(metric) != "throughput_fps" and (device, "throughput") in cal.params:
        tp = cal.params[(device, "throughput")]
        if tp.context is not None:  # a frame takes at least one batch-1 issue interval
            stream_ms, stream_from = _stream_interval(
                seg_hw, tp, profile, device, precision, cal, cat
            )
            if stream_ms > ms:
                notes.append(
                    f"latency raised from {ms:.2f} to {stream_ms:.2f} ms: one frame at batch 1 "
                    f"cannot take less than its batch-1 frame interval on {device} (from "
                    f"{stream_from}, context switching included)"
                )
                ms = stream_ms
                how += f"; floored by its batch-1 frame interval ({stream_from})"
    fallback = 0.0
    if seg_hw.kind == "tpu" and profile.ops:
        fallback, first_op = _edge_tpu_split(profile)
        if fallback > 0:
            if (f"{hw.id}:cpu", "latency") in cal.params:
                host_key, why = f"{hw.id}:cpu", "the board's own CPU"
            elif host:
                host_key, why = host, "the host that drives it"
            else:
                host_key = REFERENCE_HOST
                why = (
                    "no host named: the desktop the published Edge TPU figures were measured "
                    "on; a smaller host is slower"
                )
            hp, _ = _params(cal, cat, host_key, "latency_ms_model_only")
            host_hw = segment_hardware(host_key, cat) if ":" in host_key else cat.hardware[host_key]
            cpu_ms = hp.b(host_hw, "int8") * fallback
            ms += cpu_ms
            where = (
                f"from the first op the Edge TPU compiler does not map ({first_op}) on"
                if first_op
                else "ahead of the first op the Edge TPU compiler maps"
            )
            notes.append(
                f"{fallback:.3f} of {profile.gmacs:.3f} GMACs, {where}, run on the CPU of "
                f"{host_key} ({why}): +{cpu_ms:.2f} ms"
            )
    tput_fit = cal.params.get((device, "throughput"))
    ctx = p.context or (tput_fit.context if tput_fit else None)
    if ctx is not None:
        share = ctx.split_share(profile)
        weight_mb = profile.weight_bytes(precision) / 1e6
        if share >= 0.1:
            notes.append(
                f"likely compiled into several contexts on {device} (split share {share:.2f}, "
                f"from {profile.gmacs:.2f} GMACs"
                + (f", {profile.layers} weighted layers" if profile.layers else "")
                + (
                    f" and its {', '.join(sorted(profile.kernels))} layers"
                    if profile.kernels
                    else ""
                )
                + f"): batch 1 pays ~{ctx.ms(profile, 1, weight_mb):.2f} ms a frame of context "
                f"switching, batch 8 ~{ctx.ms(profile, 8, weight_mb):.2f} ms; the Hailo Dataflow "
                "Compiler's report says how many contexts it made"
            )
    band, band_source = p.band_pct, p.band_source
    cls = stratum(ctx, profile, cal.few_models(device))
    published = [s for fam in ("latency", "throughput") for s in cal.samples.get((device, fam), [])]
    far = miss = None
    if cal.held and cal.novelty_scale is not None and published:
        # its own Mondrian class (projections as unsure as it), scaled by how far it lies
        # from the models published on the device (whose held-out errors make its band)
        near = neighbours(profile, precision, metric, published, cal.novelty_scale)
        far = novelty(near)
        miss = neighbour_miss(near, held_misses(cal.held, device))
        band, band_source = cal.band(device, cls=cls, novelty=far, miss=miss)
    elif cls and cal.held:
        band, band_source = cal.band(device, cls=cls)
    if anchors and cal.anchored:
        band, band_source = cal.anchored_band(device)
    tput = 1000.0 / ms if ms > 0 else None
    if stream_ms is not None and stream_ms < ms:
        # a dataflow chip streams frames through its layers: a new frame enters before the
        # last one leaves, so its frame rate is its batch-1 interval's, not 1000 / latency
        tput = 1000.0 / stream_ms
        notes.append(
            f"{tput:.1f} fps from {stream_from}: {device} pipelines frames through its layers, "
            f"so a stream of frames runs faster than one per latency ({1000.0 / ms:.1f} fps)"
        )
    power = hw.power_max_w
    power_src = "published max (at full load)" if power else "assumed kind default"
    power = power if power is not None else DEFAULT_POWER_W.get(hw.kind, 10.0)
    return Projection(
        model=profile.name,
        device=device,
        precision=precision,
        deployable=ok,
        reason=reason,
        latency_ms=round(ms, 4),
        latency_ms_low=round(ms / (1 + band / 100), 4),  # the band is a ratio: x/÷ (1 + band)
        latency_ms_high=round(ms * (1 + band / 100), 4),
        band_pct=round(band, 1),
        throughput_fps=round(tput, 2) if tput else None,
        power_w=power,
        power_source=power_src,
        calibration=how + f"; 80% band from {band_source}; profile from {profile.source}",
        cpu_fallback_gmacs=fallback,
        notes=notes,
        novelty=round(far, 3) if far is not None else None,
        neighbour_miss_ratio=round(float(np.exp(miss)), 3) if miss is not None else None,
    )


def median_ape(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")
