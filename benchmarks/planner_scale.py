"""Planner scale: N cameras x ~200 candidates each, planned end to end (candidates, constraints,
exact Pareto frontier, choice, reasons, TCO). Prints wall time and peak RSS.

    python benchmarks/planner_scale.py --cameras 10000 --json out/planner_scale.json
"""

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, write_json

from edgeplan.planning import DeviceCost, PerfPoint, PlanInputs, make_plan
from edgeplan.spec import Fleet


def build(cameras: int, edge_points: int, cloud_points: int, sites: int) -> PlanInputs:
    """A synthetic fleet (figures are generated, not measured): every camera carries one motion-
    gated workload whose candidates are edge x cloud x pattern."""
    devices = {
        f"dev{i}": DeviceCost(f"dev{i}", 100.0 + 40 * i, 4.0, 3.0 + i) for i in range(edge_points)
    }
    perf = [
        PerfPoint(
            "m-edge",
            f"dev{i}",
            8.0 + 9 * i,
            30.0 + 12 * i,
            0.30 + 0.01 * i,
            6.0 + i,
            "projected",
            20.0,
        )
        for i in range(edge_points)
    ]
    cloud = [
        {
            "id": f"c{i}",
            "kind": "gpu-instance",
            "region": f"r{i % 3}",
            "usd_per_hour": 0.4 + 0.2 * i,
        }
        for i in range(cloud_points)
    ]
    perf += [
        PerfPoint(
            "m-cloud", f"c{i}", 5.0 + 2 * i, 200.0 + 50 * i, 0.42 + 0.005 * i, None, "published"
        )
        for i in range(cloud_points)
    ]
    site_list = [
        {
            "id": f"s{i}",
            "uplink_mbps": 5 + (i % 50),
            "availability_pct": 99.0 + (i % 10) / 10,
            "rtt_ms": {
                f"r{j}": {"p50_ms": 10 + 7 * j + i % 40, "p99_ms": 30 + 15 * j + i % 90}
                for j in range(3)
            },
        }
        for i in range(sites)
    ]
    wl = {
        "task": "detection",
        "models": ["m-edge"],
        "cloud_models": ["m-cloud"],
        "latency_budget_ms": 150,
        "accuracy_floor": 0.33,
        "power_budget_w": 15,
        "escalation_rate": 0.1,
        "duty_cycle": {"mode": "motion", "active_fraction": 0.3},
    }
    cams = [
        {
            "id": f"cam{i}",
            "site": f"s{i % sites}",
            "fps": 5 + i % 26,
            "hours_per_day": 8 + i % 17,
            "workloads": [wl],
        }
        for i in range(cameras)
    ]
    fleet = Fleet.model_validate(
        {
            "sites": site_list,
            "cameras": cams,
            "cloud": cloud,
            "hardware": [{"id": k} for k in devices],
        }
    )
    return PlanInputs(fleet=fleet, perf=tuple(perf), devices=devices)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=10_000)
    ap.add_argument("--edge-points", type=int, default=10)
    ap.add_argument("--cloud-points", type=int, default=8)
    ap.add_argument("--sites", type=int, default=500)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    inputs = build(args.cameras, args.edge_points, args.cloud_points, args.sites)
    t0 = time.perf_counter()
    plan = make_plan(inputs)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = plan.decisions[0].candidates
    row = {
        "cameras": args.cameras,
        "candidates": n,
        "wall_s": round(wall, 3),
        "peak_rss_mib": round(peak, 1),
        "placed": args.cameras - plan.summary.unplaced,
    }
    print_table("planner scale (one process, this host)", [row])
    write_json(args.json, row)


if __name__ == "__main__":
    main()
