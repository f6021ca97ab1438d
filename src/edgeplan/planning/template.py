"""Candidates = workload x model variant x hardware x pattern, as arrays.

A *template* (one per distinct workload) lists the pattern / hardware / model combinations with
their camera-independent figures; the camera-dependent parts (site RTT, uplink, prices, fps,
hours) are broadcast against it in evaluate.py, so a fleet of thousands of cameras is a few
(cameras x candidates) array operations.
"""

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from edgeplan.planning.inputs import Cascade, DeviceCost, PerfPoint
from edgeplan.planning.patterns import Pattern
from edgeplan.spec.fleet import CloudOption, Fleet, Workload

BILLING = {"none": 0, "gpu-instance": 1, "serverless": 2, "api": 3}


@dataclass
class Template:
    """Arrays of length N: one entry per candidate of one workload. Units are in the names."""

    pattern: np.ndarray
    edge: np.ndarray  # index into perf of the edge point, -1 if none
    remote: np.ndarray  # index into perf of the cloud or site-device point, -1 if none
    cloud_opt: np.ndarray  # index into fleet.cloud, -1 if none
    edge_latency_ms_p99: np.ndarray
    edge_throughput_fps: np.ndarray
    edge_accuracy: np.ndarray
    edge_power_w: np.ndarray
    edge_price_usd: np.ndarray  # device (+ its host, when it needs one)
    edge_life_years: np.ndarray
    edge_idle_w: np.ndarray  # device (+ host) idle
    host_extra_w: np.ndarray  # a host's power above idle at full decode load
    decode_1080p_fps: np.ndarray  # NaN: unknown, not checked
    remote_latency_ms_p99: np.ndarray
    remote_throughput_fps: np.ndarray
    remote_accuracy: np.ndarray
    site_price_usd: np.ndarray  # federated: the pooled site device
    site_life_years: np.ndarray
    site_idle_w: np.ndarray
    site_power_w: np.ndarray
    billing: np.ndarray  # BILLING code of the cloud option
    usd_per_hour: np.ndarray
    usd_per_image: np.ndarray
    usd_per_gb_s: np.ndarray
    memory_gb: np.ndarray
    usd_per_gb_processed: np.ndarray
    cold_start_ms: np.ndarray
    keep_warm_s: np.ndarray
    min_billing_s: np.ndarray
    always_on: np.ndarray
    utilisation: np.ndarray
    ingest_usd_per_gb: np.ndarray
    queueing_ms: np.ndarray
    region: np.ndarray  # index into the fleet's region list, -1 if none
    escalation_rate: np.ndarray  # share of frames sent on (hybrid, federated)
    accuracy: np.ndarray  # accuracy of the pattern as a whole (NaN unknown)
    recall: np.ndarray
    precision: np.ndarray
    acc_measured: np.ndarray  # bool: an escalating pattern's accuracy from a measured cascade
    cascade: np.ndarray  # index into the plan's cascades, -1 if none
    deployable: np.ndarray
    band_pct: np.ndarray
    edge_uncertainty: np.ndarray  # +- fraction the edge point's latency/throughput may be off
    remote_uncertainty: np.ndarray  # the same for the cloud or site-device point

    @property
    def n(self) -> int:
        return len(self.pattern)

    def take(self, cols: np.ndarray) -> "Template":
        """The candidates at `cols` only."""
        return Template(**{f.name: getattr(self, f.name)[cols] for f in fields(Template)})

    @property
    def noisy(self) -> np.ndarray:
        """Candidates with a figure that may be off."""
        return (self.edge_uncertainty > 0) | (self.remote_uncertainty > 0)

    def noise_key(self) -> np.ndarray:
        """Per candidate, which figures its noise comes from (edge point, remote point; -1 for
        a figure taken as it is): candidates with equal keys move together."""
        e = np.where(self.edge_uncertainty > 0, self.edge, -1)
        r = np.where(self.remote_uncertainty > 0, self.remote, -1)
        return (e + 1) * (int(max(self.remote.max(initial=0), 0)) + 2) + (r + 1)

    def scaled(self, end: float) -> "Template":
        """The same candidates with each figure at one end of its range (end +1: every
        latency x (1 + u) and throughput / (1 + u); -1: the optimistic end)."""
        fe = np.maximum(1 + end * self.edge_uncertainty, 0.1)
        fr = np.maximum(1 + end * self.remote_uncertainty, 0.1)
        return replace(
            self,
            edge_latency_ms_p99=self.edge_latency_ms_p99 * fe,
            edge_throughput_fps=self.edge_throughput_fps / fe,
            remote_latency_ms_p99=self.remote_latency_ms_p99 * fr,
            remote_throughput_fps=self.remote_throughput_fps / fr,
        )


