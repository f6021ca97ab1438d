"""Exact Pareto frontier over (latency, accuracy, power, cost), vectorised with numpy."""

import numpy as np

CHUNK_ELEMS = 40_000_000  # bound on the (rows x N x N) dominance cube per step


def objectives(
    latency: np.ndarray, accuracy: np.ndarray, power: np.ndarray, tco: np.ndarray
) -> np.ndarray:
    """(C, N, 4) to minimise; unknown accuracy counts as the worst."""
    acc = np.where(np.isnan(accuracy), -1.0, accuracy)
    return np.stack([latency, -acc, power, tco], axis=-1)


def frontier(obj: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """(C, N) mask of feasible points no feasible point dominates. a dominates b when a is no
    worse on every objective and better on at least one."""
    c, n, _ = obj.shape
    out = np.zeros((c, n), bool)
    rows = max(1, CHUNK_ELEMS // max(n * n, 1))
    for s in range(0, c, rows):
        o, f = obj[s : s + rows], feasible[s : s + rows]
        le = (o[:, :, None, :] <= o[:, None, :, :]).all(-1)  # [c, a, b]: a <= b everywhere
        lt = (o[:, :, None, :] < o[:, None, :, :]).any(-1)
        dom = le & lt & f[:, :, None]  # only feasible points dominate
        out[s : s + rows] = f & ~dom.any(axis=1)
    return out


def dominated_by_frontier(obj: np.ndarray, front: np.ndarray) -> np.ndarray:
    """(C, N): is each point dominated by some frontier point? (for checks and explanations)"""
    le = (obj[:, :, None, :] <= obj[:, None, :, :]).all(-1)
    lt = (obj[:, :, None, :] < obj[:, None, :, :]).any(-1)
    return (le & lt & front[:, :, None]).any(axis=1)
