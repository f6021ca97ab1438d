"""Fit each device's efficiency and overheads on the published rows, respecting each row's
metric, and measure the error honestly by leaving one model out at a time. One device's fit is
devicefit.py's; this module pools the fits over families and validates them."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from edgeplan.catalogue.load import Catalogue, Published
from edgeplan.projection.anchor import anchored_ratio, sibling_rows
from edgeplan.projection.bands import (
    MIN_POOL,
    Calibration,
    Held,
    device_family,
    held_misses,
    stratum,
)
from edgeplan.projection.device import DeviceParams, ape, latency_ms, to_metric
from edgeplan.projection.devicefit import batch_splits, fit, switches_contexts
from edgeplan.projection.novelty import feature_scale, features, neighbour_miss, neighbours, novelty
from edgeplan.projection.pooling import Centre, centre_for, scaled_from
from edgeplan.projection.profile import CostProfile
from edgeplan.projection.rows import (
    family,
    metric_key,
    runtime,
    segment_hardware,
    segment_key,
    weight_cache,
)
from edgeplan.projection.samples import Sample, depthwise_identified, published_samples

# fit, batch_splits, switches_contexts, Sample and depthwise_identified are part of this
# module's interface (its callers and tests import them from here)
__all__ = [
    "Sample",
    "batch_splits",
    "calibrate",
    "depthwise_identified",
    "fit",
    "switches_contexts",
]


def _estimate_missing_gmacs(cat: Catalogue, cal: Calibration) -> dict[str, float]:
    """Effective GMACs of models without published MACs, inverted from their published latency
    on calibrated segments (compute-bound assumption); the median over segments."""
    est: dict[str, list[float]] = defaultdict(list)
    for r in cat.published:
        m = cat.models.get(r.model_id)
        if r.value is None or m is None or m.gmacs is not None or r.device_id not in cat.hardware:
            continue
        key = (segment_key(r, cat), family(r.metric))
        p = cal.params.get(key)
        if p is None:
            continue
        hw = segment_hardware(key[0], cat)
        y = 1000.0 / r.value if r.metric == "throughput_fps" else r.value
        core = y - p.overhead_ms.get(r.metric, 0.0)
        unit = p.b(hw, r.precision) + p.c_ms_per_mb * 5 * {"int8": 1, "fp16": 2}.get(r.precision, 4)
        if core > 0 and unit > 0:  # params ~5 M per GMAC, the profile's own fallback ratio
            est[r.model_id].append(core / unit)
    return {k: float(np.median(v)) for k, v in est.items()}


class _Pooled:
    """Two-stage fits: each segment alone, then refitted toward its family's centre
    (pooling.py). Solo fits are memoised per left-out model, so leave-one-model-out never
    lets the left-out model reach a device through its siblings."""

    def __init__(self, cat: Catalogue, samples: dict[tuple[str, str], list[Sample]]) -> None:
        self.cat, self.samples = cat, samples
        self.solo: dict[tuple[tuple[str, str], str | None], DeviceParams | None] = {}

    def _solo(self, key: tuple[str, str], without: str | None) -> DeviceParams | None:
        ss = self.samples[key]
        train = [s for s in ss if s.row.model_id != without]
        memo = (key, without if len(train) < len(ss) else None)
        if memo not in self.solo:
            hw = segment_hardware(key[0], self.cat)
            # a sibling's fit only lends its overheads (no band): no split classifier
            solo = fit(hw, train, weight_cache(key[0], self.cat), classify=False) if train else None
            self.solo[memo] = solo
        return self.solo[memo]

    def centre(self, key: tuple[str, str], without: str | None = None) -> Centre | None:
        """The family centre of a segment, from its siblings fitted without `without`."""
        fam = device_family(key[0])
        fitted = {}
        for k in self.samples:
            if k != key and k[1] == key[1] and device_family(k[0]) == fam:
                p = self._solo(k, without)
                if p is not None:
                    fitted[k] = (segment_hardware(k[0], self.cat), p)
        return centre_for(key, segment_hardware(key[0], self.cat), fitted)

    def reference(
        self, key: tuple[str, str], without: str | None = None
    ) -> tuple[str, DeviceParams] | None:
        """For a segment with fewer published models than a band needs: its sibling (same
        family, chip kind and metric family, not context-switching) with the most models, if
        that one has enough and fitted every metric and harness the segment's rows have (a
        harness's fixed cost does not scale with the chip), fitted without `without`."""
        if len({s.row.model_id for s in self.samples[key]}) >= MIN_POOL:
            return None
        metrics = {metric_key(s.row) for s in self.samples[key]}
        hw, fam = segment_hardware(key[0], self.cat), device_family(key[0])
        best: tuple[str, DeviceParams] | None = None
        for k in self.samples:
            if k == key or k[1] != key[1] or device_family(k[0]) != fam:
                continue
            if segment_hardware(k[0], self.cat).kind != hw.kind:
                continue
            p = self._solo(k, without)
            if p is None or p.context is not None or p.models < MIN_POOL:
                continue
            if not metrics <= set(p.overhead_ms) - set(p.borrowed):
                continue
            if best is None or (p.models, p.rows) > (best[1].models, best[1].rows):
                best = (k[0], p)
        return best

    def fit(
        self, key: tuple[str, str], train: list[Sample], without: str | None = None
    ) -> DeviceParams:
        hw = segment_hardware(key[0], self.cat)
        ref = self.reference(key, without)
        if ref is not None:
            return scaled_from(ref[0], ref[1], hw, train, weight_cache(key[0], self.cat))
        return fit(hw, train, weight_cache(key[0], self.cat), self.centre(key, without))