INTS = {"pattern", "edge", "remote", "cloud_opt", "region", "cascade", "billing"}
BOOLS = {"acc_measured", "deployable", "always_on"}


def _f(v: float | None) -> float:
    return np.nan if v is None else float(v)


def _edge_cols(ep: PerfPoint | None, dev: DeviceCost | None) -> dict[str, Any]:
    host_extra = max(dev.host_max_w - dev.host_idle_w, 0.0) if dev else 0.0
    return {
        "edge_latency_ms_p99": ep.latency_ms_p99 if ep else 0.0,
        "edge_throughput_fps": ep.throughput_fps if ep else 1.0,
        "edge_accuracy": _f(ep.accuracy) if ep else np.nan,
        "edge_power_w": (_f(ep.power_w) if ep and ep.power_w is not None else None) if ep else None,
        "edge_price_usd": (dev.price_usd + dev.host_price_usd) if dev else 0.0,
        "edge_life_years": dev.life_years if dev else 1.0,
        "edge_idle_w": (dev.idle_w + dev.host_idle_w) if dev else 0.0,
        "host_extra_w": host_extra,
        "decode_1080p_fps": _f(dev.decode_1080p_fps) if dev else np.nan,
    }


def _cloud_cols(opt: CloudOption | None) -> dict[str, Any]:
    if opt is None:
        return {
            "billing": 0, "usd_per_hour": 0.0, "usd_per_image": 0.0, "usd_per_gb_s": 0.0,
            "memory_gb": 0.0, "usd_per_gb_processed": 0.0, "cold_start_ms": 0.0,
            "keep_warm_s": 1.0, "min_billing_s": 0.0, "always_on": False, "utilisation": 1.0,
            "ingest_usd_per_gb": 0.0, "queueing_ms": 0.0,
        }  # fmt: skip
    return {
        "billing": BILLING[opt.kind],
        "usd_per_hour": opt.usd_per_hour or 0.0,
        "usd_per_image": (opt.usd_per_1000_images or 0.0) / 1000,
        "usd_per_gb_s": opt.usd_per_gb_s or 0.0,
        "memory_gb": opt.memory_gb,
        "usd_per_gb_processed": opt.usd_per_gb_processed,
        "cold_start_ms": opt.cold_start_ms if opt.kind == "serverless" else 0.0,
        "keep_warm_s": opt.keep_warm_s,
        "min_billing_s": opt.min_billing_s,
        "always_on": opt.always_on,
        "utilisation": opt.utilisation,
        "ingest_usd_per_gb": opt.ingest_usd_per_gb,
        "queueing_ms": opt.queueing_ms,
    }


def _escalation(
    w: Workload,
    ep: PerfPoint,
    rp: PerfPoint,
    casc: dict[tuple[str, str], int],
    cascades: tuple[Cascade, ...],
) -> tuple[float, float, bool, int] | None:
    """(escalation rate, accuracy, measured, cascade index) of an escalating pattern; None when
    nothing is measured and nothing declared (it cannot be judged)."""
    # a cascade measured with the float edge model says nothing about its int8 variant
    ki = -1 if ep.variant else casc.get((ep.model, rp.model), -1)
    if ki >= 0:
        k = cascades[ki]
        return k.escalation_rate, k.accuracy, True, ki
    if w.escalation_rate is None:
        return None
    esc = w.escalation_rate
    ea, ra = _f(ep.accuracy), _f(rp.accuracy)
    # declared, not measured: escalated frames assumed random (a lower bound on the benefit)
    acc = ea + esc * (ra - ea) if not (np.isnan(ea) or np.isnan(ra)) else np.nan
    return esc, acc, False, -1


