"""The device model's misses on the published models nearest a new one, carried over to it:
the residual step of a two-stage predictor (as kriging adds correlated residuals to a trend).

The device model prices MACs, weights, layers, activations and kernel classes. What it does
not price, a compiler's treatment of a family of networks, shows as misses that similar
networks share: on the Qualcomm chips EfficientViT-B2 and -L2, MobileViT-S and LeViT-128S all
run 1.4-2.8x slower than projected, and EfficientNet-B4 and -V2-S faster. A projection is
multiplied by exp(-beta x m): m is the mean log miss (projected / published) of the device
model on the NEIGHBOURS published models nearest it in the novelty features, at its precision
and figure kind where the device has enough of those; beta is how well such a mean foretold
each published model's own miss on the device (each model left out of its neighbours in turn;
least squares through the origin, within [0, 1]), shrunk by the positive-part James-Stein
factor 1 - 1/t^2 (t: beta over its standard error). A device whose misses are noise (few
models, or misses its neighbours do not share) thus keeps its device model unchanged."""

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from edgeplan.projection.device import base_metric
from edgeplan.projection.novelty import NEIGHBOURS, distances, features
from edgeplan.projection.profile import CostProfile
from edgeplan.projection.rows import metric_key
from edgeplan.projection.samples import Sample

# published models a correction needs: each must have NEIGHBOURS others, and the spread of
# what is left after the fit needs one more
MIN_MODELS = NEIGHBOURS + 1


@dataclass(frozen=True)
class Correction:
    """How a projection was moved by its neighbours' misses."""

    factor: float  # the device model's time is multiplied by this
    neighbours: tuple[str, ...]  # the published models whose misses it carries
    miss: float  # their mean miss, projected / published (geometric)
    beta: float  # the share of that miss carried over (0..1)
    models: int  # published models beta was estimated on

    def describe(self) -> str:
        """For `project`'s source line."""
        if self.beta < 0.005:
            return (
                f"the device model's misses on the nearest published models "
                f"({', '.join(self.neighbours)}) not carried over: over {self.models} models "
                "neighbours did not foretell each other's misses"
            )
        return (
            f"x{self.factor:.2f} for the device model's misses on the nearest published models "
            f"({', '.join(self.neighbours)}: projected x{self.miss:.2f} their figures), "
            f"carried over at {self.beta:.2f} (how well neighbours foretold each other's misses "
            f"over {self.models} models)"
        )


def candidates(samples: Sequence[Sample], precision: str, metric: str) -> list[Sample]:
    """The rows whose misses can speak for a projection at `precision` and `metric` (a metric
    key, with its batch and harness): those at both where MIN_MODELS models have them, else at
    its precision and base metric, else at its precision, else all."""
    for keep in (
        lambda s: s.row.precision == precision and metric_key(s.row) == metric,
        lambda s: s.row.precision == precision and s.row.metric == base_metric(metric),
        lambda s: s.row.precision == precision,
    ):
        chosen = [s for s in samples if keep(s)]
        if len({s.row.model_id for s in chosen}) >= MIN_MODELS:
            return chosen
    return list(samples)


def shrunk_slope(own: np.ndarray, foretold: np.ndarray) -> float:
    """Least-squares slope through the origin of each model's miss on what its neighbours
    foretold, within [0, 1], times the positive-part James-Stein factor 1 - 1/t^2."""
    den = float(foretold @ foretold)
    if den <= 0 or len(own) < 3:
        return 0.0
    slope = float(own @ foretold) / den
    if slope <= 0:
        return 0.0
    spread = float(np.sum((own - slope * foretold) ** 2)) / (len(own) - 1)
    t2 = slope * slope * den / spread if spread > 0 else math.inf
    return min(1.0, slope) * max(0.0, 1.0 - 1.0 / t2)


def correction(
    profile: CostProfile,
    precision: str,
    metric: str,
    samples: Sequence[Sample],
    predict: Callable[[Sample], float],
    scale: np.ndarray,
) -> Correction | None:
    """The correction of a projection of `profile` from the device's published `samples` (the
    model's own rows left out) and the device model that was fitted on them (`predict`: its
    time in ms for a sample); None where too few models can say."""
    chosen = candidates([s for s in samples if s.row.model_id != profile.name], precision, metric)
    logs: dict[str, list[float]] = defaultdict(list)
    points: dict[str, np.ndarray] = {}
    for s in chosen:
        pred = predict(s)
        if pred > 0 and s.y_ms > 0:
            logs[s.row.model_id].append(math.log(pred / s.y_ms))
            points[s.row.model_id] = features(s.profile, s.row.precision)
    if len(logs) < MIN_MODELS:
        return None
    names = sorted(logs)
    miss = np.array([np.mean(logs[m]) for m in names])
    pts = [points[m] for m in names]
    foretold = np.empty(len(names))
    for i, m in enumerate(names):
        d = distances(points[m], pts, scale)
        d[i] = np.inf  # itself left out
        foretold[i] = miss[np.argsort(d, kind="stable")[:NEIGHBOURS]].mean()
    beta = shrunk_slope(miss, foretold)
    near = np.argsort(distances(features(profile, precision), pts, scale), kind="stable")
    near = near[:NEIGHBOURS]
    carried = float(miss[near].mean())
    return Correction(
        factor=math.exp(-beta * carried),
        neighbours=tuple(names[i] for i in near),
        miss=math.exp(carried),
        beta=beta,
        models=len(names),
    )
