"""Hierarchical pooling: a device borrows strength from its family.

Each device is first fitted on its own rows. Its fitted parameters are then written in
coordinates that compare across the family (efficiency as a share of the published peak,
weight traffic against the published bandwidth, overheads per metric, the context split
against the chip's size). The device is refitted with its prior centred on the mean of its
siblings' coordinates (those in POOLED), so a device with two models leans on the family
while a device with forty is carried by its own rows. A metric (or precision) the device has
no rows for is borrowed from the family outright, and its parameters say so.

Coordinates carry their basis (`peak` or `kind` default, `bw` or `default`), so a device
without a published peak is never averaged with one that has it."""

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from edgeplan.catalogue.load import Hardware
from edgeplan.projection.bands import device_family
from edgeplan.projection.device import DeviceParams, peak_gops, prior_b, prior_c
from edgeplan.projection.kernels import TAGGED

FAMILY_PULL = 1.0  # the family centre counts like one more published row (log units)
# Pooled: the overheads per metric. A harness's fixed cost per call is shared by the family's
# devices (MLPerf LoadGen and TensorRT on every Jetson, coral.ai's benchmark on both Corals).
# Efficiencies (b, c), the per-layer cost and the context split stay per device: pooling them
# too gave a worse held-out error and a wider median band (docs/project.md).
POOLED = frozenset({"a"})


def b_coord(hw: Hardware, precision: str) -> str:
    peak, _ = peak_gops(hw, precision)
    return f"b:{precision}:{'peak' if peak else 'kind'}"


def c_coord(hw: Hardware) -> str:
    return f"c:{'bw' if hw.mem_bw_gbs else 'default'}"


def thr_coord(hw: Hardware) -> str:
    return f"k:thr:{'peak' if hw.int8_tops else 'abs'}"


def _thr_scale(hw: Hardware) -> float:
    """ln of what the split threshold is stated against: the chip's int8 TOPS when published
    (a chip twice the size holds a model twice the size in one context)."""
    return math.log(hw.int8_tops) if hw.int8_tops else 0.0


def coords(hw: Hardware, p: DeviceParams) -> dict[str, float]:
    """A fitted device in family-comparable coordinates; only what its own rows fitted."""
    out = {b_coord(hw, q): math.log(b / prior_b(hw, q)) for q, b in p.b_ms_per_gmac.items()}
    out = {k: v for k, v in out.items() if k.split(":")[1] in p.precisions_fitted}
    out[c_coord(hw)] = math.log(p.c_ms_per_mb / prior_c(hw))
    out["d"] = math.log(p.d_ms_per_mpx)
    out["e"] = math.log(p.e_ms_per_layer)
    out |= {f"a:{m}": math.log(a) for m, a in p.overhead_ms.items() if m not in p.borrowed}
    if p.context:
        out[thr_coord(hw)] = math.log(p.context.threshold_gmacs) - _thr_scale(hw)
        out["k:switch"] = math.log(p.context.switch_ms)
        out["k:layer"] = p.context.layer_weight
        out |= {f"k:tag:{t}": p.context.tag_shift.get(t, 0.0) for t in TAGGED}
    return out


@dataclass(frozen=True)
class Centre:
    """The family's mean coordinates, as a device's prior centre, and who they come from."""

    family: str
    devices: tuple[str, ...]
    values: Mapping[str, float] = field(default_factory=dict)

    def prior(self, coord: str, hw: Hardware, roofline: float) -> float | None:
        """The family's value of a coordinate in this chip's own parameter (ln) space: an
        efficiency relative to its roofline, a split threshold scaled to its size; None when
        the family has no such coordinate."""
        v = self.values.get(coord)
        if v is None:
            return None
        if coord.startswith(("b:", "c:")):
            return v + roofline
        return v + _thr_scale(hw) if coord.startswith("k:thr") else v

    def precisions(self, hw: Hardware) -> set[str]:
        """Precisions the family fitted on the same basis as this chip's peak."""
        return {
            k.split(":")[1]
            for k in self.values
            if k.startswith("b:") and k == b_coord(hw, k.split(":")[1])
        }

    def metrics(self) -> set[str]:
        return {k[2:] for k in self.values if k.startswith("a:")}


def centre_for(
    key: tuple[str, str],
    hw: Hardware,
    fitted: Mapping[tuple[str, str], tuple[Hardware, DeviceParams]],
) -> Centre | None:
    """The mean coordinates of a segment's siblings (same device family, chip kind and metric
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
        hw, p = fitted[k]
        for c, v in coords(hw, p).items():
            acc[c].append(v)
    values = {c: sum(v) / len(v) for c, v in acc.items() if c.split(":")[0] in POOLED}
    return Centre(fam, tuple(k[0] for k in sibs), values)
