"""The agent with real models, a real clip, a real Mosquitto broker and real faults."""

import itertools
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import yaml

from edgeplan.agent.api import ApiServer
from edgeplan.agent.runtime import Agent
from edgeplan.spec.agent import AgentConfig

from .conftest import Broker, Collector


def config(tmp: Path, testdata: Path, port: int, **camera: object) -> AgentConfig:
    cam = {
        "id": "people",
        "source": str(testdata / "videos/one-by-one-person-detection.mp4"),
        "loop": True,
        "fps_cap": 8,
        "model": str(testdata / "models/fastestdet/FastestDet.onnx"),
        "model_version": "fastestdet-1",
        "threads": 1,
        "stall_s": 2.0,
        "motion": {"enabled": False},
        **camera,
    }
    return AgentConfig.model_validate(
        {
            "site": "t",
            "cameras": [cam],
            "mqtt": {"host": "127.0.0.1", "port": port},
            "outbox": {
                "path": str(tmp / "outbox.sqlite"),
                "retry_initial_s": 0.2,
                "retry_max_s": 1.0,
            },
            "slo": {"latency_ms_p99": 10_000, "window": 5, "recover_after_s": 600},
            "api": {"port": 0},
            "heartbeat_s": 1.0,
        }
    )


def run_agent(cfg: AgentConfig, tmp: Path, seconds: float) -> dict:
    agent = Agent(cfg, tmp)
    api = ApiServer(agent, "127.0.0.1", 0)
    agent.start()
    api.start()
    time.sleep(seconds)
    url = f"http://127.0.0.1:{api.port}"
    out = {
        "status": httpx.get(f"{url}/status").json(),
        "ready": httpx.get(f"{url}/readyz").status_code,
        "metrics": httpx.get(f"{url}/metrics").text,
        "health": httpx.get(f"{url}/healthz").status_code,
    }
    agent.stop()
    api.stop()
    return out


def test_clip_through_a_real_detector_to_a_real_broker(
    testdata: Path, tmp_path: Path, broker: Broker
) -> None:
    col = Collector(broker.port)
    res = run_agent(config(tmp_path, testdata, broker.port), tmp_path, 6)
    assert col.wait_for(lambda ev: any(e["kind"] == "detection" for e in ev))
    col.close()
    det = next(e for e in col.events if e["kind"] == "detection")
    assert (
        det["camera"] == "people" and det["model_version"] == "fastestdet-1" and det["ts_unix"] > 0
    )
    assert det["event_id"] and det["backend"] == "onnxruntime:cpu"
    d = det["detections"][0]
    assert len(d["box_xyxy"]) == 4 and "name" in d and 0 < d["score"] <= 1
    assert res["ready"] == 200 and res["health"] == 200
    m = res["metrics"]
    for needle in (
        'edgeplan_stage_latency_seconds_bucket{camera="people"',
        'stage="infer"',
        'stage="end_to_end"',
        "edgeplan_frames_processed_total",
        "edgeplan_outbox_depth",
        "process_resident_memory_bytes",
        "edgeplan_build_info",
    ):
        assert needle in m


def test_primary_backend_failure_steps_down(testdata: Path, tmp_path: Path, broker: Broker) -> None:
    """A CUDA primary on a CPU host fails to load; an SLO breach on OpenVINO steps down to
    onnxruntime — each on the next frame."""
    cfg = config(
        tmp_path, testdata, broker.port, backends=["onnxruntime:cuda", "openvino", "onnxruntime"]
    )
    cfg = cfg.model_copy(update={"slo": cfg.slo.model_copy(update={"latency_ms_p99": 0.001})})
    col = Collector(broker.port)
    res = run_agent(cfg, tmp_path, 6)
    cam = res["status"]["cameras"][0]
    hops = [(t["from"], t["to"]) for t in cam["transitions"]]
    assert hops[0] == ("degraded", "openvino:cpu")  # cuda failed to load at start
    assert ("openvino:cpu", "onnxruntime:cpu") in hops  # SLO breach
    assert "above the SLO" in cam["transitions"][-1]["reason"]
    assert cam["backend"] == "onnxruntime:cpu" and not cam["degraded"]
    assert col.wait_for(lambda ev: any(e.get("backend") == "onnxruntime:cpu" for e in ev))
    col.close()


def test_corrupt_model_keeps_degraded_events_flowing(
    testdata: Path, tmp_path: Path, broker: Broker
) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes((testdata / "models/fastestdet/FastestDet.onnx").read_bytes()[:4000])
    cfg = config(
        tmp_path, testdata, broker.port, model=str(bad), motion={"enabled": True, "min_area_px": 50}
    )
    col = Collector(broker.port)
    res = run_agent(cfg, tmp_path, 5)
    assert col.wait_for(lambda ev: any(e["kind"] == "degraded" for e in ev))
    col.close()
    assert res["ready"] == 503 and res["status"]["cameras"][0]["degraded"]
    assert "edgeplan_fallback_level" in res["metrics"]


