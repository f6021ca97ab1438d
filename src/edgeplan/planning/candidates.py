"""Candidates = workload x model variant x hardware x pattern, as arrays.

A *template* (one per distinct workload) lists the pattern/hardware/model combinations; the
camera-dependent parts (site RTT, uplink, prices, fps, hours) are broadcast against it, so a fleet
of thousands of cameras is a few (cameras x candidates) array operations.
"""

from dataclasses import dataclass

import numpy as np

from edgeplan.planning import cost
from edgeplan.planning.inputs import Cascade, DeviceCost, PerfPoint
from edgeplan.planning.network import still_bytes, stream_mbps
from edgeplan.planning.patterns import Pattern, Violation
from edgeplan.spec.fleet import Camera, CloudOption, Costs, Fleet, Site, Workload

PRIVACY = {"none": 0, "no-video-egress": 1, "no-egress": 2}


@dataclass
class Template:
    """Arrays of length N: one entry per candidate of one workload."""

    pattern: np.ndarray
    edge: np.ndarray  # index into perf, -1 if none
    cloud: np.ndarray  # index into perf, -1 if none
    cloud_opt: np.ndarray  # index into fleet.cloud, -1 if none
    edge_lat: np.ndarray
    edge_tput: np.ndarray
    edge_acc: np.ndarray
    edge_pw: np.ndarray
    edge_price: np.ndarray
    edge_life: np.ndarray
    edge_idle: np.ndarray
    cloud_lat: np.ndarray
    cloud_tput: np.ndarray
    cloud_acc: np.ndarray
    usd_per_hour: np.ndarray
    usd_per_image: np.ndarray
    utilisation: np.ndarray
    ingest: np.ndarray
    queue_ms: np.ndarray
    region: np.ndarray  # index into the fleet's region list, -1 if none
    esc: np.ndarray  # share of frames sent to the cloud (hybrid: escalations)
    acc: np.ndarray  # accuracy of the pattern as a whole (NaN unknown)
    acc_measured: np.ndarray  # bool: hybrid accuracy from a measured cascade
    cascade: np.ndarray  # index into the plan's cascades, -1 if none
    deployable: np.ndarray
    band_pct: np.ndarray

    @property
    def n(self) -> int:
        return len(self.pattern)


def _f(v: float | None) -> float:
    return np.nan if v is None else float(v)