def build_template(
    w: Workload,
    perf: tuple[PerfPoint, ...],
    devices: dict[str, DeviceCost],
    fleet: Fleet,
    cascades: tuple[Cascade, ...],
    regions: list[str],
) -> Template:
    """Every applicable (pattern, edge point, remote point) for workload `w`."""
    cloud_ids = {c.id: i for i, c in enumerate(fleet.cloud)}
    cloud_models = set(w.cloud_models or w.models)
    site_models = set(w.cloud_models if w.site_models is None else w.site_models)
    edge_pts = [i for i, p in enumerate(perf) if p.model in w.models and p.hardware in devices]
    cloud_pts = [
        i for i, p in enumerate(perf) if p.model in cloud_models and p.hardware in cloud_ids
    ]
    site_pts = [i for i, p in enumerate(perf) if p.model in site_models and p.hardware in devices]
    gate = min(devices.values(), key=lambda d: d.price_usd + d.host_price_usd) if devices else None
    rows: list[tuple[Pattern, int, int]] = []
    for e in edge_pts:
        rows += [(Pattern.ON_DEVICE, e, -1), (Pattern.SHARED_DEVICE, e, -1)]
        for c in cloud_pts:
            rows += [(Pattern.HYBRID, e, c), (Pattern.CLOUD_FALLBACK, e, c)]
        rows += [(Pattern.FEDERATED, e, s) for s in site_pts if perf[s].model != perf[e].model]
    for c in cloud_pts:
        rows.append((Pattern.CLOUD, -1, c))
        if w.duty_cycle.mode == "motion" and gate is not None:
            rows.append((Pattern.CLOUD_PREFILTER, -1, c))
    casc = {(x.edge_model, x.cloud_model): i for i, x in enumerate(cascades)}
    cols: dict[str, list[Any]] = {f.name: [] for f in fields(Template)}
    for pat, e, r in rows:
        ep = perf[e] if e >= 0 else None
        rp = perf[r] if r >= 0 else None
        opt = fleet.cloud[cloud_ids[rp.hardware]] if rp and rp.hardware in cloud_ids else None
        site = devices[rp.hardware] if rp and pat == Pattern.FEDERATED else None
        dev = devices[ep.hardware] if ep else (gate if pat == Pattern.CLOUD_PREFILTER else None)
        esc, acc, measured, ki = 0.0, np.nan, False, -1
        if pat in (Pattern.ON_DEVICE, Pattern.SHARED_DEVICE, Pattern.CLOUD_FALLBACK):
            acc = _f(ep.accuracy)  # type: ignore[union-attr]
        elif pat in (Pattern.CLOUD, Pattern.CLOUD_PREFILTER):
            acc, esc = _f(rp.accuracy), 1.0  # type: ignore[union-attr]
        else:  # hybrid, federated: a measured cascade, else the declared escalation rate
            got = _escalation(w, ep, rp, casc, cascades)  # type: ignore[arg-type]
            if got is None:
                continue
            esc, acc, measured, ki = got
        lead = ep or rp
        vals: dict[str, Any] = {
            "pattern": int(pat),
            "edge": e,
            "remote": r,
            "cloud_opt": cloud_ids[rp.hardware] if opt else -1,  # type: ignore[union-attr]
            **_edge_cols(ep, dev),
            "remote_latency_ms_p99": rp.latency_ms_p99 if rp else 0.0,
            "remote_throughput_fps": rp.throughput_fps if rp else 1.0,
            "remote_accuracy": _f(rp.accuracy) if rp else np.nan,
            "site_price_usd": site.price_usd + site.host_price_usd if site else 0.0,
            "site_life_years": site.life_years if site else 1.0,
            "site_idle_w": site.idle_w + site.host_idle_w if site else 0.0,
            "site_power_w": _f(rp.power_w) if site and rp and rp.power_w else 0.0,
            **_cloud_cols(opt),
            "region": regions.index(opt.region) if opt else -1,
            "escalation_rate": esc,
            "accuracy": acc,
            "recall": _f(lead.recall) if lead else np.nan,
            "precision": _f(lead.precision) if lead else np.nan,
            "acc_measured": measured,
            "cascade": ki,
            "deployable": (ep.deployable if ep else True) and (rp.deployable if rp else True),
            "band_pct": max(ep.band_pct if ep else 0.0, rp.band_pct if rp else 0.0),
            "edge_uncertainty": ep.uncertainty_pct / 100 if ep else 0.0,
            "remote_uncertainty": rp.uncertainty_pct / 100 if rp else 0.0,
        }
        if vals["edge_power_w"] is None:
            vals["edge_power_w"] = vals["edge_idle_w"]
        else:
            vals["edge_power_w"] = vals["edge_power_w"] + (dev.host_idle_w if dev else 0.0)
        for name, v in vals.items():
            cols[name].append(v)
    arrays = {
        name: np.array(col, dtype=int if name in INTS else (bool if name in BOOLS else float))
        for name, col in cols.items()
    }
    return Template(**arrays)
