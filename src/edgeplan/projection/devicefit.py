"""One device's fit: its efficiency, overheads and kernel-level costs from its published rows
(MAP in log space, pulled toward the roofline and its family's centre), and on a pipelined NPU
its context switching. calibrate.py fits every device with it and validates the fits."""

import numpy as np
from scipy.optimize import least_squares

from edgeplan.catalogue.load import Hardware
from edgeplan.projection.device import (
    CONTEXT_SHARPNESS,
    PRECISIONS,
    Context,
    DeviceParams,
    base_metric,
    depthwise_share,
    frames_per_call,
    prior_b,
    prior_c,
    saturated,
    streamed_mb,
)
from edgeplan.projection.kernels import TAGGED
from edgeplan.projection.pooling import Centre, borrowed_note, centred
from edgeplan.projection.profile import CostProfile
from edgeplan.projection.rows import DEPLOYED_RUNTIME, metric_key, runtime
from edgeplan.projection.samples import Sample, depthwise_identified
from edgeplan.projection.split import REFERENCE_LAYERS, fit_split, gates_ln, weights_ln

PRIOR_WEIGHT = 0.35  # strength of the pull toward the roofline prior, in log units per residual
OVERHEAD_PRIOR_SHARE = 0.2  # the overhead prior, as a share of the fastest published row
# metrics whose overhead keeps the default prior even on a CPU with few models
HARNESS_MEAN_METRICS = {"latency_ms_mean", "latency_ms_p90_singlestream"}
CONTEXT_SWITCH_PRIOR_MS = 3.0  # weak starting point for a context switch (fitted per device)
CONTEXT_THRESHOLD_STARTS_GMACS = (0.3, 3.0, 30.0)  # extra starting points of the split fit
LAYER_PRIOR_MS = 0.005  # weak starting point for one weighted layer's fixed cost (a dispatch)
# models a CPU segment needs before a per-call overhead is fitted freely: with two, an intercept
# and a per-MAC cost fit any pair exactly, and a small model's lower efficiency per MAC shows
# up as a per-call overhead that a tiny model would then pay in full
CPU_OVERHEAD_MIN_MODELS = 3
FIRM_PULL = 3.0  # a prior held firmly: the rows cannot tell the parameter apart from others
HELD_PULL = 100.0  # a parameter held at its prior: rows must not move it at all


def batch_splits(samples: list[Sample]) -> list[tuple[CostProfile, bool]]:
    """Models with a batch-1 and a batch-N throughput, each with whether batching pays off for
    it (the two differ by more than 20%): on a pipelined NPU, whether it split into contexts."""
    by_model: dict[str, tuple[CostProfile, dict[int, float]]] = {}
    for s in samples:
        if s.row.metric == "throughput_fps" and s.row.batch.isdigit():
            by_model.setdefault(s.row.model_id, (s.profile, {}))[1][int(s.row.batch)] = s.y_ms
    return [
        (p, max(v.values()) > 1.2 * min(v.values()))
        for p, v in by_model.values()
        if 1 in v and len(v) > 1
    ]


def switches_contexts(hw: Hardware, samples: list[Sample]) -> bool:
    """A pipelined NPU whose rows show batching paying off for some model: its batch gap is
    context switching (device.Context)."""
    return hw.kind == "npu" and any(split for _, split in batch_splits(samples))


def reference_runtime(samples: list[Sample]) -> str:
    """The runtime a device model is for: the one edgeplan's agent runs where the rows hold it,
    else the one with the most published models (then rows, then name)."""
    models: dict[str, set[str]] = {}
    rows: dict[str, int] = {}
    for s in samples:
        r = runtime(s.row)
        models.setdefault(r, set()).add(s.row.model_id)
        rows[r] = rows.get(r, 0) + 1
    if DEPLOYED_RUNTIME in models:
        return DEPLOYED_RUNTIME
    return min(models, key=lambda r: (-len(models[r]), -rows[r], r))


def _overhead_prior(metric: str, few_models: bool, saturating: bool) -> tuple[float, float]:
    """(share of the fastest row, pull) of a metric's overhead prior. Several models tell
    overhead from compute apart, so the prior is weak. With fewer than CPU_OVERHEAD_MIN_MODELS
    models behind a metric on a CPU they cannot: a model-only time (or a throughput) is then
    taken as compute, held firmly (a CPU pays no dispatch or transfer per call), while a mean,
    which may hold a harness's pre-processing, keeps the default. A throughput at no stated
    batch (MLPerf Offline, trtexec: the device kept saturated) amortises the per-call
    overhead to next to nothing per frame, held firmly too (device.saturated)."""
    if saturating or (few_models and base_metric(metric) not in HARNESS_MEAN_METRICS):
        return 0.02, FIRM_PULL
    return OVERHEAD_PRIOR_SHARE, 0.3


