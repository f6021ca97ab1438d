"""Planner scale: N cameras x ~200 candidates each, planned end to end (candidates, constraints,
exact Pareto frontier, choice, reasons, TCO). Prints wall time and peak RSS.

    python benchmarks/planner_scale.py --json out/planner_scale.json
    python benchmarks/planner_scale.py --baseline-src /path/to/old/checkout/src

Each run is a fresh process (the plan's first call, as `edgeplan plan` makes it); the table
gives the median and the worst of --repeat runs. Figures depend on the host and its load.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_columns, write_json

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


def one(args: argparse.Namespace) -> dict:
    """One plan in this process: wall time of make_plan and the process's peak RSS."""
    inputs = build(args.cameras, args.edge_points, args.cloud_points, args.sites)
    t0 = time.perf_counter()
    plan = make_plan(inputs)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "cameras": args.cameras,
        "candidates": plan.decisions[0].candidates,
        "wall_s": round(wall, 3),
        "peak_rss_mib": round(peak, 1),
        "placed": args.cameras - plan.summary.unplaced,
        "stable_share": round(
            sum(bool(getattr(d, "stable", False)) for d in plan.decisions) / args.cameras, 3
        ),
    }


def child(args: argparse.Namespace, src: Path | None) -> dict:
    """One plan in a fresh process (cold, as `edgeplan plan` runs it), with `src` first on
    the path when given (an older checkout, measured in the same run)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    cmd = [sys.executable, __file__, "--one", "--cameras", str(args.cameras), "--edge-points",
           str(args.edge_points), "--cloud-points", str(args.cloud_points), "--sites",
           str(args.sites)]  # fmt: skip
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=10_000)
    ap.add_argument("--edge-points", type=int, default=10)
    ap.add_argument("--cloud-points", type=int, default=9)
    ap.add_argument("--sites", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3, help="fresh processes per code version")
    ap.add_argument("--baseline-src", type=Path, default=None, help="older checkout's src/")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args)))
        return
    versions: list[tuple[str, Path | None]] = [("this checkout", None)]
    if args.baseline_src:
        versions.append((f"baseline ({args.baseline_src})", args.baseline_src))
    rows = []
    for label, src in versions:
        runs = [child(args, src) for _ in range(args.repeat)]
        walls = sorted(r["wall_s"] for r in runs)
        rows.append(
            {
                "code": label,
                **{k: v for k, v in runs[0].items() if k not in ("wall_s", "peak_rss_mib")},
                "wall_s_median": walls[len(walls) // 2],
                "wall_s_max": walls[-1],
                "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
                "runs": args.repeat,
            }
        )
    if len(rows) == 2:
        rows[0]["wall_ratio_vs_baseline"] = round(
            rows[0]["wall_s_median"] / rows[1]["wall_s_median"], 2
        )
        rows[0]["rss_ratio_vs_baseline"] = round(
            rows[0]["peak_rss_mib"] / rows[1]["peak_rss_mib"], 2
        )
    print_columns("planner scale (fresh process per run, this host)", rows, "code")
    write_json(args.json, rows if len(rows) > 1 else rows[0])


if __name__ == "__main__":
    main()
