"""Pick the operating point on the frontier by the fleet's priorities, and a runner-up."""

import numpy as np

from edgeplan.spec.fleet import Priorities

INDEX = {"latency": 0, "accuracy": 1, "power": 2, "cost": 3, "availability": 4}


def _lexicographic(obj: np.ndarray, allowed: np.ndarray, pr: Priorities) -> np.ndarray:
    keep = allowed.copy()
    tol = pr.tolerance_pct / 100
    for name in pr.order:
        v = np.where(keep, obj[..., INDEX[name]], np.inf)
        best = v.min(axis=1, keepdims=True)
        band = np.abs(best) * tol + 1e-12
        keep &= v <= best + band
    # among what is left, the best on the first priority; ties go to the next priorities
    for name in pr.order:
        v = np.where(keep, obj[..., INDEX[name]], np.inf)
        keep &= v <= v.min(axis=1, keepdims=True)
    return keep.argmax(axis=1)


def _weighted(obj: np.ndarray, allowed: np.ndarray, pr: Priorities) -> np.ndarray:
    weights = pr.weights or {}
    w = np.array([float(weights.get(k, 0.0)) for k in INDEX])  # type: ignore[call-overload]
    lo, hi = ranges(obj, allowed)
    norm = (obj - lo) / np.where(hi > lo, hi - lo, 1.0)
    score = np.where(allowed, (norm * w).sum(axis=-1), np.inf)
    return score.argmin(axis=1)


def ranges(obj: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, each objective's (min, max) over the allowed points, (C, 1, 5) each; (0, 0)
    for a row with none (its score is never used)."""
    some = np.asarray(allowed.any(axis=1))[:, None, None]
    lo = np.where(allowed[..., None], obj, np.inf).min(axis=1, keepdims=True)
    hi = np.where(allowed[..., None], obj, -np.inf).max(axis=1, keepdims=True)
    return np.where(some, lo, 0.0), np.where(some, hi, 0.0)


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
