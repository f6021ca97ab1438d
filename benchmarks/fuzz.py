"""Fuzz campaign: the targets of tests/fuzz (fleet.yaml, agent config, bundle tars, Open
Inference Protocol requests) with many more cases. Each case must be accepted or refused with
edgeplan's own error; a traceback is a crash, a case over the deadline a hang.

    python benchmarks/fuzz.py --cases 3000 --json out/fuzz.json
"""

import argparse
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import TESTDATA, print_table, write_json
from hypothesis import HealthCheck, given, settings

from edgeplan.updates import bundle as b
from tests.fuzz import targets

DEADLINE_S = 2.0


def campaign(kind: str, strategy, target, cases: int) -> dict:  # type: ignore[no-untyped-def]
    counts: Counter[str] = Counter()
    crashes: list[str] = []
    slowest = 0.0

    @settings(max_examples=cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def run(case) -> None:  # type: ignore[no-untyped-def]
        nonlocal slowest
        t0 = time.perf_counter()
        try:
            counts[target(case)] += 1
        except Exception:
            counts["crash"] += 1
            if len(crashes) < 3:
                crashes.append(traceback.format_exc(limit=3))
        dt = time.perf_counter() - t0
        slowest = max(slowest, dt)
        if dt > DEADLINE_S:
            counts["hang"] += 1

    run()
    return {
        "input": kind,
        "cases": sum(v for k, v in counts.items() if k != "hang"),
        "accepted": counts["accepted"],
        "refused": counts["refused"],
        "crashes": counts["crash"],
        "hangs": counts["hang"],
        "slowest_case_ms": round(slowest * 1000, 1),
        "first_crashes": crashes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=3000, help="cases per input kind")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgeplan-fuzz-") as d:
        tmp = Path(d)
        priv, pub = b.generate_keys(tmp / "keys")
        good = b.create(TESTDATA / "models/fastestdet/FastestDet.onnx", "2", tmp / "good.tar")
        b.sign(good, priv)
        rows = [
            campaign("fleet.yaml", targets.mutated(targets.DEMO_FLEET),
                     lambda t: targets.load_fleet(t, tmp), args.cases),
            campaign("agent config", targets.mutated(targets.AGENT),
                     lambda t: targets.load_agent(t, tmp), args.cases),
            campaign("bundle tar", targets.bundles(good.read_bytes()),
                     lambda data: targets.verify_bundle(data, tmp, pub), args.cases),
            campaign("OIP request", targets.oip_requests(), targets.parse_oip, args.cases),
        ]  # fmt: skip
    print_table("fuzz campaign (hypothesis)", [
        {k: v for k, v in r.items() if k != "first_crashes"} for r in rows
    ])  # fmt: skip
    for r in rows:
        for c in r["first_crashes"]:
            print(f"--- {r['input']} crash:\n{c}")
    write_json(args.json, rows)


if __name__ == "__main__":
    main()
