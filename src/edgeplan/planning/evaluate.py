"""Evaluate every candidate for every camera of a workload, as (cameras x candidates) arrays:
latency, devices and power, cost, availability, then the constraints. Each step reads the
pattern table (patterns.py), never a pattern's name."""

from dataclasses import dataclass

import numpy as np

from edgeplan.planning import billing, cost
from edgeplan.planning.cameras import CameraArrays
from edgeplan.planning.patterns import PRIVACY_ALLOWS, Pattern, Violation, column, sends_rank
from edgeplan.planning.template import Template
from edgeplan.spec.fleet import Costs, Fleet, Workload


@dataclass
class Evaluated:
    """Objectives and constraint masks, arrays of shape (C, N). Units are in the names."""

    latency_ms_p99: np.ndarray
    accuracy: np.ndarray
    power_w: np.ndarray
    tco_usd: np.ndarray
    capex_usd: np.ndarray
    opex_usd_per_month: np.ndarray
    availability: np.ndarray
    remote_latency_ms_p99: np.ndarray  # the cloud or site path alone
    violations: np.ndarray  # int bit mask per Violation
    usd_per_month_by_part: dict[str, np.ndarray]  # opex by component, for sensitivity
    devices: np.ndarray  # edge devices per camera (a share for pooled ones)

    @property
    def unavailability(self) -> np.ndarray:
        """Share of time without full answers (what the availability objective minimises)."""
        return 1.0 - self.availability


@dataclass
class _Traffic:
    """What each candidate sends to its remote tier, per camera."""

    remote_fps: np.ndarray  # frames (or crops) a second sent to the cloud or site device
    cloud_fps: np.ndarray  # of those, to the cloud
    pool: billing.Pool  # the whole group's cloud traffic per candidate
    bytes_per_frame: np.ndarray
    streams: np.ndarray  # (1, N) sends the video stream


def traffic(t: Template, ca: CameraArrays, costs: Costs, crops: bool) -> _Traffic:
    pat = t.pattern[None, :]
    share = np.select(
        [column(pat, "cloud_frames", v) for v in ("all", "escalated", "failures")],
        [1.0, t.escalation_rate[None, :], costs.edge_failure_pct / 100],
        0.0,
    )
    demand = ca.demand_fps[:, None]
    remote = demand * share
    is_cloud = (t.cloud_opt >= 0)[None, :]
    streams = column(pat, "sends", "stream") & (not ca.episodic)
    still = ca.still_bytes[:, None]
    per_frame = np.where(
        streams,
        (ca.stream_mbps * 1e6 / 8 / ca.fps)[:, None],
        np.where(crops & (pat == Pattern.HYBRID), still * costs.crop_fraction, still),
    )
    cloud_share = np.where(is_cloud, share, 0.0)  # (1, N)
    pool = billing.Pool(
        cloud_share * ca.pool_demand_fps, cloud_share * ca.pool_demand_fps_hours, ca.pool_hours_max
    )
    return _Traffic(remote, np.where(is_cloud, remote, 0.0), pool, per_frame, streams)


