"""Exact Pareto frontier over (latency, accuracy, power, cost), vectorised with numpy.

Per row (camera x workload) only feasible points are compared: they are compacted to the front,
and the (rows x F x F) dominance cube is built one objective at a time with in-place boolean ops,
which is several times faster than a 4-D comparison reduced along its last axis.
"""

import numpy as np

CHUNK_ELEMS = 24_000_000  # bound on the (rows x F x F) cube per step


def objectives(
    latency: np.ndarray, accuracy: np.ndarray, power: np.ndarray, tco: np.ndarray
) -> np.ndarray:
    """(C, N, 4) to minimise; unknown accuracy counts as the worst."""
    acc = np.where(np.isnan(accuracy), -1.0, accuracy)
    return np.stack([latency, -acc, power, tco], axis=-1)


def _front_compact(o: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """o: (R, F, K) compacted points, valid: (R, F). Returns non-dominated valid points."""
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


def frontier(obj: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """(C, N) mask of feasible points that no feasible point dominates. a dominates b when a is
    no worse on every objective and better on at least one."""
    c, n, _ = obj.shape
    out = np.zeros((c, n), bool)
    order = np.argsort(~feasible, axis=1, kind="stable")  # feasible first, original order kept
    counts = feasible.sum(axis=1)
    rows_sorted = np.argsort(counts, kind="stable")  # group rows of similar width together
    s = 0
    while s < c:
        width = max(int(counts[rows_sorted[min(c - 1, s)]]), 1)
        step = max(1, CHUNK_ELEMS // (width * width))
        idx = rows_sorted[s : s + step]
        width = max(int(counts[idx].max()), 1)
        if len(idx) * width * width > 2 * CHUNK_ELEMS:  # widths grow along the sorted rows
            step = max(1, CHUNK_ELEMS // (width * width))
            idx = rows_sorted[s : s + step]
        cols = order[idx, :width]
        o = np.take_along_axis(obj[idx], cols[:, :, None], axis=1)
        valid = np.take_along_axis(feasible[idx], cols, axis=1)
        front = _front_compact(o, valid)
        sub = np.zeros((len(idx), n), bool)
        np.put_along_axis(sub, cols, front, axis=1)
        out[idx] = sub
        s += step
    return out
