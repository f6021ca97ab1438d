"""Error bands of projections: split-conformal quantiles of leave-one-model-out errors, pooled
by device, then family, then all devices, split into Mondrian classes where the device model
knows it is unsure (a context split it cannot call), and scaled by how far a model lies from the
published ones and how far the device model missed the nearest of them (novelty.py). Also the
container of a calibration's fitted parameters and held-out errors."""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from edgeplan.projection.device import Context, DeviceParams
from edgeplan.projection.novelty import difficulty_slopes
from edgeplan.projection.profile import CostProfile

if TYPE_CHECKING:
    from edgeplan.projection.samples import Sample


BAND_LEVEL = 0.80  # the band is the 80% interval of held-out errors
# held-out errors a device needs before its band is its own (else its family's): the fewest for
# which the split-conformal quantile, the ceil((n + 1) * level)-th smallest error, exists
MIN_POOL = math.ceil(BAND_LEVEL / (1 - BAND_LEVEL) - 1e-9)


def conformal_quantile(errors: Sequence[float], level: float) -> float:
    """The split-conformal quantile of held-out errors: the ceil((n + 1) * level)-th smallest, so
    that a new error falls at or below it with probability >= level (exchangeable errors); the
    largest error when the pool is too small for that rank."""
    ranked = sorted(errors)
    k = math.ceil((len(ranked) + 1) * level - 1e-9)
    return ranked[min(k, len(ranked)) - 1]


def device_family(segment: str) -> str:
    """Devices that share an architecture share error behaviour: hailo-8 and hailo-8l, the Coral
    USB and Dev Board, the Jetsons; a board's CPU segment is its own family."""
    device, _, seg = segment.partition(":")
    head = device.split("-")[0].rstrip("0123456789") or device
    return f"{head}:{seg}" if seg else head


SPLIT_UNSURE = (0.1, 0.9)  # split odds between these: the device's models leave it open


# models a pool needs before its errors' growth with novelty is fitted: a model's rows err
# together, so a slope over three models' eleven rows is three points' worth (ten per
# predictor, the usual events-per-variable rule for a regression)
SLOPE_MIN_MODELS = 10

FAR_SHARE = 0.1  # the farthest tenth of a device's held-out models, for conditional coverage

FEW_MODELS = "few models"  # the class of a device whose own models cannot make a band

# said of a model farther from the published ones than any held-out one, whatever its band
UNVOUCHED = "farther from the published models than any held-out one: measure it"


def stratum(context: Context | None, profile: CostProfile | None, few: bool = False) -> str:
    """The Mondrian class of a projection; each class gets its own band, so a sure projection
    is not widened by the unsure ones, nor an unsure one narrowed:
    - on a context-switching NPU, whether the device's models make its split sure (the
      calibrated classifier's odds near 0 or 1) or not; the projection's own split fit is near
      a hard step, which says nothing of how sure it is;
    - `few`: the device has fewer models than a band needs (MIN_POOL), so its band borrows,
      and it borrows from devices as poorly known: a fit on one or two models extrapolates
      further than a fit on twelve, and the errors of the latter would narrow its band."""
    parts = []
    if context is not None and profile is not None:
        lo, hi = SPLIT_UNSURE
        c = context.classifier
        odds = c.share(profile) if c else context.split_share(profile)
        if lo < odds < hi:
            parts.append("context split unsure")
    if few:
        parts.append(FEW_MODELS)
    return ", ".join(parts)


@dataclass(frozen=True)
class Held:
    """One leave-one-model-out prediction: log(projected / published), its APE, its Mondrian
    class (`stratum`), its distance to the models it was fitted on and how far the device
    model missed the nearest of them (novelty.py)."""

    segment: str
    model: str
    log_ratio: float
    ape: float
    stratum: str = ""
    novelty: float = 0.0
    plain_ape: float | None = None  # an anchored prediction's device model alone (anchor.py)
    # the device model's held-out |log error| on the published models nearest this one
    # (novelty.neighbour_miss); None where none of them was held out
    miss: float | None = None


def held_misses(held: Sequence[Held], segment: str) -> dict[str, float]:
    """Each model's mean held-out |log error| on a device."""
    by: dict[str, list[float]] = defaultdict(list)
    for h in held:
        if h.segment == segment:
            by[h.model].append(abs(h.log_ratio))
    return {m: float(np.mean(v)) for m, v in by.items()}


