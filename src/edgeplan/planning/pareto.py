"""Exact Pareto frontier over (latency, accuracy, power, cost, unavailability), vectorised.

Per row (camera x workload) only feasible points are compared: they are compacted to the front,
rows are grouped by how many they have (so the work is the sum of S^2, not rows x max S^2), and
each group's (rows x S x S) dominance cube is built one objective at a time with in-place
boolean ops.
"""

import numpy as np

CHUNK_ELEMS = 8_000_000  # bound on the (rows x F x objectives) or (rows x S x S) arrays per step


def objectives(
    latency: np.ndarray,
    accuracy: np.ndarray,
    power: np.ndarray,
    tco: np.ndarray,
    availability: np.ndarray,
) -> np.ndarray:
    """(C, N, 5) to minimise: latency, -accuracy, power, cost and unavailability (1 -
    availability: downtime compares in ratios, 0.05% vs 5%); unknown accuracy is the worst."""
    out = np.empty((*latency.shape, 5))
    out[..., 0] = latency
    np.negative(np.where(np.isnan(accuracy), -1.0, accuracy), out=out[..., 1])
    out[..., 2] = power
    out[..., 3] = tco
    np.subtract(1.0, availability, out=out[..., 4])
    return out


def _compact(o: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid points first (original order kept), cut to the widest row: (points, valid, cols)."""
    width = max(int(valid.sum(axis=1).max(initial=0)), 1)
    cols = np.argsort(~valid, axis=1, kind="stable")[:, :width]
    return (
        np.take_along_axis(o, cols[:, :, None], axis=1),
        np.take_along_axis(valid, cols, axis=1),
        cols,
    )


def _cube(o: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """o: (R, S, K) compacted points, valid: (R, S). Returns non-dominated valid points."""
    r, f, k = o.shape
    le = np.ones((r, f, f), bool)  # [r, a, b]: a <= b on every objective so far
    eq = np.ones((r, f, f), bool)
    tmp = np.empty((r, f, f), bool)
    for j in range(k):
        a, b = o[:, :, None, j], o[:, None, :, j]
        np.less_equal(a, b, out=tmp)
        le &= tmp
        np.equal(a, b, out=tmp)
        eq &= tmp
    le &= ~eq  # a dominates b
    le &= valid[:, :, None]
    return valid & ~le.any(axis=1)


def _rows(obj: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    o, keep, cols = _compact(obj, feasible)
    front = np.zeros_like(keep)
    counts = keep.sum(axis=1)
    for s in np.unique(counts).tolist():  # each width in its own cube: sum of S^2, not max
        if s == 0:
            continue
        rows = np.nonzero(counts == s)[0]
        step = max(1, CHUNK_ELEMS // (s * s))
        for i in range(0, len(rows), step):
            idx = rows[i : i + step]
            front[idx, :s] = _cube(o[idx, :s], keep[idx, :s])
    out = np.zeros(feasible.shape, bool)
    np.put_along_axis(out, cols, front, axis=1)
    return out


def frontier(obj: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """(C, N) mask of feasible points that no feasible point dominates. a dominates b when a is
    no worse on every objective and better on at least one."""
    c, n, k = obj.shape
    out = np.zeros((c, n), bool)
    step = max(1, CHUNK_ELEMS // (n * k))
    for i in range(0, c, step):
        out[i : i + step] = _rows(obj[i : i + step], feasible[i : i + step])
    return out