def build_template(
    w: Workload,
    perf: tuple[PerfPoint, ...],
    devices: dict[str, DeviceCost],
    fleet: Fleet,
    cascades: tuple[Cascade, ...],
    regions: list[str],
) -> Template:
    """Every applicable (pattern, edge point, cloud point) for workload `w`."""
    cloud_ids = {c.id: i for i, c in enumerate(fleet.cloud)}
    cloud_models = set(w.cloud_models or w.models)
    edge_pts = [i for i, p in enumerate(perf) if p.model in w.models and p.hardware in devices]
    cloud_pts = [
        i for i, p in enumerate(perf) if p.model in cloud_models and p.hardware in cloud_ids
    ]
    gate = min(devices.values(), key=lambda d: d.price_usd) if devices else None
    rows: list[tuple[Pattern, int, int]] = []
    for e in edge_pts:
        rows += [(Pattern.ON_DEVICE, e, -1), (Pattern.SHARED_DEVICE, e, -1)]
        for c in cloud_pts:
            rows += [(Pattern.HYBRID, e, c), (Pattern.CLOUD_FALLBACK, e, c)]
    for c in cloud_pts:
        rows.append((Pattern.CLOUD, -1, c))
        if w.duty_cycle.mode == "motion" and gate is not None:
            rows.append((Pattern.CLOUD_PREFILTER, -1, c))
    casc = {(x.edge_model, x.cloud_model): i for i, x in enumerate(cascades)}
    cols: dict[str, list[float]] = {k: [] for k in Template.__dataclass_fields__}
    for pat, e, c in rows:
        ep = perf[e] if e >= 0 else None
        cp = perf[c] if c >= 0 else None
        dev = devices[ep.hardware] if ep else (gate if pat == Pattern.CLOUD_PREFILTER else None)
        opt: CloudOption | None = fleet.cloud[cloud_ids[cp.hardware]] if cp else None
        esc, acc, measured, ki = 0.0, np.nan, False, -1
        if pat in (Pattern.ON_DEVICE, Pattern.SHARED_DEVICE, Pattern.CLOUD_FALLBACK):
            acc = _f(ep.accuracy)  # type: ignore[union-attr]
        elif pat in (Pattern.CLOUD, Pattern.CLOUD_PREFILTER):
            acc, esc = _f(cp.accuracy), 1.0  # type: ignore[union-attr]
        else:  # hybrid: a measured cascade, else the declared escalation rate
            # a cascade measured with the float edge model says nothing about its int8 variant
            ki = -1 if ep.variant else casc.get((ep.model, cp.model), -1)  # type: ignore[union-attr]
            if ki >= 0:
                k = cascades[ki]
                esc, acc, measured = k.escalation_rate, k.accuracy, True
            elif w.escalation_rate is not None:
                esc = w.escalation_rate
                ea, ca = _f(ep.accuracy), _f(cp.accuracy)  # type: ignore[union-attr]
                acc = ea + esc * (ca - ea) if not (np.isnan(ea) or np.isnan(ca)) else np.nan
            else:
                continue  # no cascade and nothing declared: hybrid cannot be judged
        vals = {
            "pattern": int(pat),
            "edge": e,
            "cloud": c,
            "cloud_opt": cloud_ids[cp.hardware] if cp else -1,
            "edge_lat": ep.latency_ms_p99 if ep else 0.0,
            "edge_tput": ep.throughput_fps if ep else 1.0,
            "edge_acc": _f(ep.accuracy) if ep else np.nan,
            "edge_pw": _f(ep.power_w)
            if ep and ep.power_w is not None
            else (dev.idle_w if dev else 0.0),
            "edge_price": dev.price_usd if dev else 0.0,
            "edge_life": dev.life_years if dev else 1.0,
            "edge_idle": dev.idle_w if dev else 0.0,
            "cloud_lat": cp.latency_ms_p99 if cp else 0.0,
            "cloud_tput": cp.throughput_fps if cp else 1.0,
            "cloud_acc": _f(cp.accuracy) if cp else np.nan,
            "usd_per_hour": (opt.usd_per_hour or 0.0) if opt else 0.0,
            "usd_per_image": (opt.usd_per_1000_images or 0.0) / 1000 if opt else 0.0,
            "utilisation": opt.utilisation if opt else 1.0,
            "ingest": opt.ingest_usd_per_gb if opt else 0.0,
            "queue_ms": opt.queueing_ms if opt else 0.0,
            "region": regions.index(opt.region) if opt else -1,
            "esc": esc,
            "acc": acc,
            "acc_measured": measured,
            "cascade": ki,
            "deployable": (ep.deployable if ep else True) and (cp.deployable if cp else True),
            "band_pct": max(ep.band_pct if ep else 0.0, cp.band_pct if cp else 0.0),
        }
        for name, v in vals.items():
            cols[name].append(v)
    ints = {"pattern", "edge", "cloud", "cloud_opt", "region", "cascade"}
    bools = {"acc_measured", "deployable"}
    arrays = {
        name: np.array(col, dtype=int if name in ints else (bool if name in bools else float))
        for name, col in cols.items()
    }
    return Template(**arrays)


@dataclass
class CameraArrays:
    """Arrays of length C for the cameras that share one workload."""

    index: list[tuple[int, int]]  # (camera index, workload index) per row
    fps: np.ndarray
    active: np.ndarray
    hours: np.ndarray
    still_bytes: np.ndarray
    stream_mbps: np.ndarray
    uplink: np.ndarray
    metered: np.ndarray
    kwh: np.ndarray
    availability: np.ndarray
    rtt_p99: np.ndarray  # (C, R), inf where the site has no RTT to the region
    residency: list[str | None]
    site: np.ndarray  # site index per row, for pooling shared devices


def camera_arrays(
    rows: list[tuple[int, int]],
    cams: list[Camera],
    sites: dict[str, Site],
    costs: Costs,
    regions: list[str],
    w: Workload,
) -> CameraArrays:
    c = [cams[i] for i, _ in rows]
    s = [sites[x.site] for x in c]
    rtt = np.full((len(c), max(len(regions), 1)), np.inf)
    for r, site in enumerate(s):
        for j, reg in enumerate(regions):
            if reg in site.rtt_ms:
                rtt[r, j] = site.rtt_ms[reg].p99_ms
    return CameraArrays(
        index=rows,
        fps=np.array([x.fps for x in c]),
        active=np.full(
            len(c), w.duty_cycle.active_fraction if w.duty_cycle.mode == "motion" else 1.0
        ),
        hours=np.array([x.hours_per_day for x in c]),
        still_bytes=np.array([still_bytes(x, costs) for x in c]),
        stream_mbps=np.array([stream_mbps(x) for x in c]),
        uplink=np.array([x.uplink_mbps for x in s]),
        metered=np.array([x.metered_usd_per_gb for x in s]),
        kwh=np.array([x.electricity_usd_per_kwh for x in s]),
        availability=np.array([x.availability_pct / 100 for x in s]),
        rtt_p99=rtt,
        residency=[x.residency_region for x in s],
        site=np.unique([x.site for x in c], return_inverse=True)[1],
    )


