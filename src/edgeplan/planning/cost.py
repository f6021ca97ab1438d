"""Cost arithmetic, vectorised over candidates. Every function is plain algebra on arrays so it
can be checked by hand (tests do, to the cent)."""

import numpy as np

DAYS_PER_MONTH = 30.4375  # 365.25 / 12
UTIL_TARGET = 0.8  # an edge device is sized to run at most this busy


def devices_needed(
    demand_fps: np.ndarray, throughput_fps: np.ndarray, dedicated: bool
) -> np.ndarray:
    """Devices for a demand: whole devices (dedicated, at least 1) or a fractional share."""
    share = demand_fps / np.maximum(throughput_fps * UTIL_TARGET, 1e-9)
    return np.maximum(1.0, np.ceil(share - 1e-9)) if dedicated else share


def average_power_w(
    power_load_w: np.ndarray,
    idle_w: np.ndarray,
    demand_fps: np.ndarray,
    throughput_fps: np.ndarray,
    n_devices: np.ndarray,
) -> np.ndarray:
    """Idle power plus the busy share of (load - idle), over all devices."""
    util = np.clip(
        demand_fps / np.maximum(throughput_fps * np.maximum(n_devices, 1e-9), 1e-9), 0, 1
    )
    per_device = idle_w + (power_load_w - idle_w) * util
    return per_device * n_devices


def energy_usd_per_month(
    avg_w: np.ndarray, hours_per_day: np.ndarray, usd_per_kwh: np.ndarray
) -> np.ndarray:
    return avg_w / 1000.0 * hours_per_day * DAYS_PER_MONTH * usd_per_kwh


def frames_per_month(demand_fps: np.ndarray, hours_per_day: np.ndarray) -> np.ndarray:
    return demand_fps * 3600.0 * hours_per_day * DAYS_PER_MONTH


def cloud_usd_per_month(
    demand_fps: np.ndarray,
    hours_per_day: np.ndarray,
    usd_per_hour: np.ndarray,
    usd_per_image: np.ndarray,
    throughput_fps: np.ndarray,
    utilisation: np.ndarray,
) -> np.ndarray:
    """Instance-hours at the needed throughput and utilisation (pooled, fractional), plus any
    per-image API price."""
    instances = demand_fps / np.maximum(throughput_fps * utilisation, 1e-9)
    compute = instances * usd_per_hour * hours_per_day * DAYS_PER_MONTH
    return compute + frames_per_month(demand_fps, hours_per_day) * usd_per_image


def data_usd_per_month(
    demand_fps: np.ndarray,
    hours_per_day: np.ndarray,
    bytes_per_frame: np.ndarray,
    metered_usd_per_gb: np.ndarray,
    ingest_usd_per_gb: np.ndarray,
) -> np.ndarray:
    gb = frames_per_month(demand_fps, hours_per_day) * bytes_per_frame / 1e9
    return gb * (metered_usd_per_gb + ingest_usd_per_gb)


def tco_usd(
    capex_usd: np.ndarray,
    life_years: np.ndarray,
    opex_usd_per_month: np.ndarray,
    horizon_years: float,
) -> np.ndarray:
    """Capex bought at month 0 and again at each end of life within the horizon, plus opex."""
    purchases = np.where(
        capex_usd > 0, np.ceil(horizon_years / np.maximum(life_years, 1e-9) - 1e-9), 0
    )
    return capex_usd * purchases + opex_usd_per_month * horizon_years * 12


def monthly_series(
    capex_usd: float, life_years: float, opex_usd_per_month: float, horizon_years: float
) -> np.ndarray:
    """Cumulative spend at the end of each month 1..N (capex at months 0, life, 2*life, ...)."""
    months = round(horizon_years * 12)
    m = np.arange(1, months + 1)
    life_m = max(life_years * 12, 1e-9)
    buys = np.floor((m - 1) / life_m) + 1 if capex_usd > 0 else np.zeros_like(m, dtype=float)
    return capex_usd * buys + opex_usd_per_month * m


def break_even_month(edge_cum: np.ndarray, cloud_cum: np.ndarray) -> int | None:
    """First month (1-based) from which the edge's cumulative spend stays at or below the
    cloud's; None if it never does within the horizon."""
    ok = edge_cum <= cloud_cum + 1e-9
    if not ok.any() or not ok[-1]:
        return None
    last_bad = np.nonzero(~ok)[0]
    return int(last_bad[-1] + 2) if len(last_bad) else 1