def calibrate(
    cat: Catalogue,
    validate: bool = True,
    measured: Sequence[tuple[Published, CostProfile]] = (),
) -> Calibration:
    """Fit every segment on its published rows, plus `measured` rows measured on devices by their
    owners (projection/field.py); with `validate`, leave one model out per segment."""
    cal = Calibration()
    cal.samples = published_samples(cat)
    for row, prof in measured:
        y = row.value or 0.0
        if y > 0:
            cal.samples.setdefault((segment_key(row, cat), family(row.metric)), []).append(
                Sample(row, prof, y)
            )
    pooled = _Pooled(cat, cal.samples)
    for key, ss in cal.samples.items():
        cal.params[key] = pooled.fit(key, ss)
    cal.novelty_scale = scale = feature_scale(
        [features(s.profile, s.row.precision) for ss in cal.samples.values() for s in ss]
    )
    if validate:
        near_of_held: list[list[tuple[float, str]]] = []  # each held-out figure's
        for key, ss in cal.samples.items():
            hw = segment_hardware(key[0], cat)
            models = sorted({s.row.model_id for s in ss})
            few = cal.few_models(key[0])
            for m in models:
                train = [s for s in ss if s.row.model_id != m]
                test = [s for s in ss if s.row.model_id == m]
                if not train:
                    cal.not_validated[key[0]] += len(test)
                    continue
                # the model is left out everywhere: the family centre is fitted without it too
                p = pooled.fit(key, train, without=m)
                for s in test:
                    pred = to_metric(
                        latency_ms(
                            hw, s.profile, s.row.precision, p, metric_key(s.row), runtime(s.row)
                        ),
                        s.row.metric,
                    )
                    value = s.row.value or 0.0
                    cal.lomo_ape[key[0]].append(ape(pred, value))
                    # in latency terms: a throughput's error is the inverse latency's
                    r = np.log(pred / value) if pred > 0 and value > 0 else 0.0
                    if s.row.metric == "throughput_fps":
                        r = -r
                    cls = stratum(p.context, s.profile, few)
                    near = neighbours(s.profile, s.row.precision, s.row.metric, train, scale)
                    far = novelty(near)
                    near_of_held.append(near)
                    cal.held.append(Held(key[0], m, float(r), ape(pred, value), cls, far))
                    # the same prediction anchored on the model's figures on sibling chips
                    # (their fits keep it: they published it)
                    anchors = sibling_rows(
                        cal.samples, cal.params, cat, key, m, s.row.precision, metric_key(s.row)
                    )
                    if anchors and value > 0:
                        k = anchored_ratio(anchors, cal.params, cat)
                        got = to_metric(
                            latency_ms(
                                hw, s.profile, s.row.precision, p, metric_key(s.row), runtime(s.row)
                            )
                            * k,
                            s.row.metric,
                        )
                        ra = float(np.log(got / value)) * (
                            -1 if s.row.metric == "throughput_fps" else 1
                        )
                        cal.anchored.append(
                            Held(key[0], m, ra, ape(got, value), plain_ape=ape(pred, value))
                        )
        _add_neighbour_misses(cal, near_of_held)
        for key, p in cal.params.items():
            cls = stratum(None, None, cal.few_models(key[0]))
            p.band_pct, p.band_source = cal.band(key[0], cls=cls)
    cal.estimated_gmacs = _estimate_missing_gmacs(cat, cal)
    return cal


def _add_neighbour_misses(cal: Calibration, near_of_held: list[list[tuple[float, str]]]) -> None:
    """Give every held-out prediction the device model's held-out miss on its neighbours
    (novelty.neighbour_miss; `near_of_held`, in cal.held's order, found among the models its
    fit was made on), never its own model's miss."""
    misses = {seg: held_misses(cal.held, seg) for seg in {h.segment for h in cal.held}}
    for i, (h, near) in enumerate(zip(cal.held, near_of_held, strict=True)):
        own = {k: v for k, v in misses[h.segment].items() if k != h.model}
        cal.held[i] = replace(h, miss=neighbour_miss(near, own))