@dataclass
class Evaluated:
    """Objectives and constraint masks, arrays of shape (C, N)."""

    latency: np.ndarray
    accuracy: np.ndarray
    power: np.ndarray
    tco: np.ndarray
    capex: np.ndarray
    opex: np.ndarray
    availability: np.ndarray
    cloud_latency: np.ndarray
    violations: np.ndarray  # int bit mask per Violation
    parts: dict[str, np.ndarray]  # monthly opex by component, for sensitivity


def evaluate(
    t: Template, ca: CameraArrays, w: Workload, fleet: Fleet, regions: list[str]
) -> Evaluated:
    """Latency, accuracy, power, cost and availability of every candidate for every camera."""
    costs = fleet.costs
    pat = t.pattern[None, :]
    demand = (ca.fps * ca.active)[:, None]
    hours = ca.hours[:, None]
    # cloud path latency: encode + upload + RTT p99 + queueing + inference + response
    rtt = np.where(t.region[None, :] >= 0, ca.rtt_p99[:, np.clip(t.region, 0, None)], np.inf)
    # cloud patterns stream the camera's video: one frame's bits (bitrate / fps) per frame;
    # hybrid and fallback send JPEG stills of the frames they escalate
    streams = (pat == Pattern.CLOUD) | (pat == Pattern.CLOUD_PREFILTER)
    frame_bits = np.where(
        streams, (ca.stream_mbps * 1e6 / ca.fps)[:, None], ca.still_bytes[:, None] * 8
    )
    up_ms = np.where(
        ca.uplink[:, None] > 0,
        frame_bits / np.maximum(ca.uplink[:, None] * 1e6, 1e-9) * 1000,
        np.inf,
    )
    cloud_lat = costs.encode_ms + up_ms + rtt + t.queue_ms + t.cloud_lat + costs.response_ms
    edge_lat = np.broadcast_to(t.edge_lat, cloud_lat.shape)
    esc_p99 = (t.esc >= 0.01)[None, :]  # 1% or more escalated: the p99 is an escalated frame
    latency = np.select(
        [pat == Pattern.CLOUD, pat == Pattern.CLOUD_PREFILTER, pat == Pattern.HYBRID],
        [cloud_lat, cloud_lat, np.where(esc_p99, edge_lat + cloud_lat, edge_lat)],
        edge_lat,
    )
    # devices, power and energy
    dedicated = (
        (pat == Pattern.ON_DEVICE) | (pat == Pattern.HYBRID) | (pat == Pattern.CLOUD_FALLBACK)
    )
    n_ded = cost.devices_needed(demand, t.edge_tput, dedicated=True)
    # a shared device serves the site's cameras of this workload: whole devices for the pooled
    # demand, each camera paying its share
    site_demand = np.bincount(ca.site, weights=demand[:, 0])[ca.site][:, None]
    n_site = cost.devices_needed(site_demand, t.edge_tput, dedicated=True)
    n_share = n_site * demand / np.maximum(site_demand, 1e-9)
    n_dev = np.where(dedicated, n_ded, np.where(pat == Pattern.SHARED_DEVICE, n_share, 0.0))
    n_dev = np.where(pat == Pattern.CLOUD_PREFILTER, 1.0, n_dev)  # one small gate device
    avg_w = cost.average_power_w(
        t.edge_pw, t.edge_idle, demand, t.edge_tput, np.maximum(n_dev, 1e-9)
    )
    avg_w = np.where(pat == Pattern.CLOUD_PREFILTER, t.edge_idle, np.where(n_dev > 0, avg_w, 0.0))
    power = np.where(n_dev > 0, avg_w / np.maximum(np.where(dedicated, n_dev, 1.0), 1e-9), 0.0)
    energy = cost.energy_usd_per_month(avg_w, hours, ca.kwh[:, None])
    capex = n_dev * t.edge_price
    maint = capex * costs.maintenance_pct_per_year / 100 / 12
    orch = n_dev * costs.orchestration_usd_per_device_month
    # cloud share of frames: all (cloud), escalations (hybrid), edge failures (fallback)
    share = np.select(
        [
            pat == Pattern.CLOUD,
            pat == Pattern.CLOUD_PREFILTER,
            pat == Pattern.HYBRID,
            pat == Pattern.CLOUD_FALLBACK,
        ],
        [1.0, 1.0, t.esc, costs.edge_failure_pct / 100],
        0.0,
    )
    cloud_fps = demand * share
    cloud = cost.cloud_usd_per_month(
        cloud_fps, hours, t.usd_per_hour, t.usd_per_image, t.cloud_tput, t.utilisation
    )
    bytes_per_frame = np.where(
        streams, (ca.stream_mbps * 1e6 / 8 / ca.fps)[:, None], ca.still_bytes[:, None]
    )
    data = cost.data_usd_per_month(cloud_fps, hours, bytes_per_frame, ca.metered[:, None], t.ingest)
    opex = energy + maint + orch + cloud + data
    tco = cost.tco_usd(capex, t.edge_life, opex, fleet.horizon_years)
    # availability of full answers
    net = ca.availability[:, None]
    edge_up = 1 - costs.edge_failure_pct / 100
    availability = np.select(
        [pat == Pattern.CLOUD, pat == Pattern.CLOUD_PREFILTER, pat == Pattern.CLOUD_FALLBACK],
        [
            np.broadcast_to(net, latency.shape),
            net * np.ones_like(latency),
            1 - (1 - edge_up) * (1 - net),
        ],
        edge_up * np.ones_like(latency),
    )
    accuracy = np.broadcast_to(t.acc, latency.shape)
    # constraints
    v = np.zeros(latency.shape, dtype=np.int64)

    def flag(mask: np.ndarray, bit: Violation) -> None:
        nonlocal v
        v = v | (np.asarray(mask, bool) << int(bit))

    flag(latency > w.latency_budget_ms, Violation.LATENCY)
    flag(~np.isnan(accuracy) & (accuracy < w.accuracy_floor), Violation.ACCURACY)
    flag(np.isnan(accuracy) & (w.accuracy_floor > 0), Violation.NO_ACCURACY)
    if w.power_budget_w is not None:
        flag((power > w.power_budget_w) & (pat != Pattern.CLOUD), Violation.POWER)
    privacy = PRIVACY[w.privacy]
    sends = (
        (pat == Pattern.CLOUD)
        | (pat == Pattern.CLOUD_PREFILTER)
        | (pat == Pattern.HYBRID)
        | (pat == Pattern.CLOUD_FALLBACK)
    )
    # no-video-egress: no continuous streams off site (cloud, prefilter) but escalated stills
    # and fallback stills are allowed; no-egress: nothing leaves the site
    forbidden = (
        ((pat == Pattern.CLOUD) | (pat == Pattern.CLOUD_PREFILTER))
        if privacy == 1
        else (sends if privacy == 2 else np.zeros_like(sends))
    )
    flag(forbidden, Violation.PRIVACY)
    needs_net = (pat == Pattern.CLOUD) | (pat == Pattern.CLOUD_PREFILTER) | (pat == Pattern.HYBRID)
    flag(needs_net & (net <= 0), Violation.OFFLINE)
    egress_mbps = cloud_fps * bytes_per_frame * 8 / 1e6
    flag(egress_mbps > ca.uplink[:, None] * 0.8, Violation.UPLINK)
    res = np.array([r if r is not None else "" for r in ca.residency])[:, None]
    reg = np.array([regions[i] if i >= 0 else "" for i in t.region])[None, :]
    flag((res != "") & (reg != "") & (res != reg) & (share > 0), Violation.RESIDENCY)
    flag(~t.deployable[None, :] & np.ones(latency.shape, bool), Violation.NOT_DEPLOYABLE)
    return Evaluated(
        latency=latency,
        accuracy=accuracy,
        power=power,
        tco=tco,
        capex=capex,
        opex=opex,
        availability=availability,
        cloud_latency=cloud_lat,
        violations=v,
        parts={
            "energy": energy,
            "maintenance": maint,
            "orchestration": orch,
            "cloud": cloud,
            "data": data,
        },
    )
