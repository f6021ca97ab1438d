"""The camera-dependent side of evaluation: arrays of length C for the cameras that share one
workload (their site's network and prices, their frame rates, hours and duty cycle)."""

from dataclasses import dataclass, replace

import numpy as np

from edgeplan.planning.network import still_bytes, stream_mbps
from edgeplan.spec.fleet import Camera, Costs, Site, Workload

FULL_HD_PX = 1920 * 1080


@dataclass
class CameraArrays:
    index: list[tuple[int, int]]  # (camera index, workload index) per row
    demand_fps: np.ndarray  # frames a second the model must analyse (after the duty cycle)
    decode_1080p_fps: np.ndarray  # 1080p-equivalent frames a second the device must decode
    fps: np.ndarray  # frames a second the camera delivers
    hours: np.ndarray
    still_bytes: np.ndarray
    stream_mbps: np.ndarray
    episodic: bool  # images_per_day: stills uploaded, no video stream
    uplink_mbps: np.ndarray
    metered_usd_per_gb: np.ndarray
    usd_per_kwh: np.ndarray
    availability: np.ndarray  # share of time the site reaches the cloud
    rtt_ms_p99: np.ndarray  # (C, R), inf where the site has no RTT to the region
    residency: list[str | None]
    site: np.ndarray  # site index per row, for pooling shared devices
    active_source: str  # "declared", "measured-in-production" or "continuous"
    # the whole group's totals (cloud instances are pooled over every camera of the workload,
    # whichever chunk of rows is being evaluated)
    pool_demand_fps: float = 0.0
    pool_demand_fps_hours: float = 0.0
    pool_hours_max: float = 0.0

    def take(self, idx: np.ndarray) -> "CameraArrays":
        """The rows at `idx` (whole sites), with the group's pool totals kept."""
        per_row = {
            k: v[idx] for k, v in vars(self).items() if isinstance(v, np.ndarray) and k != "site"
        }
        return replace(
            self,
            **per_row,
            index=[self.index[i] for i in idx.tolist()],
            residency=[self.residency[i] for i in idx.tolist()],
            site=np.unique(self.site[idx], return_inverse=True)[1],
        )


def camera_arrays(
    rows: list[tuple[int, int]],
    cams: list[Camera],
    sites: dict[str, Site],
    costs: Costs,
    regions: list[str],
    w: Workload,
    gate_pass_rate: dict[str, float] | None = None,
) -> CameraArrays:
    c = [cams[i] for i, _ in rows]
    s = [sites[x.site] for x in c]
    site_ids = sorted(sites)
    per_site = np.full((len(site_ids), max(len(regions), 1)), np.inf)
    for i, sid in enumerate(site_ids):
        for j, reg in enumerate(regions):
            if reg in sites[sid].rtt_ms:
                per_site[i, j] = sites[sid].rtt_ms[reg].p99_ms
    at = {sid: i for i, sid in enumerate(site_ids)}
    rtt = per_site[[at[x.site] for x in c]]
    hours = np.array([x.hours_per_day for x in c])
    fps = np.array([x.fps for x in c])
    measured = gate_pass_rate or {}
    if w.duty_cycle.mode == "motion":
        active = np.array([measured.get(x.id, w.duty_cycle.active_fraction) for x in c])
        src = "measured-in-production" if any(x.id in measured for x in c) else "declared"
    else:
        active, src = np.ones(len(c)), "continuous"
    mp = np.array([x.resolution[0] * x.resolution[1] / FULL_HD_PX for x in c])
    if w.images_per_day is not None:  # episodic: photos in a day, within the camera's hours
        demand = np.full(len(c), w.images_per_day) / (hours * 3600.0)
        decode = demand * mp
    else:
        demand = fps * active
        decode = fps * mp  # the gate itself needs every frame decoded
    return CameraArrays(
        index=rows,
        demand_fps=demand,
        decode_1080p_fps=decode,
        fps=fps,
        hours=hours,
        still_bytes=np.array([still_bytes(x, costs) for x in c]),
        stream_mbps=np.array([stream_mbps(x) for x in c]),
        episodic=w.images_per_day is not None,
        uplink_mbps=np.array([x.uplink_mbps for x in s]),
        metered_usd_per_gb=np.array([x.metered_usd_per_gb for x in s]),
        usd_per_kwh=np.array([x.electricity_usd_per_kwh for x in s]),
        availability=np.array([x.availability_pct / 100 for x in s]),
        rtt_ms_p99=rtt,
        residency=[x.residency_region for x in s],
        site=np.unique([x.site for x in c], return_inverse=True)[1],
        active_source=src,
        pool_demand_fps=float(demand.sum()),
        pool_demand_fps_hours=float((demand * hours).sum()),
        pool_hours_max=float(hours.max(initial=0.0)),
    )
