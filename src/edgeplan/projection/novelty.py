"""How far a model lies from the models a device's fit was made on: the scale of a normalised
(locally adaptive) conformal band.

A projection for a model much like the published ones (a ResNet-50 next to ResNet-18 and
-101) errs less than one for a model unlike any of them (a 640-pixel detector with attention
on a chip published for classifiers). A band of one width for both is too wide for the first
and too narrow for the second. Normalised split-conformal intervals (Papadopoulos et al.,
"Reliable prediction intervals with regression neural networks", 2011; Lei et al. 2018)
divide each held-out error by a difficulty known before the figure is, take the quantile of
those ratios, and scale it back by the new model's difficulty: coverage holds as before, the
widths follow the difficulty. The novelty here is the mean distance to the nearest published
models in the features the device model uses, in units of each feature's spread over the
catalogue; the difficulty is exp(slope * novelty), its slope fitted on the band's own pool of
held-out errors (on the Hailo-8 they grow about sevenfold from the nearest quarter of models to
the farthest; on some devices not at all, and the band is then one width for all). A second
difficulty is the device model's held-out miss on those nearest models (`neighbour_miss`): a
projection errs where its neighbours' did."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import nnls

from edgeplan.projection.profile import CostProfile

if TYPE_CHECKING:
    from edgeplan.projection.samples import Sample

NEIGHBOURS = 3  # published models a distance is taken to (their mean)
FEATURES = (
    "ln GMACs", "ln params", "ln weighted layers", "ln activation MB", "ln input pixels",
    "depthwise", "attention", "matrix-product share",
)  # fmt: skip


def features(profile: CostProfile, precision: str) -> np.ndarray:
    """The model's place in the device model's feature space (NaN where it is not known)."""
    act = profile.act_mb(precision)
    return np.array(
        [
            np.log(max(profile.gmacs, 1e-6)),
            np.log(max(profile.params_m, 1e-6)),
            np.log(profile.layers) if profile.layers else np.nan,
            np.log(act) if act > 0 else np.nan,
            np.log(max(profile.input_pixels, 1)),
            float("depthwise" in profile.kernels),
            float("attention" in profile.kernels),
            profile.gemm_share(),
        ]
    )


def feature_scale(points: Sequence[np.ndarray]) -> np.ndarray:
    """Each feature's spread over the catalogue's published rows (its unit of distance); 1
    where a feature does not vary or is never known."""
    arr = np.array(points, float).reshape(-1, len(FEATURES))
    sd = [float(np.std(col[np.isfinite(col)])) if np.isfinite(col).any() else 1.0 for col in arr.T]
    return np.array([s if s > 1e-9 else 1.0 for s in sd])


def nearest(
    point: np.ndarray, others: dict[str, np.ndarray], scale: np.ndarray
) -> list[tuple[float, str]]:
    """(distance, model) to the NEIGHBOURS nearest of `others`, nearest first, each distance in
    units of `scale` over the features both know (rescaled to all features, so a missing one
    is not a free zero)."""
    if not others:
        return []
    names = list(others)
    diff = (np.array([others[n] for n in names], float) - point) / scale
    known = np.isfinite(diff)
    sq = np.where(known, diff, 0.0) ** 2
    d = np.sqrt(sq.sum(axis=1) * len(FEATURES) / np.maximum(known.sum(axis=1), 1))
    return sorted(zip(d.tolist(), names, strict=True))[:NEIGHBOURS]


def distance(point: np.ndarray, others: Sequence[np.ndarray], scale: np.ndarray) -> float:
    """Mean distance from `point` to its NEIGHBOURS nearest `others` (`nearest`); 0 when there
    are no others."""
    near = nearest(point, {str(i): o for i, o in enumerate(others)}, scale)
    return float(np.mean([d for d, _ in near])) if near else 0.0


def published_points(
    name: str, precision: str, metric: str, published: Sequence["Sample"]
) -> dict[str, np.ndarray]:
    """The models published on a device a model is compared with: those at its precision and
    metric where there are NEIGHBOURS of them, else those at its precision, else all; each
    model once, never the model itself."""
    others = [s for s in published if s.row.model_id != name]
    for keep in (
        lambda s: s.row.precision == precision and s.row.metric == metric,
        lambda s: s.row.precision == precision,
    ):
        chosen = [s for s in others if keep(s)]
        if len({s.row.model_id for s in chosen}) >= NEIGHBOURS:
            others = chosen
            break
    return {s.row.model_id: features(s.profile, s.row.precision) for s in others}


def neighbours(
    profile: CostProfile,
    precision: str,
    metric: str,
    published: Sequence["Sample"],
    scale: np.ndarray,
) -> list[tuple[float, str]]:
    """(distance, model) to the NEIGHBOURS models published on a device nearest a model
    (`published_points`, `nearest`): what its novelty and its neighbours' miss are taken over."""
    points = published_points(profile.name, precision, metric, published)
    return nearest(features(profile, precision), points, scale)


def novelty(near: Sequence[tuple[float, str]]) -> float:
    """How far a model lies from the models published on a device: the mean distance to its
    `neighbours`; 0 when there are none."""
    return float(np.mean([d for d, _ in near])) if near else 0.0


def neighbour_miss(near: Sequence[tuple[float, str]], misses: dict[str, float]) -> float | None:
    """How far the device model missed the published models nearest a model (its
    `neighbours`): the mean of their held-out |log errors| (`misses`, by model), over those
    that were held out; None when none were. A projection errs where its neighbours' did (the
    Spearman correlation of a held-out error with its neighbours' is 0.2-0.5 by family), so
    the miss is a difficulty of the band; the point projection keeps none of it (a correction
    by it jumps as the neighbours change, and a model with more MACs could be projected
    faster: docs/project.md, *Neighbours' misses carried over*)."""
    got = [misses[m] for _, m in near if m in misses]
    return float(np.mean(got)) if got else None


ERROR_FLOOR = 0.01  # held-out |log errors| below this (1%) count as this: the rows' own noise


def difficulty_slopes(
    predictors: Sequence[Sequence[float]], log_errors: Sequence[float]
) -> list[float]:
    """How fast held-out errors grow with each predictor of difficulty (novelty, the
    neighbours' miss): the least-squares slopes of ln |log error| on them over a band's pool,
    none below 0 (non-negative least squares on centred values), so a difficulty
    exp(slopes . predictors) follows the errors and grows with each; all 0 (one band for all)
    where errors do not grow with any or the pool cannot say."""
    y = np.log(np.abs(np.asarray(log_errors, float)) + ERROR_FLOOR)
    x = np.asarray(predictors, float).reshape(len(predictors), -1).T
    if len(y) < 2 or x.shape[0] != len(y):
        return [0.0] * len(predictors)
    xc, yc = x - x.mean(axis=0), y - y.mean()
    keep = (xc**2).sum(axis=0) > 1e-12
    slopes = np.zeros(x.shape[1])
    if keep.any():
        slopes[keep] = nnls(xc[:, keep], yc)[0]
    return [float(v) for v in slopes]


def difficulty_slope(novelties: Sequence[float], log_errors: Sequence[float]) -> float:
    """How fast held-out errors grow with novelty alone (`difficulty_slopes`)."""
    return difficulty_slopes([novelties], log_errors)[0]