def fit(
    hw: Hardware,
    samples: list[Sample],
    weight_cache_mb: float = 0.0,
    centre: Centre | None = None,
    classify: bool = True,
) -> DeviceParams:
    """MAP fit in log space: residual log(pred) - log(published) per row, plus residuals
    pulling each parameter toward its prior: the roofline (so one- or two-row devices stay
    sane), and for the overheads the family's where `centre` (its siblings' fits, pooling.py)
    has them. Metrics the device has no rows for are borrowed from the centre.
    On a pipelined NPU with batch-1 and batch-N rows the batch gap is fitted as context
    switching, not as a per-batch overhead. `weight_cache_mb`: parameters the chip keeps
    on-chip (its deployment rule); only the rest costs weight traffic. `classify`: fit the
    calibrated split classifier that sets a context device's band class (split.py). On a CPU
    whose rows were timed under several runtimes, each runtime but the reference
    (reference_runtime) gets a factor on its per-frame and per-layer time."""
    if not samples:
        raise ValueError("nothing to fit")
    ctx = switches_contexts(hw, samples)
    row_keys = [metric_key(s.row) for s in samples]  # with batch (and harness)
    # the overhead each row pays: per metric and batch, or per metric on a context-switching
    # NPU (its batch gap is the context term)
    keys = [s.row.metric for s in samples] if ctx else row_keys

    precs = sorted({s.row.precision for s in samples if s.row.precision in PRECISIONS} or {"int8"})
    own_metrics = set(keys)
    metrics = sorted(own_metrics | (centre.metrics() if centre else set()))
    y = np.array([s.y_ms for s in samples])
    g = np.array([s.profile.gmacs for s in samples])
    mb = np.array(
        [
            streamed_mb(s.profile.weight_bytes(s.row.precision) / 1e6, weight_cache_mb)
            for s in samples
        ]
    )
    mpx = np.array([s.profile.input_pixels / 1e6 for s in samples])
    pi = np.array(
        [precs.index(s.row.precision) if s.row.precision in precs else 0 for s in samples]
    )
    mi = np.array([metrics.index(k) for k in keys])
    # on a CPU the runtime is the kernel library (XNNPACK, ncnn, oneDNN): each runtime other
    # than the reference has its per-frame and per-layer time a factor of the reference's. An
    # accelerator's front ends (LiteRT's QNN delegate, QNN itself) hand the graph to the same
    # vendor compiler and kernels: one runtime
    ref_rt = reference_runtime(samples)
    runtimes = sorted({runtime(s.row) for s in samples} - {ref_rt}) if hw.kind == "cpu" else []
    ri = np.array([runtimes.index(r) + 1 if r in runtimes else 0
                   for r in (runtime(s.row) for s in samples)])  # fmt: skip
    lay = np.array([float(s.profile.layers or 0) for s in samples])
    path = np.array([float(s.profile.path_layers()) for s in samples])
    act = np.array([s.profile.act_mb(s.row.precision) for s in samples])
    gemm_share = np.array([s.profile.gemm_share() for s in samples])
    gemm = g * gemm_share
    dwg = g * np.array([depthwise_share(s.profile, ctx) for s in samples])
    # models behind each overhead: an overhead is told apart from compute by its own rows
    models_of: dict[str, set[str]] = {}
    for key, smp in zip(keys, samples, strict=True):
        models_of.setdefault(key, set()).add(smp.row.model_id)
    few = {
        m: hw.kind == "cpu" and len(models_of.get(m, ())) < CPU_OVERHEAD_MIN_MODELS for m in metrics
    }
    fastest = float(np.min(y))
    share, a_pull = np.array([_overhead_prior(m, few[m], saturated(m, ctx)) for m in metrics]).T
    # (roofline centre, pull) per parameter, then the family's centre where it has one
    roof: list[tuple[str, float, float]] = [
        *[(f"b:{p}", np.log(prior_b(hw, p)), PRIOR_WEIGHT) for p in precs],
        ("c", np.log(prior_c(hw)), 0.3 * PRIOR_WEIGHT),
        ("d", np.log(0.05), 0.3 * PRIOR_WEIGHT),  # ms per input megapixel (weak prior)
        ("e", np.log(LAYER_PRIOR_MS), 0.3 * PRIOR_WEIGHT),
        # activations cost what the memory bandwidth says; a matrix product's MAC what a
        # convolution's does, unless the rows (or the family's) say otherwise
        ("h", np.log(prior_c(hw)), 0.3 * PRIOR_WEIGHT),
        ("gemm", 0.0, 0.3 * PRIOR_WEIGHT),
        # a depthwise convolution's MAC costs what a dense one's does, unless the rows say
        # (held at 1 where they cannot tell it from size or from the device's other rows)
        ("dw", 0.0, 0.3 * PRIOR_WEIGHT if depthwise_identified(samples) else HELD_PULL),
        *[
            (f"a:{m}", np.log(max(fastest * sh, 0.05)), PRIOR_WEIGHT * pull)
            for m, sh, pull in zip(metrics, share, a_pull, strict=True)
        ],
        # another runtime runs as fast as the reference unless the rows say otherwise
        *[(f"r:{r}", 0.0, 0.3 * PRIOR_WEIGHT) for r in runtimes],
    ]
    if ctx:  # context switching: ln threshold GMACs, ln switch ms, weights of ln(layers /
        # reference), of ln weight MB and of ln(1 + gates), ln reload ms per MB, ln-GMAC shift
        # per kernel tag
        k_pull = 0.1 * PRIOR_WEIGHT
        roof += [
            ("k:threshold", 0.0, k_pull),
            ("k:switch", np.log(CONTEXT_SWITCH_PRIOR_MS), k_pull),
            ("k:layer", 0.0, k_pull),
            ("k:weights", 0.0, k_pull),
            ("k:reload", np.log(prior_c(hw)), k_pull),
            # held at 0 where no model of the device has a gate: the rows cannot move it
            ("k:gates", 0.0, k_pull if any(s.profile.global_gates for s in samples) else HELD_PULL),
            *[(f"k:tag:{t}", 0.0, k_pull) for t in TAGGED],
        ]
    x0, pull = centred(roof, centre)
    nb, nm = len(precs), len(metrics)
    ia = nb + 6  # where the overheads start: after b per precision, c, d, e, h, gemm, dw
    ir = ia + nm  # where the runtime factors start
    ik = ir + len(runtimes)  # where the context terms start
    tagm = np.array([[t in s.profile.kernels for t in TAGGED] for s in samples], float)
    rel_layers = np.log(np.maximum(lay, 1.0) / REFERENCE_LAYERS) * (lay > 0)
    wmb = np.array([s.profile.weight_bytes(s.row.precision) / 1e6 for s in samples])
    rel_weights = np.array([weights_ln(s.profile) for s in samples])
    rel_gates = np.array([gates_ln(s.profile) for s in samples])
    per_batch = np.array([float(s.row.batch) if s.row.batch.isdigit() else 1.0 for s in samples])
    frames = np.array([float(frames_per_call(k)) for k in row_keys])
    per_call = np.array([0.0 if saturated(k, ctx) else 1.0 for k in row_keys])

    def unpack(
        x: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(b per precision, (c, d, e, h, gemm factor, depthwise factor), overheads, runtime
        factors (the reference's 1 first), context terms)."""
        rf = np.concatenate([[1.0], np.exp(x[ir:ik])])
        return np.exp(x[:nb]), np.exp(x[nb:ia]), np.exp(x[ia:ir]), rf, x[ik:]

    def predict(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(projected ms per row, d projected / d x per row and parameter)."""
        b, (c, d, e, h, gf, dwf), a, rf, k = unpack(x)
        r = rf[ri]
        flops = g + (gf - 1) * gemm + (dwf - 1) * dwg
        compute = r * (b[pi] * flops + d * mpx + h * act)
        # a layer's fixed cost scales with its precision's speed (precision_ratio: b over the
        # first precision's)
        layer = per_call * r * e * path * b[pi] / b[0]
        pred = a[mi] + frames * compute + per_call * c * mb + layer
        grad = np.zeros((len(y), len(x)))
        rows = np.arange(len(y))
        grad[rows, pi] = frames * r * b[pi] * flops + layer * (pi != 0)
        grad[:, 0] -= layer * (pi != 0)
        grad[:, nb:ia] = np.column_stack(
            [per_call * c * mb, frames * r * d * mpx, layer, frames * r * h * act,
             frames * r * b[pi] * gf * gemm, frames * r * b[pi] * dwf * dwg]
        )  # fmt: skip
        grad[rows, ia + mi] = a[mi]
        other = ri > 0
        grad[rows[other], ir + ri[other] - 1] = (frames * compute + layer)[other]
        if ctx:
            shift = tagm @ k[6:] + k[2] * rel_layers + k[3] * rel_weights + k[5] * rel_gates
            sig = 1 / (1 + np.exp(-CONTEXT_SHARPNESS * (np.log(g) - k[0] + shift)))
            switch = np.exp(k[1]) + np.exp(k[4]) * wmb
            pred = pred + switch * sig / per_batch
            dz = switch / per_batch * sig * (1 - sig) * CONTEXT_SHARPNESS  # d term / d logit
            grad[:, ik:] = np.column_stack(
                [-dz, np.exp(k[1]) * sig / per_batch, dz * rel_layers, dz * rel_weights,
                 np.exp(k[4]) * wmb * sig / per_batch, dz * rel_gates, dz[:, None] * tagm]
            )  # fmt: skip
        return pred, grad

    def residuals(x: np.ndarray) -> np.ndarray:
        pred, _ = predict(x)
        return np.concatenate([np.log(pred) - np.log(y), pull * (x - x0)])

    def jacobian(x: np.ndarray) -> np.ndarray:
        """The residuals' derivatives, exact: finite differences cost a refit's time over."""
        pred, grad = predict(x)
        return np.vstack([grad / pred[:, None], np.diag(pull * np.ones(len(x)))])

    # robust loss: published sets hold outliers (CPU-fallback post-processing, mixed configs).
    # The context split makes the fit non-convex: start from several split thresholds and keep
    # the best optimum, so the answer does not hang on the starting point.
    starts = [x0]
    if ctx:
        for thr in CONTEXT_THRESHOLD_STARTS_GMACS:
            xs = x0.copy()
            xs[ik] = np.log(thr)
            starts.append(xs)
    # more layers (weights, gates) never make a split less likely: their weights are >= 0
    lower = np.full(len(x0), -np.inf)
    if ctx:
        # layers, weights, gates: never lower
        for i, inside in ((ik + 2, 0.5), (ik + 3, 0.05), (ik + 5, 0.05)):
            lower[i] = 0.0
            for xs in starts:
                xs[i] = max(xs[i], inside)  # strictly inside the bound
    fits = [
        least_squares(
            residuals,
            xs,
            jac=jacobian,
            bounds=(lower, np.inf),
            method="trf",
            loss="soft_l1",
            f_scale=0.25,
        )
        for xs in starts
    ]
    res = min(fits, key=lambda r: float(r.cost))
    b, (c, d, e, h, gf, dwf), a, rf, k = unpack(res.x)
    context = (
        Context(
            threshold_gmacs=float(np.exp(k[0])),
            switch_ms=float(np.exp(k[1])),
            tag_shift=dict(zip(TAGGED, k[6:].tolist(), strict=True)),
            layer_weight=float(k[2]),
            weight_weight=float(k[3]),
            reload_ms_per_mb=float(np.exp(k[4])),
            gate_weight=float(k[5]),
            classifier=fit_split(*zip(*batch_splits(samples), strict=True)) if classify else None,
        )
        if ctx
        else None
    )
    return DeviceParams(
        b_ms_per_gmac=dict(zip(precs, b.tolist(), strict=True)),
        c_ms_per_mb=float(c),
        d_ms_per_mpx=float(d),
        e_ms_per_layer=float(e),
        h_ms_per_act_mb=float(h),
        gemm_factor=float(gf),
        gemm_evidence=float(np.sum(gemm_share)),
        depthwise_factor=float(dwf),
        overhead_ms=dict(zip(metrics, a.tolist(), strict=True)),
        rows=len(samples),
        models=len({s.row.model_id for s in samples}),
        precisions_fitted=tuple(precs),
        context=context,
        weight_cache_mb=weight_cache_mb,
        borrowed=tuple(sorted(set(metrics) - own_metrics)),
        notes=borrowed_note(set(metrics) - own_metrics, centre),
        runtime=ref_rt,
        runtime_factor={ref_rt: 1.0, **dict(zip(runtimes, rf[1:].tolist(), strict=True))},
    )
