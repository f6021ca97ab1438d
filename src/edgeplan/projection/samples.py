"""Published rows as fitting samples, and what a device's samples can tell apart."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from edgeplan.catalogue.load import Catalogue, Published
from edgeplan.projection.profile import CostProfile, from_facts
from edgeplan.projection.rows import family, segment_key

# models of each kind (depthwise-tagged or not) of comparable size a depthwise factor needs
DEPTHWISE_MIN_OVERLAP = 3


@dataclass
class Sample:
    row: Published
    profile: CostProfile
    y_ms: float  # the published value as milliseconds (1000/fps for throughput)


def published_samples(
    cat: Catalogue, gmacs: dict[str, float] | None = None
) -> dict[tuple[str, str], list[Sample]]:
    """The catalogue's published rows as samples, keyed by (segment, metric family); rows
    without a value, a known device or a model with MACs are left out."""
    out: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for r in cat.published:
        if r.value is None or r.device_id not in cat.hardware or r.model_id not in cat.models:
            continue
        g = (gmacs or {}).get(r.model_id)
        prof = from_facts(
            cat.models[r.model_id], g if cat.models[r.model_id].gmacs is None else None
        )
        if prof is None:
            continue
        y = 1000.0 / r.value if r.metric == "throughput_fps" else r.value
        out[(segment_key(r, cat), family(r.metric))].append(Sample(r, prof, y))
    return out


def depthwise_identified(samples: Sequence[Sample]) -> bool:
    """Whether rows can tell a depthwise model's efficiency from a dense one's: only models of
    comparable size can, since efficiency also moves with size (a small model fills a chip
    less well). Both kinds need DEPTHWISE_MIN_OVERLAP models inside the GMAC range they share;
    where the depthwise models are all small and the dense ones all large (the Coral's rows
    without Inception v1), a factor would absorb the size effect."""
    dw = {s.row.model_id: s.profile.gmacs for s in samples if "depthwise" in s.profile.kernels}
    dense = {s.row.model_id: s.profile.gmacs for s in samples if s.row.model_id not in dw}
    if not dw or not dense:
        return False
    lo = max(min(dw.values()), min(dense.values()))
    hi = min(max(dw.values()), max(dense.values()))
    inside = [sum(lo <= g <= hi for g in kind.values()) for kind in (dw, dense)]
    return min(inside) >= DEPTHWISE_MIN_OVERLAP
