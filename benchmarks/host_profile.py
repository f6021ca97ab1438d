"""Each catalogue architecture timed on this host: a reference device for the projection.

HELP (NeurIPS 2021) and nn-Meter describe a model to a latency predictor by what it costs on
reference hardware, not only by its static counts: what a model's counts miss (a hybrid's
layout work, a fused-MBConv stage's efficiency) shows up on most hardware. This script builds
every architecture benchmarks/layer_counts.py counts (the same public definitions, random
weights, nothing downloaded), exports it to ONNX and times it with onnxruntime on this host's
CPU, one thread, batch 1, fp32: the median of `--runs` inferences after one warm-up.
Run in the environment `make count-tools` builds (`.venv-counts`):

    PYTORCH_JIT=0 .venv-counts/bin/python benchmarks/host_profile.py [--json OUT] [--only ID ...]

It prints a table and, with --json, writes {"host": {cpu, onnxruntime, threads, runs},
"models": {model_id: {host_ms, gmacs, how}}} (`gmacs`: the build's own; compare it with the
catalogue's before using a time). A model that does not export is named and skipped. The
figures behind *This host as a reference device (tried, not kept)* in docs/project.md."""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PYTORCH_JIT", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from layer_counts import MODELS, _tolerate_cpu_torch, executed


def cpu_name() -> str:
    """The host's CPU model, from /proc/cpuinfo where it is readable."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_model(
    build: Any, side: int | tuple[int, int], runs: int, work: Path
) -> tuple[float, float]:
    """(median ms of one fp32 batch-1 inference of the exported model on one thread, the
    build's own GMACs): a build that only stands in for a layer count (another width) shows
    MACs other than the catalogue's."""
    import numpy as np
    import onnxruntime as ort
    import torch

    h, w = (side, side) if isinstance(side, int) else side
    model = build().eval()
    gmacs = executed(model, side).macs / 1e9
    x = torch.zeros(1, 3, h, w)
    path = work / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), opset_version=17, dynamo=False)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: np.zeros((1, 3, h, w), np.float32)}
    sess.run(None, feed)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), gmacs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write the host and each model's host_ms here")
    ap.add_argument("--only", nargs="*", help="time only these model ids")
    ap.add_argument("--runs", type=int, default=5, help="timed inferences per model")
    args = ap.parse_args()
    import onnxruntime as ort

    _tolerate_cpu_torch()
    out: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    print(f"{'model':36s} {'host ms':>9s} {'GMACs':>8s}  how")
    with tempfile.TemporaryDirectory() as tmp:
        for mid, (build, side, note) in MODELS.items():
            if args.only and mid not in args.only:
                continue
            try:
                ms, gmacs = time_model(build, side, args.runs, Path(tmp))
            except Exception as e:  # an export the exporter refuses: named, skipped
                failed[mid] = f"{type(e).__name__}: {str(e)[:120]}"
                print(f"{mid:36s} {'skipped':>9s}  {failed[mid]}")
                continue
            out[mid] = {"host_ms": round(ms, 3), "gmacs": round(gmacs, 3), "how": note}
            print(f"{mid:36s} {ms:9.2f} {gmacs:8.3f}  {note}")
    host = {
        "cpu": cpu_name(),
        "onnxruntime": ort.__version__,
        "threads": 1,
        "runs": args.runs,
        "precision": "fp32",
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"host": host, "models": out, "skipped": failed}, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
