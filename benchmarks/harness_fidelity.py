"""Does edgeplan's harness add latency? In one run, on the same model, threads and inputs:
edgeplan's SingleStream p50 (MLPerf LoadGen) vs a bare `session.run` timing loop, and for the
openvino backend vs OpenVINO's own `benchmark_app`. Runs are interleaved round by round (A, B, C,
A, B, C, ...) so a noisy shared host hits all three alike; the median of the per-round p50s is
reported.

    python benchmarks/harness_fidelity.py --duration-s 6 --rounds 5 --json out/fidelity.json
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TESTDATA, print_columns, write_json

from edgeplan.backends import BackendOptions, get_backend
from edgeplan.bench.loadgen import RunSettings, run_scenario
from edgeplan.models import open_model
from edgeplan.records.provenance import host_fingerprint, package_versions


def bare_loop_p50(session, samples, duration_s: float) -> float:
    """The simplest honest timer: perf_counter around session.run, nothing else."""
    times, i, end = [], 0, time.perf_counter() + duration_s
    while time.perf_counter() < end:
        x = samples[i % len(samples)]
        t0 = time.perf_counter()
        session.run(x)
        times.append((time.perf_counter() - t0) * 1000)
        i += 1
    return float(np.percentile(times, 50))


def benchmark_app_p50(model: Path, threads: int, duration_s: float) -> float | None:
    """OpenVINO's benchmark_app, sync API, one stream and request, f32: its median latency."""
    exe = shutil.which("benchmark_app") or str(Path(sys.executable).parent / "benchmark_app")
    if not Path(exe).exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            exe,
            "-m",
            str(model),
            "-d",
            "CPU",
            "-hint",
            "none",
            "-nstreams",
            "1",
            "-nireq",
            "1",
            "-api",
            "sync",
            "-nthreads",
            str(threads),
            "-infer_precision",
            "f32",
            "-t",
            str(int(max(1, duration_s))),
            "-report_type",
            "no_counters",
            "-report_folder",
            tmp,
            "-json_stats",
        ]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=duration_s + 120)
        report = json.loads((Path(tmp) / "benchmark_report.json").read_text())
    return float(report["execution_results"]["latency (ms)"])


def measure(
    backend: str, model: Path, threads: int, duration_s: float, rounds: int, n_samples: int
) -> dict:
    precision = "f32" if backend == "openvino" else "auto"
    opts = BackendOptions(threads=threads, precision=precision)  # type: ignore[arg-type]
    session = get_backend(backend).load(open_model(model), opts)
    name = session.input_names[0]
    shape = [d if d > 0 else 1 for d in session.input_shapes[name]]
    rng = np.random.default_rng(0)
    samples = [{name: rng.random(shape, dtype=np.float32)} for _ in range(n_samples)]
    for s in samples:
        session.run(s)
    ep, bare, bapp = [], [], []
    for r in range(rounds):
        res, _ = run_scenario(
            session, samples, "SingleStream", RunSettings(duration_s=duration_s, min_queries=64)
        )
        ep.append(res.latency.latency_ms_p50)  # type: ignore[union-attr]
        bare.append(bare_loop_p50(session, samples, duration_s))
        if backend == "openvino":
            bapp.append(benchmark_app_p50(model, threads, duration_s))
        print(
            f"{backend} round {r + 1}: edgeplan {ep[-1]:.3f} ms, bare {bare[-1]:.3f} ms"
            + (f", benchmark_app {bapp[-1]:.3f} ms" if bapp and bapp[-1] else "")
        )
    p50_ep, p50_bare = statistics.median(ep), statistics.median(bare)
    p50_bapp = statistics.median(bapp) if bapp and all(bapp) else None
    return {
        "backend": backend,
        "p50_ms_edgeplan": p50_ep,
        "p50_ms_bare": p50_bare,
        "p50_ms_benchmark_app": p50_bapp,
        "ratio_vs_bare": p50_ep / p50_bare,
        "ratio_vs_benchmark_app": p50_ep / p50_bapp if p50_bapp else None,
        "round_ratio_vs_bare_min": min(e / b for e, b in zip(ep, bare, strict=True)),
        "round_ratio_vs_bare_max": max(e / b for e, b in zip(ep, bare, strict=True)),
        "rounds_edgeplan_ms": ep,
        "rounds_bare_ms": bare,
        "rounds_benchmark_app_ms": bapp,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=TESTDATA / "models/fastestdet/FastestDet.onnx")
    ap.add_argument("--backends", default="onnxruntime,openvino")
    ap.add_argument("--threads", type=int, default=1, help="1-thread figures are the stable ones")
    ap.add_argument("--duration-s", type=float, default=6.0, help="per run, per round")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; median reported")
    ap.add_argument(
        "--samples",
        type=int,
        default=1,
        help="distinct input tensors cycled by edgeplan and the bare loop; 1 matches "
        "benchmark_app's single cache-warm tensor (characterise uses 16 real frames)",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = [
        measure(b, args.model, args.threads, args.duration_s, args.rounds, args.samples)
        for b in args.backends.split(",")
    ]
    print_columns(
        f"harness fidelity: {args.model.name}, {args.threads} thread(s), "
        f"{args.rounds} interleaved rounds of {args.duration_s:g} s",
        [{k: v for k, v in r.items() if not k.startswith("rounds")} for r in rows],
        "backend",
    )
    headline = next((r for r in rows if r["backend"] == "openvino"), rows[0])
    write_json(
        args.json,
        {
            "p50_ms_edgeplan": headline["p50_ms_edgeplan"],
            "p50_ms_bare": headline["p50_ms_bare"],
            "ratio_vs_bare": headline["ratio_vs_bare"],
            "ratio_vs_benchmark_app": headline["ratio_vs_benchmark_app"],
            "headline_backend": headline["backend"],
            "per_backend": rows,
            "model": str(args.model),
            "threads": args.threads,
            "duration_s": args.duration_s,
            "rounds": args.rounds,
            "samples": args.samples,
            "host": host_fingerprint().model_dump(),
            "packages": package_versions(),
        },
    )


if __name__ == "__main__":
    main()
