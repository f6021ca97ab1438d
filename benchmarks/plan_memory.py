"""Memory of the main job: `edgeplan plan` end to end, from a cold records store, in a child
process. Peak RSS is the kernel's high-water mark for the plan process (wait4's ru_maxrss);
the process tree (the plan plus its cold-start children) is also sampled every 100 ms.

    python benchmarks/plan_memory.py --json out/plan_memory.json
    python benchmarks/plan_memory.py --src /path/to/old/checkout/src   # the same, older code

Fleets: `demo` (the embedded retail fleet, as `make demo` plans it) and `plate-reading`
(examples/plate-reading: 4 cameras, PP-OCRv4 det, int8-only Coral/Hailo candidates), or any
fleet.yaml path. Quick measurements unless --full.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, print_columns, write_json

FLEETS = {"demo": None, "plate-reading": ROOT / "examples" / "plate-reading" / "fleet.yaml"}
LIMIT_MIB = 2048  # the goal: the main job fits a 2 GiB budget


def _tree_rss_mib(proc: psutil.Process) -> float:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def command(fleet: str, out: Path, full: bool) -> list[str]:
    cli = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]
    if FLEETS.get(fleet, "") is None:  # the embedded demo, exactly as `make demo` runs it
        return [*cli, "demo", "--out", str(out), *(["--full"] if full else [])]
    path = FLEETS.get(fleet) or Path(fleet)
    return [*cli, "plan", str(path), "--out", str(out), *([] if full else ["--quick"])]


def measure(fleet: str, full: bool, src: Path | None) -> dict:
    """Run one plan from a cold store; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="edgeplan-planmem-") as tmp:
        env = {**os.environ, "EDGEPLAN_STORE": str(Path(tmp) / "store" / "records.sqlite")}
        if src is not None:
            env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
        out = Path(tmp) / "out"
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            command(fleet, out, full),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        ps = psutil.Process(proc.pid)
        tree_peak = [0.0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                tree_peak[0] = max(tree_peak[0], _tree_rss_mib(ps))
                stop.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
        err = proc.stderr.read() if proc.stderr else ""
        rc = os.waitstatus_to_exitcode(status)
        plan = out / "plan.json"
        measured = None
        if plan.is_file():
            measured = json.loads(plan.read_text())["run"]["cache_stats"]["measured"]
        return {
            "fleet": fleet,
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "peak_tree_rss_mib": round(tree_peak[0], 1),
            "wall_s": round(wall, 1),
            "measurements": measured,
            "exit_code": rc,
            "within_2gib": usage.ru_maxrss / 1024 <= LIMIT_MIB,
            "code": str(src) if src else "this checkout",
            **({"error": err.strip().splitlines()[-1][:200]} if rc and err.strip() else {}),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fleet", action="append", help="demo, plate-reading or a fleet.yaml path")
    ap.add_argument("--full", action="store_true", help="full-length measurements")
    ap.add_argument("--src", type=Path, help="run another checkout's src/ (e.g. the baseline)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    rows = [measure(f, args.full, args.src) for f in (args.fleet or list(FLEETS))]
    print_columns(
        "edgeplan plan from a cold records store (goal: peak RSS <= 2048 MiB)", rows, "fleet"
    )
    write_json(args.json, rows)


if __name__ == "__main__":
    main()
