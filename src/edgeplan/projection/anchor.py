"""Anchored projections: a catalogue model published on a sibling chip (same family and kind)
is projected from that published figure, times how much slower the device model says the
device runs it than the sibling's device model says the sibling does; published on the device
itself, from its own figure.

The device model's largest misses are per model and go the same way on every chip of a family
(Qualcomm's DenseNet-121 int8, ViT-B and EfficientNet-V2-S fp16): a compiler's or a kernel
library's treatment of that network, which no count of MACs or layers carries. A published
figure on a sibling has it; the two device models' ratio carries what differs between the chips.
This is how a buyer already reads vendor tables (a model's figure on the chip one tier up), made
explicit and validated: each anchored projection's band comes from held-out anchored errors
(the device fitted without the model, the sibling with it), not from the device model's."""

import math
from collections.abc import Mapping, Sequence

import numpy as np

from edgeplan.catalogue.load import Catalogue
from edgeplan.projection.bands import device_family
from edgeplan.projection.device import DeviceParams, base_metric, batch_of, latency_ms
from edgeplan.projection.rows import metric_key, runtime, segment_hardware
from edgeplan.projection.samples import Sample
from edgeplan.words import plural

Key = tuple[str, str]  # (segment, metric family)


def _matches(s: Sample, model_id: str, precision: str, metric: str) -> bool:
    return (
        s.row.model_id == model_id
        and s.row.precision == precision
        and s.row.metric == base_metric(metric)
        and batch_of(metric_key(s.row)) == batch_of(metric)
    )


def switches(params: Mapping[Key, DeviceParams], segment: str) -> bool:
    """Whether a segment's chip compiles networks into contexts (either metric family's fit)."""
    return any(
        p.context is not None
        for fam in ("latency", "throughput")
        if (p := params.get((segment, fam)))
    )


def own_rows(
    samples: Mapping[Key, Sequence[Sample]], key: Key, model_id: str, precision: str, metric: str
) -> list[tuple[Key, Sample]]:
    """The model's published rows on the segment itself at that precision, metric and batch:
    where it has them, they are the anchor (`project` then returns the published figure, in
    the device model's harness)."""
    return [(key, s) for s in samples.get(key, []) if _matches(s, model_id, precision, metric)]


def sibling_rows(
    samples: Mapping[Key, Sequence[Sample]],
    params: Mapping[Key, DeviceParams],
    cat: Catalogue,
    key: Key,
    model_id: str,
    precision: str,
    metric: str,
) -> list[tuple[Key, Sample]]:
    """The model's published rows on the segment's siblings (same device family, chip kind and
    metric family, not the segment itself) at the same precision, metric and batch (any
    harness: each device model carries its harness's overhead). None on a context-switching
    NPU, either side: a network can split into contexts on one chip and not on its sibling
    (the Hailo-8L holds less), so a figure on one does not carry to the other."""
    if switches(params, key[0]):
        return []
    hw, fam = segment_hardware(key[0], cat), device_family(key[0])
    out = []
    for k, ss in samples.items():
        if k == key or k[1] != key[1] or device_family(k[0]) != fam:
            continue
        if segment_hardware(k[0], cat).kind != hw.kind:
            continue
        if k not in params or switches(params, k[0]):
            continue
        out += [(k, s) for s in ss if _matches(s, model_id, precision, metric)]
    return out


def anchored_ratio(
    rows: Sequence[tuple[Key, Sample]],
    params: Mapping[Key, DeviceParams],
    cat: Catalogue,
) -> float:
    """exp(mean ln(published / projected)) over the sibling rows: how much the siblings' device
    models miss this model; the device's projection times it is the anchored one."""
    logs = []
    for k, s in rows:
        pk = params.get(k)
        if pk is None or s.y_ms <= 0:
            continue
        hw = segment_hardware(k[0], cat)
        pred = latency_ms(hw, s.profile, s.row.precision, pk, metric_key(s.row), runtime(s.row))
        if pred > 0:
            logs.append(math.log(s.y_ms / pred))
    return float(np.exp(np.mean(logs))) if logs else 1.0


def describe(rows: Sequence[tuple[Key, Sample]], ratio: float) -> str:
    """For `project`'s source line."""
    devices = sorted({k[0] for k, _ in rows})
    whose = "their device models miss" if len(devices) > 1 else "its device model misses"
    return (
        f"anchored on {plural(len(rows), 'published figure')} of it on {', '.join(devices)}: "
        f"{whose} it by x{ratio:.2f}, so this projection is the device model's x{ratio:.2f}"
    )
