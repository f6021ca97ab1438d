"""How sure a pipelined NPU's (Hailo's) published models make a network's split into several
contexts: a calibrated logistic classifier of the resources a model needs at once, fitted on the
models whose batch-1 and batch-N throughput the device publishes (a gap between them is a
split, device.Context).

The compiler's context count is not published per model, but the zoo's batch gap shows which
models split. The latency fit's own split boundary is close to a hard step (right for most
models, off by the whole batch gap for the rest), so it cannot say how sure it is. This
classifier, regularised as logistic regression usually is (an L2 penalty of 1 on standardised
features, scikit-learn's default), gives odds near 0 or 1 where the device's models agree and
near one half between them: the Mondrian class of a projection's band (bands.stratum)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from edgeplan.projection.kernels import TAGGED
from edgeplan.projection.profile import CostProfile

REFERENCE_LAYERS = 64.0  # features are logs relative to these (a mid-size network)
REFERENCE_WEIGHT_MB = 10.0
SPLIT_L2 = 1.0  # the penalty on standardised slopes (scikit-learn's LogisticRegression C=1)
FEATURES = ("gmacs", "layers", "weights", "gates", *TAGGED)


def weights_ln(profile: CostProfile) -> float:
    """ln(int8 weight MB / REFERENCE_WEIGHT_MB): how much of the chip's memory a model's
    weights take (the chip holds them as int8 whatever the file's precision)."""
    return math.log(max(profile.weight_bytes("int8") / 1e6, 1e-3) / REFERENCE_WEIGHT_MB)


def gates_ln(profile: CostProfile) -> float:
    """ln(1 + global gates): maps the chip must hold whole (kernels.global_gates)."""
    return math.log1p(profile.global_gates)


def features(profile: CostProfile) -> list[float]:
    """ln GMACs, ln weighted layers, ln int8 weight MB, ln(1 + global gates), then 1 per kernel
    tag held: what takes the chip's resources."""
    layers = profile.layers or REFERENCE_LAYERS
    return [
        math.log(max(profile.gmacs, 1e-6)),
        math.log(layers / REFERENCE_LAYERS),
        weights_ln(profile),
        gates_ln(profile),
        *[float(t in profile.kernels) for t in TAGGED],
    ]


@dataclass(frozen=True)
class SplitModel:
    """logit(split) = intercept + sum(weight x feature); every weight >= 0: more MACs, layers,
    weights, gates or a costly kernel class never make a split less likely."""

    intercept: float
    weights: tuple[float, ...]  # in FEATURES order

    def share(self, profile: CostProfile) -> float:
        z = self.intercept + float(np.dot(self.weights, features(profile)))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def fit_split(profiles: Sequence[CostProfile], split: Sequence[bool]) -> SplitModel:
    """L2-regularised logistic regression of `split` on the models' features, slopes bounded
    below by 0 (standardised for the penalty, returned in raw units)."""
    x = np.array([features(p) for p in profiles], float)
    y = np.array(split, float)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0  # a feature every model shares carries no information
    z = (x - mu) / sd

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        t = w[0] + z @ w[1:]
        p = 1.0 / (1.0 + np.exp(-t))
        grad = np.concatenate([[np.sum(p - y)], z.T @ (p - y) + SPLIT_L2 * w[1:]])
        return float(np.sum(np.logaddexp(0.0, t) - y * t) + 0.5 * SPLIT_L2 * w[1:] @ w[1:]), grad

    bounds = [(None, None)] + [(0.0, None)] * z.shape[1]
    w = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, bounds=bounds, method="L-BFGS-B").x
    slopes = w[1:] / sd
    return SplitModel(float(w[0] - slopes @ mu), tuple(float(s) for s in slopes))