def latency(
    t: Template, ca: CameraArrays, costs: Costs, tr: _Traffic, cold: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(p99 of the pattern, p99 of its remote path alone). The cloud path is encode + upload +
    RTT p99 + queueing + inference (+ a cold start for sparse serverless requests) + response;
    the site path is a LAN hop + the site device's inference. When 1% or more of frames go the
    remote path, the p99 frame is one of them."""
    rtt = np.where(t.region[None, :] >= 0, ca.rtt_ms_p99[:, np.clip(t.region, 0, None)], np.inf)
    up_ms = np.where(
        ca.uplink_mbps[:, None] > 0,
        tr.bytes_per_frame * 8 / np.maximum(ca.uplink_mbps[:, None] * 1e6, 1e-9) * 1000,
        np.inf,
    )
    cloud = (
        costs.encode_ms + up_ms + rtt + t.queueing_ms + t.remote_latency_ms_p99
        + np.where(cold, t.cold_start_ms, 0.0) + costs.response_ms
    )  # fmt: skip
    fed = t.pattern == Pattern.FEDERATED
    remote = cloud
    if fed.any():
        remote = np.where(fed[None, :], costs.lan_ms + t.remote_latency_ms_p99, cloud)
    # the pattern's p99: the remote path alone (no edge model); edge + remote when 1% or more
    # of frames escalate (hybrid, federated); the edge alone otherwise
    no_edge = column(t.pattern, "edge_model", False)
    adds = (column(t.pattern, "cloud_frames", "escalated") | fed) & (t.escalation_rate >= 0.01)
    out = np.where((no_edge | adds)[None, :], remote, 0.0)  # remote may be inf (no route)
    out += np.where(no_edge, 0.0, t.edge_latency_ms_p99)[None, :]
    return out, remote


@dataclass
class _Devices:
    n_edge: np.ndarray
    n_site: np.ndarray
    power_w: np.ndarray  # per device (dedicated) or the camera's share (pooled)
    energy_usd: np.ndarray
    capex_usd: np.ndarray


def devices_power(t: Template, ca: CameraArrays, tr: _Traffic) -> _Devices:
    """Edge devices (whole for dedicated, a pooled share for shared; what decodes the video
    counts too) and the site device of a federated pattern; average power and energy."""
    pat = t.pattern[None, :]
    demand = ca.demand_fps[:, None]
    dedicated = column(pat, "devices", "dedicated")
    shared = column(pat, "devices", "shared")
    gate = column(pat, "devices", "gate")
    decode_cap = np.where(np.isnan(t.decode_1080p_fps), np.inf, t.decode_1080p_fps)[None, :]
    decode = ca.decode_1080p_fps[:, None]
    n_ded = np.maximum(
        cost.devices_needed(demand, t.edge_throughput_fps, dedicated=True),
        cost.devices_needed(decode, decode_cap, dedicated=True),
    )
    site_demand = np.bincount(ca.site, weights=ca.demand_fps)[ca.site][:, None]
    site_decode = np.bincount(ca.site, weights=ca.decode_1080p_fps)[ca.site][:, None]
    n_pool = np.maximum(
        cost.devices_needed(site_demand, t.edge_throughput_fps, dedicated=True),
        cost.devices_needed(site_decode, decode_cap, dedicated=True),
    )
    n_share = n_pool * demand / np.maximum(site_demand, 1e-9)
    n_edge = np.where(dedicated, n_ded, np.where(shared, n_share, np.where(gate, 1.0, 0.0)))
    # federated: escalations pooled per site on the site device
    fed = pat == Pattern.FEDERATED
    n_site = np.zeros_like(n_edge)
    if fed.any():
        esc_site = _site_sum(ca.site, np.where(fed, tr.remote_fps, 0.0))
        n_site_pool = cost.devices_needed(esc_site, t.remote_throughput_fps, dedicated=True)
        n_site = np.where(fed, n_site_pool * tr.remote_fps / np.maximum(esc_site, 1e-9), 0.0)
    avg_edge = cost.average_power_w(
        t.edge_power_w, t.edge_idle_w, demand, t.edge_throughput_fps, np.maximum(n_edge, 1e-9)
    )
    decode_util = np.clip(decode / np.maximum(decode_cap * np.maximum(n_edge, 1e-9), 1e-9), 0, 1)
    avg_edge = avg_edge + t.host_extra_w * decode_util * n_edge
    avg_edge = np.where(gate, t.edge_idle_w, np.where(n_edge > 0, avg_edge, 0.0))
    avg_site: np.ndarray | float = 0.0
    if fed.any():
        avg_site = np.where(fed, cost.average_power_w(
            t.site_power_w, t.site_idle_w, tr.remote_fps, t.remote_throughput_fps,
            np.maximum(n_site, 1e-9),
        ), 0.0)  # fmt: skip
    avg_w = avg_edge + avg_site
    per_device = np.where(dedicated, np.maximum(n_edge, 1e-9), 1.0)
    power = np.where(n_edge > 0, avg_edge / per_device, 0.0) + avg_site
    energy = cost.energy_usd_per_month(avg_w, ca.hours[:, None], ca.usd_per_kwh[:, None])
    capex = n_edge * t.edge_price_usd + n_site * t.site_price_usd
    return _Devices(n_edge, n_site, power, energy, capex)


def _site_sum(site: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(C, N): per row, the sum of x over the rows of its site (sorted segment sums)."""
    order = np.argsort(site, kind="stable")
    sorted_site = site[order]
    starts = np.nonzero(np.r_[True, sorted_site[1:] != sorted_site[:-1]])[0]
    sums = np.add.reduceat(x[order], starts, axis=0)  # (sites present, N)
    return sums[np.searchsorted(sorted_site[starts], site)]


def availability(t: Template, ca: CameraArrays, costs: Costs) -> np.ndarray:
    """Share of time full answers are produced: the network for patterns whose every answer
    needs it, the edge or the network for cloud-fallback, the edge otherwise."""
    pat = t.pattern[None, :]
    net = ca.availability[:, None]
    edge_up = 1 - costs.edge_failure_pct / 100
    shape = (len(ca.index), t.n)
    return np.broadcast_to(
        np.where(
            column(pat, "answers_need_network"),
            net,
            np.where(pat == Pattern.CLOUD_FALLBACK, 1 - (1 - edge_up) * (1 - net), edge_up),
        ),
        shape,
    ).copy()


def constraints(
    t: Template,
    ca: CameraArrays,
    w: Workload,
    lat: np.ndarray,
    remote_lat: np.ndarray,
    acc: np.ndarray,
    power: np.ndarray,
    avail: np.ndarray,
    tr: _Traffic,
    regions: list[str],
    crops: bool,
) -> np.ndarray:
    """Bit mask of violated constraints per camera and candidate."""
    pat = t.pattern[None, :]
    v = np.zeros(lat.shape, dtype=np.int64)

    def flag(mask: np.ndarray | bool, bit: Violation) -> None:
        np.bitwise_or(v, np.left_shift(np.asarray(mask, bool), int(bit), dtype=np.int64), out=v)

    flag(lat > w.latency_budget_ms, Violation.LATENCY)
    flag((pat == Pattern.CLOUD_FALLBACK) & (remote_lat > w.latency_budget_ms),
         Violation.FALLBACK_LATENCY)  # fmt: skip
    flag(~np.isnan(acc) & (acc < w.accuracy_floor), Violation.ACCURACY)
    flag(np.isnan(acc) & (w.accuracy_floor > 0), Violation.NO_ACCURACY)
    for floor, values, bit in (
        (w.recall_floor, t.recall, Violation.RECALL),
        (w.precision_floor, t.precision, Violation.PRECISION),
    ):
        if floor is not None:
            flag(np.isnan(values) | (values < floor), bit)
    if w.power_budget_w is not None:
        flag((power > w.power_budget_w) & column(pat, "edge_model"), Violation.POWER)
    if w.availability_pct_min is not None:
        flag(avail * 100 < w.availability_pct_min - 1e-9, Violation.AVAILABILITY)
    flag(sends_rank(pat, crops) > PRIVACY_ALLOWS[w.privacy], Violation.PRIVACY)
    remote_cloud = column(pat, "answers_need_network") | (t.cloud_opt >= 0)[None, :]
    flag(remote_cloud & (t.cloud_opt >= 0)[None, :] & (ca.availability[:, None] <= 0),
         Violation.OFFLINE)  # fmt: skip
    egress_mbps = tr.cloud_fps * tr.bytes_per_frame * 8 / 1e6
    flag(egress_mbps > ca.uplink_mbps[:, None] * 0.8, Violation.UPLINK)
    codes = {r: i for i, r in enumerate(regions)}
    res = np.array([-1 if r is None else codes.get(r, -2) for r in ca.residency])[:, None]
    reg = t.region[None, :]
    flag((res != -1) & (reg >= 0) & (res != reg) & (tr.cloud_fps > 0), Violation.RESIDENCY)
    flag(~t.deployable[None, :], Violation.NOT_DEPLOYABLE)
    decode_cap = t.decode_1080p_fps[None, :]
    dedicated_one = column(pat, "devices", "dedicated")
    flag(dedicated_one & ~np.isnan(decode_cap) & (ca.decode_1080p_fps[:, None] > decode_cap),
         Violation.DECODE)  # fmt: skip
    return v


def evaluate(
    t: Template, ca: CameraArrays, w: Workload, fleet: Fleet, regions: list[str]
) -> Evaluated:
    """Latency, accuracy, power, cost and availability of every candidate for every camera."""
    costs = fleet.costs
    crops = w.privacy == "crops-only" and "detection" in w.task
    tr = traffic(t, ca, costs, crops)
    cold = billing.serverless_cold(t.billing[None, :], tr.pool, t.keep_warm_s[None, :])
    lat, remote_lat = latency(t, ca, costs, tr, cold)
    dev = devices_power(t, ca, tr)
    n_all = dev.n_edge + dev.n_site
    maint = dev.capex_usd * costs.maintenance_pct_per_year / 100 / 12
    orch = n_all * costs.orchestration_usd_per_device_month
    hours = ca.hours[:, None]
    cloud = billing.cloud_compute_usd_per_month(
        t.billing[None, :], tr.cloud_fps, hours, tr.pool, t.remote_throughput_fps[None, :],
        t.utilisation[None, :], t.usd_per_hour[None, :], t.always_on[None, :],
        t.min_billing_s[None, :], t.remote_latency_ms_p99[None, :], t.memory_gb[None, :],
        t.usd_per_gb_s[None, :], tr.bytes_per_frame, t.usd_per_gb_processed[None, :],
        t.usd_per_image[None, :],
    )  # fmt: skip
    data = cost.data_usd_per_month(
        tr.cloud_fps, hours, tr.bytes_per_frame, ca.metered_usd_per_gb[:, None],
        t.ingest_usd_per_gb[None, :],
    )  # fmt: skip
    opex = dev.energy_usd + maint + orch + cloud + data
    fed = t.pattern == Pattern.FEDERATED
    life = np.where(fed, np.minimum(t.edge_life_years, t.site_life_years), t.edge_life_years)
    tco = cost.tco_usd(dev.capex_usd, life[None, :], opex, fleet.horizon_years)
    avail = availability(t, ca, costs)
    acc = np.broadcast_to(t.accuracy, lat.shape)
    v = constraints(t, ca, w, lat, remote_lat, acc, dev.power_w, avail, tr, regions, crops)
    return Evaluated(
        latency_ms_p99=lat,
        accuracy=acc,
        power_w=dev.power_w,
        tco_usd=tco,
        capex_usd=dev.capex_usd,
        opex_usd_per_month=opex,
        availability=avail,
        remote_latency_ms_p99=remote_lat,
        violations=v,
        usd_per_month_by_part={
            "energy": dev.energy_usd,
            "maintenance": maint,
            "orchestration": orch,
            "cloud": cloud,
            "data": data,
        },
        devices=dev.n_edge,
    )
