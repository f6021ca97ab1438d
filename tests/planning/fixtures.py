"""Planner inputs built in the tests (the figures are illustrative, not measurements)."""

from typing import Any

from edgeplan.planning import Cascade, DeviceCost, PerfPoint, PlanInputs
from edgeplan.spec import Fleet

DEVICES = {
    "jetson-orin-nano-super": DeviceCost("jetson-orin-nano-super", 249.0, 5.0, 7.0),
    "rpi5": DeviceCost("rpi5", 80.0, 5.0, 3.0),
}
PERF = (
    PerfPoint("det-small", "jetson-orin-nano-super", 12.0, 80.0, 0.30, 10.0, "projected", 20.0),
    PerfPoint("det-small", "rpi5", 90.0, 11.0, 0.30, 8.0, "projected", 25.0),
    PerfPoint("det-large", "g4dn", 15.0, 300.0, 0.45, None, "published"),
    PerfPoint("det-large", "vision-api", 80.0, 1e6, 0.45, None, "published"),
)
CLOUD = [
    {"id": "g4dn", "kind": "gpu-instance", "region": "us-east-1", "usd_per_hour": 0.526},
    {"id": "vision-api", "kind": "api", "region": "us-east-1", "usd_per_1000_images": 1.5},
]


def workload(**kw: Any) -> dict[str, Any]:
    base = {
        "task": "detection",
        "models": ["det-small"],
        "cloud_models": ["det-large"],
        "latency_budget_ms": 500,
        "accuracy_floor": 0.25,
    }
    return {**base, **kw}


def fleet(cameras: list[dict[str, Any]], site: dict[str, Any] | None = None, **kw: Any) -> Fleet:
    s = {
        "id": "s1",
        "uplink_mbps": 50,
        "rtt_ms": {"us-east-1": {"p50_ms": 30, "p99_ms": 60}},
        "availability_pct": 99.9,
        "electricity_usd_per_kwh": 0.13,
    }
    s.update(site or {})
    data = {
        "sites": [s],
        "cameras": cameras,
        "cloud": CLOUD,
        "hardware": [{"id": k} for k in DEVICES],
        **kw,
    }
    return Fleet.model_validate(data)


def camera(i: int = 0, fps: float = 10, **kw: Any) -> dict[str, Any]:
    wl = kw.pop("workloads", [workload()])
    return {"id": f"cam{i}", "site": "s1", "fps": fps, "workloads": wl, **kw}


def inputs(
    f: Fleet, perf: tuple[PerfPoint, ...] = PERF, cascades: tuple[Cascade, ...] = ()
) -> PlanInputs:
    return PlanInputs(fleet=f, perf=perf, devices=DEVICES, cascades=cascades)
