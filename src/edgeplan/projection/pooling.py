"""Hierarchical pooling: a device borrows its family's overheads and matrix-product factor.

Each device is first fitted on its own rows. It is then refitted with the prior of each
per-metric overhead centred on the mean of its siblings' fitted overheads (same device family,
same kind of chip), weighted like one more published row: a device with two models leans on
the family, a device with forty is carried by its own rows. A metric the device has no rows
for is borrowed from the family outright, and its parameters say so.

Pooled: a harness's fixed cost per call, shared by the family's devices (MLPerf LoadGen and
TensorRT on every Jetson, coral.ai's benchmark on both Corals), and the cost of a matrix
product's MAC relative to a convolution's, a property of the architecture (the Neural Engine
of every Apple chip), averaged over the siblings by how many matrix-product rows each fitted
it on. Efficiencies, the per-layer cost and the context split stay per device: pooling them
too (relative to each chip's roofline) gave a worse held-out error and a wider median band
(docs/project.md)."""

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from edgeplan.catalogue.load import Hardware
from edgeplan.projection.bands import device_family
from edgeplan.projection.device import DeviceParams, latency_ms
from edgeplan.projection.rows import metric_key, runtime
from edgeplan.projection.samples import Sample

FAMILY_PULL = 1.0  # the family centre counts like one more published row (log units)
MIN_GEMM_EVIDENCE = 0.5  # siblings' matrix-product rows (in whole-row shares) to pool on


@dataclass(frozen=True)
class Centre:
    """The family's mean ln overhead per metric, as a device's prior centre, and its sources."""

    family: str
    devices: tuple[str, ...]
    overhead_ln: Mapping[str, float] = field(default_factory=dict)
    gemm_ln: float | None = None  # ln gemm_factor, where a sibling fitted it on its rows

    def metrics(self) -> set[str]:
        return set(self.overhead_ln)


def centre_for(
    key: tuple[str, str],
    hw: Hardware,
    fitted: Mapping[tuple[str, str], tuple[Hardware, DeviceParams]],
) -> Centre | None:
    """The mean overheads of a segment's siblings (same device family, chip kind and metric
    family), without the segment itself; None when it has no sibling. A context-switching NPU
    does not pool: its per-call overhead and its context loads trade off in its own fit, so
    pooling one of the two would bias the other."""
    fam = device_family(key[0])
    sibs = sorted(
        k
        for k in fitted
        if k != key
        and k[1] == key[1]
        and device_family(k[0]) == fam
        and fitted[k][0].kind == hw.kind
        and fitted[k][1].context is None
    )
    if not sibs:
        return None
    acc: dict[str, list[float]] = defaultdict(list)
    for k in sibs:
        p = fitted[k][1]
        for m, a in p.overhead_ms.items():
            if m not in p.borrowed:  # only what its own rows fitted
                acc[m].append(math.log(a))
    weight = sum(fitted[k][1].gemm_evidence for k in sibs)
    gemm_ln = (
        sum(fitted[k][1].gemm_evidence * math.log(fitted[k][1].gemm_factor) for k in sibs) / weight
        if weight > MIN_GEMM_EVIDENCE
        else None
    )
    return Centre(
        fam,
        tuple(k[0] for k in sibs),
        {m: sum(v) / len(v) for m, v in acc.items()},
        gemm_ln,
    )


def centred(
    roof: list[tuple[str, float, float]], centre: Centre | None
) -> tuple[np.ndarray, np.ndarray]:
    """Prior centres and pulls of a fit's parameters, given as (name, roofline centre, pull):
    an overhead (`a:<metric>`) or the matrix-product factor (`gemm`) the family has is centred
    on the family's, with FAMILY_PULL."""
    x0, pull = [], []
    for name, value, weight in roof:
        fam = centre.overhead_ln.get(name[2:]) if centre and name.startswith("a:") else None
        if centre and name == "gemm":
            fam = centre.gemm_ln
        x0.append(value if fam is None else fam)
        pull.append(weight if fam is None else FAMILY_PULL)
    return np.array(x0, float), np.array(pull, float)


def borrowed_note(metrics: set[str], centre: Centre | None) -> list[str]:
    """What a device took from its family, for `project`'s notes."""
    if not centre or not metrics:
        return []
    return [
        f"the overhead of {', '.join(sorted(metrics))}: no published rows of its own, borrowed "
        f"from its family ({', '.join(centre.devices)})"
    ]


SCALE_PRIOR_PULL = 0.35  # ln s is pulled toward 0 (the reference's speed) like a third of a row


def scaled_from(
    reference: str,
    ref: DeviceParams,
    hw: Hardware,
    samples: list[Sample],
    weight_cache_mb: float = 0.0,
) -> DeviceParams:
    """A device with too few published models to fit its costs apart, as its best-known
    sibling's device model with every time cost scaled by one factor s fitted on its own rows
    (the mean log ratio of published to the sibling's projection, pulled toward 1): two or
    three models cannot tell a MAC's cost from a layer's or a call's, but they can tell how
    much faster the chip runs the same kernels. HELP and MAPLE-Edge adapt a reference device's
    predictor to a new one from a few measurements in the same spirit."""
    ref = replace(ref, weight_cache_mb=weight_cache_mb)  # its own chip's parameter cache
    logs = [
        math.log(
            s.y_ms
            / latency_ms(hw, s.profile, s.row.precision, ref, metric_key(s.row), runtime(s.row))
        )
        for s in samples
    ]
    ln_s = sum(logs) / (len(logs) + SCALE_PRIOR_PULL)
    k = math.exp(ln_s)
    how = (
        f"too few models to fit its costs apart: {reference}'s device model with every time "
        f"cost x {k:.2f}, fitted on its {len(samples)} rows"
    )
    return replace(
        ref,
        b_ms_per_gmac={p: b * k for p, b in ref.b_ms_per_gmac.items()},
        c_ms_per_mb=ref.c_ms_per_mb * k,
        d_ms_per_mpx=ref.d_ms_per_mpx * k,
        e_ms_per_layer=ref.e_ms_per_layer * k,
        h_ms_per_act_mb=ref.h_ms_per_act_mb * k,
        overhead_ms={m: a * k for m, a in ref.overhead_ms.items()},
        rows=len(samples),
        models=len({s.row.model_id for s in samples}),
        band_pct=30.0,
        band_source="assumed (not validated)",
        notes=[],
        borrowed=(),
        scaled_from=how,
    )
