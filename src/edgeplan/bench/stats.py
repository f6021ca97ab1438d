"""Percentiles and windows over latency samples (numpy's linear interpolation, like LoadGen's
summary within a sample of its resolution)."""

from collections.abc import Sequence

import numpy as np

from edgeplan.records.types import LatencyStats, Window


def latency_stats(samples_ms: Sequence[float]) -> LatencyStats:
    """p50/p90/p95/p99 of a non-empty sample; raises ValueError on an empty one."""
    a = np.asarray(samples_ms, dtype=np.float64)
    if a.size == 0:
        raise ValueError("no latency samples")
    p50, p90, p95, p99 = np.percentile(a, [50, 90, 95, 99])
    return LatencyStats(
        samples=int(a.size),
        latency_ms_min=float(a.min()),
        latency_ms_mean=float(a.mean()),
        latency_ms_p50=float(p50),
        latency_ms_p90=float(p90),
        latency_ms_p95=float(p95),
        latency_ms_p99=float(p99),
        latency_ms_max=float(a.max()),
    )


def windows(t_s: Sequence[float], lat_ms: Sequence[float], window_s: float) -> list[Window]:
    """Split (time since start, latency) samples into fixed windows; empty windows are skipped."""
    t, lat = np.asarray(t_s), np.asarray(lat_ms)
    out: list[Window] = []
    if t.size == 0:
        return out
    edges = np.arange(0.0, float(t.max()) + window_s, window_s)
    for start in edges:
        m = (t >= start) & (t < start + window_s)
        if m.sum() == 0:
            continue
        p50, p99 = np.percentile(lat[m], [50, 99])
        out.append(
            Window(
                start_s=float(start),
                samples=int(m.sum()),
                latency_ms_p50=float(p50),
                latency_ms_p99=float(p99),
            )
        )
    return out


def slope_per_min(ws: Sequence[Window]) -> float:
    """Least-squares slope of window p50 against window start, in ms per minute."""
    if len(ws) < 2:
        return 0.0
    x = np.array([w.start_s for w in ws]) / 60.0
    y = np.array([w.latency_ms_p50 for w in ws])
    return float(np.polyfit(x, y, 1)[0])