def test_readyz_turns_false_when_a_camera_stalls(
    testdata: Path, tmp_path: Path, broker: Broker
) -> None:
    clip = tmp_path / "short.mp4"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (352, 352))
    for i in range(15):
        w.write(np.full((352, 352, 3), (i * 15) % 255, np.uint8))
    w.release()
    cfg = config(
        tmp_path, testdata, broker.port, source=str(clip), loop=False, fps_cap=10, stall_s=1.0
    )
    agent = Agent(cfg, tmp_path)
    api = ApiServer(agent, "127.0.0.1", 0)
    agent.start()
    api.start()
    url = f"http://127.0.0.1:{api.port}/readyz"
    seen = []
    for _ in range(40):
        seen.append(httpx.get(url).status_code)
        if 200 in seen and seen[-1] == 503:
            break
        time.sleep(0.2)
    agent.stop()
    api.stop()
    assert 200 in seen and seen[-1] == 503  # ready while frames flow, not once they stop


def _cli_agent(cfg: AgentConfig, tmp: Path, seconds: float) -> None:
    path = tmp / "agent.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from edgeplan.cli.main import app; app()",
            "agent",
            "run",
            str(path),
            "--duration-s",
            str(seconds),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )


def test_broker_outage_and_agent_restart_lose_nothing(
    testdata: Path, tmp_path: Path, broker: Broker
) -> None:
    cfg = config(tmp_path, testdata, broker.port)
    broker.stop()
    _cli_agent(cfg, tmp_path, 4)  # the broker is down the whole time: events wait in the outbox
    db = sqlite3.connect(tmp_path / "outbox.sqlite")
    pending = {json.loads(b)["event_id"] for (b,) in db.execute("SELECT body FROM outbox")}
    db.close()
    assert len(pending) >= 5
    # restart the agent while the broker is still down, then bring the broker back
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from edgeplan.cli.main import app; app()",
            "agent",
            "run",
            str(tmp_path / "agent.yaml"),
            "--duration-s",
            "14",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(3)
    broker.start()
    col = Collector(broker.port)
    assert col.wait_for(lambda ev: pending <= {e["event_id"] for e in ev}, timeout_s=25), (
        f"missing {len(pending - {e['event_id'] for e in col.events})} of {len(pending)}"
    )
    proc.wait(timeout=60)
    col.close()
    ids = [e["event_id"] for e in col.events]
    assert len(ids) - len(set(ids)) <= len(ids) * 0.1  # at least once; duplicates carry their id
    # in order: the head of the outbox is retried before anything newer is sent
    first_seen: dict[str, float] = {}
    for e in col.events:
        if e["kind"] == "detection":  # made by one worker thread, in order
            first_seen.setdefault(e["event_id"], e["ts_unix"])
    made = list(first_seen.values())
    late = [(a, b) for a, b in itertools.pairwise(made) if b < a]
    assert not late, f"{len(late)} events arrived before older ones"
    db = sqlite3.connect(tmp_path / "outbox.sqlite")
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0  # acked, then deleted
    db.close()
    shutil.rmtree(tmp_path / "unused", ignore_errors=True)


def test_export_records_from_a_running_agent(
    testdata: Path, tmp_path: Path, broker: Broker
) -> None:
    agent = Agent(config(tmp_path, testdata, broker.port), tmp_path)
    api = ApiServer(agent, "127.0.0.1", 0)
    agent.start()
    api.start()
    time.sleep(4)
    out = tmp_path / "prod.json"
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from edgeplan.cli.main import app; app()",
            "agent",
            "export-records",
            "--url",
            f"http://127.0.0.1:{api.port}",
            "--store",
            str(tmp_path / "s.sqlite"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    agent.stop()
    api.stop()
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text())[0]
    assert rec["provenance"]["source"] == "measured-in-production" and rec["camera"] == "people"
    assert rec["frames_processed"] > 5 and rec["latency_ms_p99"] >= rec["latency_ms_p50"] > 0


def test_boxes_stay_inside_the_frame(testdata: Path) -> None:
    """FastestDet's raw boxes reach past a 640x360 frame's edge; what leaves the model does not."""
    import cv2

    from edgeplan.backends.predict import load_model

    m = load_model(testdata / "models/fastestdet/FastestDet.onnx", "onnxruntime")
    cap = cv2.VideoCapture(str(testdata / "videos/one-by-one-person-detection.mp4"))
    boxes = 0
    for _ in range(60):
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        for d in m.predict(frame):
            x1, y1, x2, y2 = d["box_xyxy"]
            assert 0 <= x1 <= x2 <= w and 0 <= y1 <= y2 <= h, (d, w, h)
            boxes += 1
    cap.release()
    assert boxes > 20


def test_overflow_drops_are_a_counter(testdata: Path, tmp_path: Path) -> None:
    """`edgeplan_outbox_overflow_dropped_total` counts drops (Prometheus counter convention)."""
    from prometheus_client import generate_latest

    cfg = config(tmp_path, testdata, 1)  # no broker: nothing is delivered
    cfg = cfg.model_copy(update={"outbox": cfg.outbox.model_copy(update={"max_events": 3})})
    agent = Agent(cfg, tmp_path)
    agent.start()
    time.sleep(4)
    agent._gauges()
    dropped = agent.outbox.dropped
    text = generate_latest(agent.metrics.registry).decode()
    agent.stop(drain_s=0)
    line = next(
        x for x in text.splitlines() if x.startswith("edgeplan_outbox_overflow_dropped_total")
    )
    assert float(line.split()[-1]) == dropped > 0
    assert "# TYPE edgeplan_outbox_overflow_dropped_total counter" in text
