"""The cost of going through the device farm: one characterisation run by the CLI on this host,
against the same characterisation sent with --cluster to a Ray worker node on the same host
(a loopback cluster in a network namespace, as the tests start it). Alternated, --repeat times.

    python benchmarks/farm_overhead.py --json out/farm_overhead.json

Keys: local_wall_s and ray_wall_s (median CLI wall time, start to record stored),
overhead_s (their difference), ratio (ray / local), local_p50_ms and ray_p50_ms (the model's
SingleStream p50 each run measured: going through Ray should not change the figure),
p50_ratio, cluster_start_s, repeats. Needs root (a network namespace) and edgeplan[farm].
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import TESTDATA, print_table, write_json

from tests.farm.cluster import LoopbackCluster, usable

CLI = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]


def _one(c: LoopbackCluster, model: Path, tmp: Path, duration_s: float, farm: bool) -> dict:
    out = tmp / f"rec-{time.monotonic_ns()}.json"
    cmd = [*CLI, "characterise", str(model), "--duration-s", f"{duration_s:g}", "--scenario",
           "SingleStream", "--store", str(tmp / "s.sqlite"), "--json", str(out),
           "--threads", "1"]  # fmt: skip
    if farm:
        cmd += ["--cluster", c.address, "--device", "test-device"]
    t0 = time.perf_counter()
    r = c.run(cmd)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"characterise failed ({'ray' if farm else 'local'}): {r.stdout[-2000:]}")
    rec = json.loads(out.read_text())
    return {"wall_s": wall, "p50_ms": rec["latency_ms_p50"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=TESTDATA / "models/fastestdet/FastestDet.onnx")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--duration-s", type=float, default=3.0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    why = usable()
    if why:
        raise SystemExit(f"cannot start a loopback Ray cluster: {why}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        with LoopbackCluster(tmp, {"w1": {"device:test-device": 1}}) as c:
            start_s = time.perf_counter() - t0
            _one(c, args.model, tmp, 1.0, farm=True)  # first task starts a Ray worker: not timed
            local, ray = [], []
            for _ in range(args.repeat):
                local.append(_one(c, args.model, tmp, args.duration_s, farm=False))
                ray.append(_one(c, args.model, tmp, args.duration_s, farm=True))
    med = {
        k: statistics.median(x[f] for x in runs)
        for k, runs, f in (
            ("local_wall_s", local, "wall_s"),
            ("ray_wall_s", ray, "wall_s"),
            ("local_p50_ms", local, "p50_ms"),
            ("ray_p50_ms", ray, "p50_ms"),
        )
    }
    res = {
        **med,
        "overhead_s": med["ray_wall_s"] - med["local_wall_s"],
        "ratio": med["ray_wall_s"] / med["local_wall_s"],
        "p50_ratio": med["ray_p50_ms"] / med["local_p50_ms"],
        "cluster_start_s": start_s,
        "repeats": args.repeat,
        "duration_s": args.duration_s,
        "model": args.model.name,
    }
    rows = [
        {"path": "local CLI", "wall s (median)": med["local_wall_s"],
         "p50 ms": med["local_p50_ms"]},
        {"path": "--cluster (Ray node)", "wall s (median)": med["ray_wall_s"],
         "p50 ms": med["ray_p50_ms"]},
    ]  # fmt: skip
    print_table(
        f"one characterisation of {args.model.name} ({args.duration_s:g} s SingleStream), "
        f"{args.repeat} alternated runs; overhead {res['overhead_s']:+.2f} s "
        f"({res['ratio']:.2f}x); cluster start {start_s:.1f} s",
        rows,
    )
    write_json(args.json, res)


if __name__ == "__main__":
    main()
