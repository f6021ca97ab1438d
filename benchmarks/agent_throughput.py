"""Agent throughput: the full agent (reader thread, bounded queue, fallback chain, decoder,
events into the durable SQLite outbox) against a bare decode + preprocess + infer + decode loop,
same clip, same model, same threads, interleaved in one run; and the agent's RSS over the run.

    python benchmarks/agent_throughput.py --duration-s 600 --json out/agent_throughput.json
"""

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TESTDATA, print_table, write_json

from edgeplan.agent.runtime import Agent
from edgeplan.backends import BackendOptions
from edgeplan.backends.predict import load_model
from edgeplan.spec.agent import AgentConfig

CLIP = TESTDATA / "videos/one-by-one-person-detection.mp4"
MODEL = TESTDATA / "models/fastestdet/FastestDet.onnx"


def bare_fps(seconds: float, threads: int) -> float:
    model = load_model(MODEL, "onnxruntime", BackendOptions(threads=threads))
    cap = cv2.VideoCapture(str(CLIP))
    n, end = 0, time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < end:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        model.timed(frame)
        n += 1
    return n / (time.perf_counter() - t0)


def agent_run(seconds: float, threads: int, tmp: Path) -> tuple[float, list[float]]:
    cfg = AgentConfig.model_validate(
        {
            "cameras": [
                {
                    "id": "bench",
                    "source": str(CLIP),
                    "loop": True,
                    "fps_cap": 10_000,
                    "model": str(MODEL),
                    "threads": threads,
                    "queue_size": 2,
                    "motion": {"enabled": False},
                }
            ],
            "outbox": {"path": str(tmp / "outbox.sqlite"), "max_events": 10_000_000},
            "heartbeat_s": 60,
        }
    )
    agent = Agent(cfg, tmp)
    proc = psutil.Process()
    rss: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            rss.append(proc.memory_info().rss / 2**20)

    agent.start()
    time.sleep(2.0)  # warm-up: sessions loaded, caches filled
    start_n = agent.cameras[0].processed
    t0 = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(seconds)
    fps = (agent.cameras[0].processed - start_n) / (time.perf_counter() - t0)
    stop.set()
    agent.stop(drain_s=0)
    return fps, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration-s", type=float, default=600.0, help="agent run (RSS watched)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    bare_s = min(30.0, args.duration_s / 4)
    with tempfile.TemporaryDirectory() as tmp:
        b1 = bare_fps(bare_s / 2, args.threads)  # interleaved: bare, agent, bare
        agent_fps, rss = agent_run(args.duration_s, args.threads, Path(tmp))
        b2 = bare_fps(bare_s / 2, args.threads)
    bare = (b1 + b2) / 2
    k = max(1, len(rss) // 10)
    growth = (sum(rss[-k:]) / k - sum(rss[:k]) / k) / (sum(rss[:k]) / k) * 100 if rss else 0.0
    row = {
        "agent_fps": round(agent_fps, 2),
        "bare_fps": round(bare, 2),
        "ratio": round(agent_fps / bare, 3),
        "rss_growth_pct": round(growth, 2),
        "duration_s": args.duration_s,
    }
    print_table(
        f"agent vs bare loop: FastestDet on {CLIP.name}, {args.threads} thread(s); RSS first vs "
        f"last tenth of the run",
        [
            {
                **row,
                "rss_mib_first": round(rss[0], 1) if rss else None,
                "rss_mib_last": round(rss[-1], 1) if rss else None,
            }
        ],
    )
    write_json(args.json, row)


if __name__ == "__main__":
    main()
