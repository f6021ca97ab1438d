"""Pick the operating point on the frontier by the fleet's priorities, and a runner-up."""

import numpy as np

from edgeplan.spec.fleet import Priorities

_INDEX = {"latency": 0, "accuracy": 1, "power": 2, "cost": 3}


def _lexicographic(obj: np.ndarray, allowed: np.ndarray, pr: Priorities) -> np.ndarray:
    keep = allowed.copy()
    tol = pr.tolerance_pct / 100
    for name in pr.order:
        v = np.where(keep, obj[..., _INDEX[name]], np.inf)
        best = v.min(axis=1, keepdims=True)
        band = np.abs(best) * tol + 1e-12
        keep &= v <= best + band
    first = np.where(keep, obj[..., _INDEX[pr.order[0]]], np.inf)
    return first.argmin(axis=1)


def _weighted(obj: np.ndarray, allowed: np.ndarray, pr: Priorities) -> np.ndarray:
    weights = pr.weights or {}
    w = np.array([float(weights.get(k, 0.0)) for k in _INDEX])  # type: ignore[call-overload]
    v = np.where(allowed[..., None], obj, np.nan)
    lo, hi = np.nanmin(v, axis=1, keepdims=True), np.nanmax(v, axis=1, keepdims=True)
    norm = (v - lo) / np.where(hi > lo, hi - lo, 1.0)
    score = np.where(allowed, np.nansum(norm * w, axis=-1), np.inf)
    return score.argmin(axis=1)


def choose(
    obj: np.ndarray, allowed: np.ndarray, availability: np.ndarray, pr: Priorities
) -> np.ndarray:
    """Index of the chosen candidate per row (-1 where nothing is allowed)."""
    allowed = allowed.copy()
    if pr.reliability:  # prefer what keeps answering when the network does not
        avail = np.where(allowed, availability, -np.inf)
        allowed &= availability >= avail.max(axis=1, keepdims=True) - 1e-3
    pick = _weighted(obj, allowed, pr) if pr.weights else _lexicographic(obj, allowed, pr)
    return np.where(allowed.any(axis=1), pick, -1)