@dataclass
class Calibration:
    """Fitted parameters per (segment, family), the samples used, and validation errors."""

    params: dict[tuple[str, str], DeviceParams] = field(default_factory=dict)
    samples: dict[tuple[str, str], list["Sample"]] = field(default_factory=dict)
    lomo_ape: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    held: list[Held] = field(default_factory=list)
    # held-out anchored predictions (anchor.py): the device fitted without the model, its
    # published figures on sibling chips kept
    anchored: list[Held] = field(default_factory=list)
    not_validated: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    estimated_gmacs: dict[str, float] = field(default_factory=dict)
    # each novelty feature's unit of distance (novelty.feature_scale)
    novelty_scale: np.ndarray | None = None

    def _pool(
        self,
        segment: str,
        exclude_model: str | None = None,
        cls: str = "",
        held: list[Held] | None = None,
    ) -> tuple[list[Held], str]:
        """Held-out predictions of the same Mondrian class for a device's band: its own when it
        has MIN_POOL, else its family's, else every device's; without the model being judged
        (jackknife). `held`: another set of held-out predictions (the anchored ones)."""
        held = self.held if held is None else held
        same = [h for h in held if h.stratum == cls and h.model != exclude_model]
        own = [h for h in same if h.segment == segment]
        if len(own) >= MIN_POOL:
            return own, "this device's"
        fam = device_family(segment)
        pool = [h for h in same if device_family(h.segment) == fam]
        if len(pool) >= MIN_POOL:
            return pool, f"its family's ({fam})"
        return same, "all devices'"

    def band(
        self,
        segment: str,
        exclude_model: str | None = None,
        cls: str = "",
        novelty: float | None = None,
        miss: float | None = None,
    ) -> tuple[float, str]:
        """(half-width %, where it comes from): projected x/÷ (1 + band) holds the published
        figure with BAND_LEVEL probability, by the held-out errors of its class (`stratum`).
        With the model's `novelty` (and its neighbours' `miss`), the band is normalised
        (novelty.py): the quantile of held-out errors each divided by its difficulty,
        exp(slopes . (novelty, miss)), times this model's difficulty (each predictor at most
        the pool's largest: beyond it nothing was held out), so a model like the published
        ones, whose neighbours the device model projects well, gets a narrower band and an
        unlike one, or one whose neighbours it missed, a wider; never wider than the pool's
        largest error."""
        pool, how = self._pool(segment, exclude_model, cls)
        if not pool:
            return 60.0, "no held-out errors: assumed"
        of = f" ({cls})" if cls else ""
        errors = [abs(h.log_ratio) for h in pool]
        slopes = [0.0, 0.0]
        known = [h.miss for h in pool if h.miss is not None]
        typical_miss = float(np.median(known)) if known else 0.0
        misses = [typical_miss if h.miss is None else h.miss for h in pool]
        if novelty is not None and len({h.model for h in pool}) >= SLOPE_MIN_MODELS:
            use_miss = miss is not None and bool(known)
            predictors = [[h.novelty for h in pool]] + ([misses] if use_miss else [])
            slopes = [*difficulty_slopes(predictors, errors), 0.0][:2]
        farthest = max(h.novelty for h in pool)
        if novelty is None or max(slopes) <= 0:
            q = conformal_quantile(errors, BAND_LEVEL)
            # one width for all, but a model beyond every held-out one is still not vouched for
            beyond_all = novelty is not None and novelty > farthest
            return (float(np.exp(q)) - 1) * 100, f"{how} held-out errors{of} ({len(pool)})" + (
                f"; {UNVOUCHED}" if beyond_all else ""
            )
        s_far, s_miss = slopes
        q = conformal_quantile(
            [
                e / np.exp(s_far * h.novelty + s_miss * m)
                for e, h, m in zip(errors, pool, misses, strict=True)
            ],
            BAND_LEVEL,
        )
        own_miss = min(miss if miss is not None else typical_miss, max(misses))
        # never wider than the largest error the pool made: the exponential is fitted on the
        # bulk and overshoots at its far end, where nothing supports a wider band
        log_width = min(q * np.exp(s_far * min(novelty, farthest) + s_miss * own_miss), max(errors))
        width = float(np.expm1(log_width)) * 100
        typical = float(np.median([h.novelty for h in pool]))
        beyond = (
            " (farther than any held-out model: its difficulty is the farthest one's; measure it)"
            if novelty > farthest
            else ""
        )
        scaled = []  # the difficulties whose slope is above 0 (the others leave the band as is)
        if s_far > 0:
            scaled.append(
                f"the model's distance to the published models: {novelty:.2f} against theirs "
                f"{typical:.2f} typically{beyond}"
            )
        if s_miss > 0:
            scaled.append(
                "the device model's held-out miss on the published models nearest it: "
                f"x/÷ {np.exp(own_miss):.2f} against x/÷ {np.exp(typical_miss):.2f} typically"
            )
        unvouched = s_far <= 0 and novelty > farthest  # said in the distance's clause otherwise
        return width, (
            f"{how} held-out errors{of} ({len(pool)}), scaled by "
            + "; and by ".join(scaled)
            + (f"; {UNVOUCHED}" if unvouched else "")
        )

    def anchored_band(self, segment: str, exclude_model: str | None = None) -> tuple[float, str]:
        """(half-width %, where it comes from) of an anchored projection (anchor.py): the 80%
        conformal quantile of held-out anchored errors, the device's own, else its family's,
        else every device's."""
        pool, how = self._pool(segment, exclude_model, held=self.anchored)
        if not pool:
            return 60.0, "no held-out anchored errors: assumed"
        q = conformal_quantile([abs(h.log_ratio) for h in pool], BAND_LEVEL)
        return float(np.expm1(q)) * 100, f"{how} held-out anchored errors ({len(pool)})"

    def anchored_coverage(self, segment: str | None = None) -> tuple[float, float, int]:
        """(% of held-out anchored predictions inside their band, median band %, n), each band
        built without the model it judges."""
        rows = [h for h in self.anchored if segment is None or h.segment == segment]
        if not rows:
            return float("nan"), float("nan"), 0
        bands = [self.anchored_band(h.segment, h.model)[0] for h in rows]
        inside = [
            abs(h.log_ratio) <= np.log1p(b / 100) + 1e-12 for h, b in zip(rows, bands, strict=True)
        ]
        return float(np.mean(inside)) * 100, float(np.median(bands)), len(rows)

    def few_models(self, segment: str) -> bool:
        """Whether a device has fewer published models than a band needs (bands.FEW_MODELS)."""
        models = {s.row.model_id for (seg, _), ss in self.samples.items() if seg == segment
                  for s in ss}  # fmt: skip
        return len(models) < MIN_POOL

    def coverage_far(self) -> tuple[float, int]:
        """(% inside their band, n) of the held-out figures whose models are in the farthest
        FAR_SHARE of their device's by novelty: whether the bands hold for unusual models,
        where one band for all devices' models does not (conditional coverage)."""
        far: list[Held] = []
        for seg in {h.segment for h in self.held}:
            rows = [h for h in self.held if h.segment == seg]
            cut = float(np.quantile([h.novelty for h in rows], 1 - FAR_SHARE))
            far += [h for h in rows if h.novelty > cut]
        if not far:
            return float("nan"), 0
        return float(np.mean([self._judge(h)[1] for h in far])) * 100, len(far)

    def _judge(self, h: Held) -> tuple[float, bool]:
        """(its band %, whether it holds the published figure) for a held-out prediction, the
        band built without its model (jackknife)."""
        band, _ = self.band(h.segment, h.model, h.stratum, h.novelty, h.miss)
        return band, bool(abs(h.log_ratio) <= np.log1p(band / 100) + 1e-12)

    def coverage(self, segment: str | None = None) -> tuple[float, float, int]:
        """(% of held-out predictions inside their band, median band %, n), each band built
        without the model it judges."""
        rows = [h for h in self.held if segment is None or h.segment == segment]
        if not rows:
            return float("nan"), float("nan"), 0
        judged = [self._judge(h) for h in rows]
        inside = sum(ok for _, ok in judged)
        return inside / len(rows) * 100, float(np.median([b for b, _ in judged])), len(rows)
