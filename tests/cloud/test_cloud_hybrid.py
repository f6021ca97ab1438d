"""Hybrid with a real cloud tier (`edgeplan cloud serve`, a separate process) on loopback:
escalations refine, the budget caps them, every outcome is counted; with the cloud tier killed
the edge keeps going."""

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import pytest

from edgeplan.agent.runtime import Agent
from edgeplan.spec.agent import AgentConfig

from ..agent.conftest import free_port

CLI = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]


def start_cloud(model: Path, port: int) -> subprocess.Popen:
    """`edgeplan cloud serve` as a user runs it; waits until the model answers ready."""
    proc = subprocess.Popen(
        [*CLI, "cloud", "serve", str(model), "--port", str(port), "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/v2/models/edgeplan/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    proc.kill()
    pytest.fail("cloud tier did not become ready: " + (proc.stdout.read() if proc.stdout else ""))


@pytest.fixture
def cloud(testdata: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    proc = start_cloud(testdata / "models/fastestdet/FastestDet.onnx", port)
    yield f"http://127.0.0.1:{port}", proc
    proc.terminate()
    proc.wait(timeout=15)


def hybrid(tmp: Path, testdata: Path, url: str, **esc: object) -> AgentConfig:
    return AgentConfig.model_validate(
        {
            "cameras": [
                {
                    "id": "cam",
                    "source": str(testdata / "videos/one-by-one-person-detection.mp4"),
                    "loop": True,
                    "fps_cap": 8,
                    "model": str(testdata / "models/fastestdet/FastestDet.onnx"),
                    "threads": 1,
                    "motion": {"enabled": False},
                    "score_threshold": 0.3,
                    "escalation": {"url": url, "band": [0.3, 0.95], "timeout_s": 2.0, **esc},
                }
            ],
            "outbox": {"path": str(tmp / "outbox.sqlite")},
            "heartbeat_s": 60,
        }
    )


def run(cfg: AgentConfig, tmp: Path, seconds: float) -> Agent:
    agent = Agent(cfg, tmp)
    agent.start()
    time.sleep(seconds)
    agent.stop(drain_s=0)
    return agent


def test_cloud_tier_answers_the_open_inference_protocol(cloud, testdata: Path) -> None:
    url, _ = cloud
    jpg = cv2.imencode(".jpg", cv2.imread(str(testdata / "models/fastestdet/images/0.jpg")))[1]
    r = httpx.post(
        f"{url}/v2/models/edgeplan/infer",
        json={
            "inputs": [
                {
                    "name": "image",
                    "shape": [1],
                    "datatype": "BYTES",
                    "parameters": {"content_type": "base64"},
                    "data": [base64.b64encode(jpg.tobytes()).decode()],
                }
            ]
        },
        timeout=10,
    )
    dets = json.loads(r.json()["outputs"][0]["data"][0])
    assert r.status_code == 200 and dets and {"label", "score", "box_xyxy"} <= set(dets[0])


def test_escalations_refine_and_the_budget_caps_them(cloud, testdata: Path, tmp_path: Path) -> None:
    url, _ = cloud
    agent = run(hybrid(tmp_path, testdata, url, max_per_minute=4), tmp_path, 6)
    counts = agent.cameras[0].escalator.counts  # type: ignore[union-attr]
    assert counts["refined"] >= 1 and counts["refined"] <= 4  # at most the per-minute budget
    assert counts["over_budget"] >= 1
    assert agent.cameras[0].processed > 10  # the edge did not wait for the cloud


def test_killed_cloud_tier_is_counted_and_the_edge_keeps_going(
    cloud, testdata: Path, tmp_path: Path
) -> None:
    url, proc = cloud
    proc.kill()
    proc.wait(timeout=10)
    agent = run(hybrid(tmp_path, testdata, url, max_per_minute=1000), tmp_path, 5)
    counts = agent.cameras[0].escalator.counts  # type: ignore[union-attr]
    assert counts["refined"] == 0 and counts["timeout"] + counts["error"] >= 1
    assert agent.cameras[0].processed > 10
