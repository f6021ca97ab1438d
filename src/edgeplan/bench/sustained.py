"""Sustained-run analysis: latency per window, drift, and host clock/thermal per window."""

import numpy as np

from edgeplan.bench.hostsensors import SensorSampler
from edgeplan.bench.loadgen import SampleLog
from edgeplan.bench.stats import slope_per_min, windows
from edgeplan.records.types import SustainedResult

DISAGREE_SPREAD = 0.25  # window p50s further apart than this flag a noisy host


def _per_window(
    values: list[tuple[float, float | None]], starts: list[float], width: float
) -> tuple[float, ...]:
    out = []
    for s in starts:
        vals = [v for t, v in values if s <= t < s + width and v is not None]
        if vals:
            out.append(float(np.mean(vals)))
    return tuple(out) if len(out) == len(starts) else ()


def analyse_sustained(
    log: SampleLog, sensors: SensorSampler | None, n_windows: int = 10
) -> SustainedResult | None:
    """Windows of equal length over the run; None when too few samples to say anything."""
    if len(log.t_s) < 2 * n_windows:
        return None
    duration = log.t_s[-1] + log.latency_ms[-1] / 1000
    width = duration / n_windows
    ws = windows(log.t_s, log.latency_ms, width)
    p50s = np.array([w.latency_ms_p50 for w in ws])
    spread = float((p50s.max() - p50s.min()) / np.median(p50s)) if len(p50s) else 0.0
    starts = [w.start_s for w in ws]
    mhz: tuple[float, ...] = ()
    temps: tuple[float, ...] = ()
    if sensors is not None:
        mhz = _per_window([(t, m) for t, m, _ in sensors.samples], starts, width)
        temps = _per_window([(t, c) for t, _, c in sensors.samples], starts, width)
    return SustainedResult(
        duration_s=duration,
        windows=tuple(ws),
        p50_slope_ms_per_min=slope_per_min(ws),
        last_vs_first_p99_ratio=ws[-1].latency_ms_p99 / ws[0].latency_ms_p99,
        windows_disagree=spread > DISAGREE_SPREAD,
        cpu_mhz=mhz,
        temperature_c=temps,
        clock_source=sensors.clock_source if sensors else None,
    )
