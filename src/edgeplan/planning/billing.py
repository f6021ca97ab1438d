"""How clouds bill, vectorised over (cameras x candidates):

- whole instances (`gpu-instance`): enough whole instances for the pooled demand of the cameras
  that share the workload, billed per second for the hours they run (24 h when the endpoint is
  always on), never less than the minimum per start; each camera pays its share of that bill;
- serverless: per request, compute time x memory x price per GB-second, plus data processed;
- per-image APIs: per request.

The pool is the cameras with the same workload spec (the planner's group): a fleet-wide pool
could only be cheaper, so this errs on the side of cost."""

from dataclasses import dataclass

import numpy as np

from edgeplan.planning.cost import DAYS_PER_MONTH, frames_per_month

INSTANCE, SERVERLESS, PER_IMAGE = 1, 2, 3


def instances_needed(
    pooled_fps: np.ndarray, throughput_fps: np.ndarray, util: np.ndarray
) -> np.ndarray:
    """Whole instances for a pooled demand; none when nothing is sent."""
    need = pooled_fps / np.maximum(throughput_fps * util, 1e-9)
    return np.where(pooled_fps > 0, np.maximum(1.0, np.ceil(need - 1e-9)), 0.0)


@dataclass
class Pool:
    """What every camera of the group sends each candidate's cloud option, (1, N)."""

    fps: np.ndarray  # frames a second, summed
    fps_hours: np.ndarray  # frames a second x hours a day, summed (each camera's bill weight)
    hours_max: float  # the longest day among them: how long the pool's instances run


def instance_usd_per_month(
    cloud_fps: np.ndarray,
    hours: np.ndarray,
    pool: Pool,
    throughput_fps: np.ndarray,
    util: np.ndarray,
    usd_per_hour: np.ndarray,
    always_on: np.ndarray,
    min_billing_s: np.ndarray,
) -> np.ndarray:
    """(C, N) each camera's share of whole instances billed while the pool runs."""
    n = instances_needed(pool.fps, throughput_fps, util)
    run_h = np.where(always_on, 24.0, pool.hours_max)
    billed_h = np.maximum(run_h, min_billing_s / 3600.0)
    bill = n * usd_per_hour * billed_h * DAYS_PER_MONTH  # (1, N)
    share = cloud_fps * hours / np.maximum(pool.fps_hours, 1e-12)
    return np.where(pool.fps > 0, bill * share, 0.0)


def serverless_usd_per_month(
    cloud_fps: np.ndarray,
    hours: np.ndarray,
    compute_ms: np.ndarray,
    memory_gb: np.ndarray,
    usd_per_gb_s: np.ndarray,
    bytes_per_request: np.ndarray,
    usd_per_gb_processed: np.ndarray,
) -> np.ndarray:
    """(C, N) requests x (compute s x GB x price) + data processed."""
    requests = frames_per_month(cloud_fps, hours)
    compute = requests * compute_ms / 1000.0 * memory_gb * usd_per_gb_s
    data = requests * bytes_per_request / 1e9 * usd_per_gb_processed
    return compute + data


def cloud_compute_usd_per_month(
    billing: np.ndarray,
    cloud_fps: np.ndarray,
    hours: np.ndarray,
    pool: Pool,
    throughput_fps: np.ndarray,
    util: np.ndarray,
    usd_per_hour: np.ndarray,
    always_on: np.ndarray,
    min_billing_s: np.ndarray,
    compute_ms: np.ndarray,
    memory_gb: np.ndarray,
    usd_per_gb_s: np.ndarray,
    bytes_per_request: np.ndarray,
    usd_per_gb_processed: np.ndarray,
    usd_per_image: np.ndarray,
) -> np.ndarray:
    """The cloud bill per camera and candidate, by each candidate's billing model."""
    inst = instance_usd_per_month(
        cloud_fps, hours, pool, throughput_fps, util, usd_per_hour, always_on, min_billing_s
    )
    srv = serverless_usd_per_month(
        cloud_fps, hours, compute_ms, memory_gb, usd_per_gb_s, bytes_per_request,
        usd_per_gb_processed,
    )  # fmt: skip
    api = frames_per_month(cloud_fps, hours) * usd_per_image
    return np.select(
        [billing == INSTANCE, billing == SERVERLESS, billing == PER_IMAGE], [inst, srv, api], 0.0
    )


def serverless_cold(billing: np.ndarray, pool: Pool, keep_warm_s: np.ndarray) -> np.ndarray:
    """(1, N) True where serverless requests of the pool come further apart than the keep-warm
    time, so the p99 request meets a cold start."""
    pooled = pool.fps
    interval_s = 1.0 / np.maximum(pooled, 1e-12)
    return (billing == SERVERLESS) & (pooled > 0) & (interval_s > keep_warm_s)
